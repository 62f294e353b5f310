import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { decide } from '../../../requests/service.js';
import { learnClicker } from '../../directory.js';
import { parseDenyMetadata } from '../../blocks/modals.js';
import { CLICKER_UNKNOWN, refusalText } from '../../replies.js';

function notDenied(text: string) {
  return { response_action: 'update' as const, view: { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Not denied' }, close: { type: 'plain_text' as const, text: 'Close' }, blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text } }] } };
}

export function denyReasonSubmission(ctx: AppContext) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const reason = view.state.values.reason?.reason?.value?.trim();
    if (!reason) {
      await ack({ response_action: 'errors', errors: { reason: 'Give a reason: the requester sees it.' } });
      return;
    }
    // The metadata names the steps the Deny button was shown for; whoever submits is judged again here.
    const target = parseDenyMetadata(view.private_metadata);
    if (!target) {
      await ack(notDenied(refusalText({ reason: 'outdated_card' })));
      return;
    }
    if (!(await learnClicker(ctx, body.user.id))) {
      await ack(notDenied(CLICKER_UNKNOWN));
      return;
    }
    const result = decide(ctx, target.requestId, body.user.id, 'deny', { approvalIds: target.approvalIds, reason });
    if (result.ok) {
      await ack();
      return;
    }
    // Someone else decided while the modal was open, or this person may not: say so in the modal rather than dropping the reason silently.
    await ack(notDenied(refusalText(result)));
  };
}
