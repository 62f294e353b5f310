/** Cancel on the requester's status message: the decision (who may, what is left) is the request service's. */
import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { cancelRequest } from '../../../requests/service.js';
import { cancelRefusalText, cancelledText } from '../../replies.js';
import { tellClicker, type ActionArgs } from '../../tell-clicker.js';

export function cancelButton(ctx: AppContext) {
  return async (args: ActionArgs<BlockAction<ButtonAction>>) => {
    await args.ack();
    const result = cancelRequest(ctx, args.action.value ?? '', args.body.user.id);
    await tellClicker(args, result.ok ? cancelledText(ctx.config, result) : cancelRefusalText(result));
  };
}
