/** Do it by hand on an IT failure alert: the app's failed items of that request become tasks, for the IT admins only. */
import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { finishByHand, lastFailureChoice } from '../../../requests/by-hand.js';
import { byHandText } from '../../replies.js';
import { tellClicker, type ActionArgs } from '../../tell-clicker.js';

export function byHandButton(ctx: AppContext) {
  return async (args: ActionArgs<BlockAction<ButtonAction>>) => {
    await args.ack();
    const [requestId = '', appId = ''] = (args.action.value ?? '').split('|');
    const result = finishByHand(ctx, requestId, appId, args.body.user.id);
    const chosen = !result.ok && result.reason === 'nothing_failed' ? lastFailureChoice(ctx, requestId, appId) : undefined;
    await tellClicker(args, byHandText(ctx.config, requestId, appId, result, chosen));
  };
}
