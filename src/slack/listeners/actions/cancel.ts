/** Cancel on the requester's status message: the decision (who may, what is left) is the request service's. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { cancelRequest } from '../../../requests/service.js';
import { cancelledText } from '../../replies.js';
import { tellActor } from './tell-actor.js';

export function cancelButton(ctx: AppContext) {
  return async (args: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => {
    await args.ack();
    const result = cancelRequest(ctx, args.action.value ?? '', args.body.user.id);
    await tellActor(args, result.ok ? cancelledText(ctx.config, result) : result.message);
  };
}
