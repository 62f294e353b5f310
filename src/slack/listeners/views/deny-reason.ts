import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { decide } from '../../../requests/service.js';
import { refusalText } from '../../replies.js';

export function denyReasonSubmission(ctx: AppContext) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const reason = view.state.values.reason?.reason?.value?.trim();
    if (!reason) {
      await ack({ response_action: 'errors', errors: { reason: 'Give a reason: the requester sees it.' } });
      return;
    }
    let requestId = '';
    try {
      requestId = (JSON.parse(view.private_metadata) as { requestId: string }).requestId;
    } catch {
      // A modal we did not build: nothing to decide.
    }
    const result = decide(ctx, requestId, body.user.id, 'deny', reason);
    if (result.ok) {
      await ack();
      return;
    }
    // Someone else decided while the modal was open: say so in the modal rather than dropping the reason silently.
    await ack({ response_action: 'update', view: { type: 'modal', title: { type: 'plain_text', text: 'Not denied' }, close: { type: 'plain_text', text: 'Close' }, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: refusalText(result) } }] } });
  };
}
