/** Retry on an IT failure alert: re-runs only the failed items of that app, for that app's approvers. */
import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { retryFailed } from '../../../requests/service.js';
import { retryText } from '../../replies.js';
import { tellClicker, type ActionArgs } from '../../tell-clicker.js';

export function retryButton(ctx: AppContext) {
  return async (args: ActionArgs<BlockAction<ButtonAction>>) => {
    await args.ack();
    const [requestId = '', appId = ''] = (args.action.value ?? '').split('|');
    const result = retryFailed(ctx, requestId, appId, args.body.user.id);
    await tellClicker(args, retryText(ctx.config, requestId, result));
  };
}
