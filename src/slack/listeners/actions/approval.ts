/** Approve and Deny buttons, wherever the card is (DM, mirror channel, IT channel, Home tab). */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { checkDecision, decide } from '../../../requests/service.js';
import { denyReasonModal } from '../../blocks/modals.js';
import { refusalText } from '../../replies.js';
import { tellActor } from './tell-actor.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function approveButton(ctx: AppContext) {
  return async (args: ButtonArgs) => {
    await args.ack();
    const result = decide(ctx, args.action.value ?? '', args.body.user.id, 'approve');
    if (!result.ok) await tellActor(args, refusalText(result));
  };
}

export function denyButton(ctx: AppContext) {
  return async (args: ButtonArgs) => {
    await args.ack();
    const requestId = args.action.value ?? '';
    const check = checkDecision(ctx, requestId, args.body.user.id);
    if (!check.ok) {
      await tellActor(args, refusalText(check));
      return;
    }
    await args.client.views.open({ trigger_id: args.body.trigger_id, view: denyReasonModal(requestId) });
  };
}
