/** Retry on an IT failure alert: re-runs only the failed items of that app, for that app's approvers. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { retryFailed } from '../../../requests/service.js';
import { tellActor } from './tell-actor.js';

export function retryButton(ctx: AppContext) {
  return async (args: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => {
    await args.ack();
    const [requestId = '', appId = ''] = (args.action.value ?? '').split('|');
    const result = retryFailed(ctx, requestId, appId, args.body.user.id);
    await tellActor(args, result.ok ? `Retrying ${result.retried} failed item${result.retried === 1 ? '' : 's'} of ${requestId}.` : result.message);
  };
}
