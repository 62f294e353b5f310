/** Approve and Deny buttons, wherever the card is (DM, mirror channel, IT channel, Home tab). */
import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { checkDecision, decide, rerenderRequest } from '../../../requests/service.js';
import { parseDecisionValue, stepLabel } from '../../blocks/request.js';
import { denyReasonModal } from '../../blocks/modals.js';
import { learnClicker } from '../../directory.js';
import { CLICKER_UNKNOWN, refusalText } from '../../replies.js';
import { tellClicker, type ActionArgs } from '../../tell-clicker.js';

type ButtonArgs = ActionArgs<BlockAction<ButtonAction>>;

/**
 * The steps the button was rendered for, once the clicker is known well enough to judge; undefined when the
 * clicker has been told why nothing happens.
 */
async function clickedSteps(ctx: AppContext, args: ButtonArgs): Promise<{ requestId: string; approvalIds: number[] } | undefined> {
  const { requestId, approvalIds } = parseDecisionValue(args.action.value);
  if (approvalIds === null) {
    // A card rendered before buttons named their steps: re-render it rather than guess what it was for.
    rerenderRequest(ctx, requestId);
    await tellClicker(args, refusalText({ reason: 'outdated_card' }));
    return undefined;
  }
  if (!(await learnClicker(ctx, args.body.user.id))) {
    await tellClicker(args, CLICKER_UNKNOWN);
    return undefined;
  }
  return { requestId, approvalIds };
}

export function approveButton(ctx: AppContext) {
  return async (args: ButtonArgs) => {
    await args.ack();
    const clicked = await clickedSteps(ctx, args);
    if (!clicked) return;
    const result = decide(ctx, clicked.requestId, args.body.user.id, 'approve', { approvalIds: clicked.approvalIds });
    if (!result.ok) await tellClicker(args, refusalText(result));
  };
}

export function denyButton(ctx: AppContext) {
  return async (args: ButtonArgs) => {
    await args.ack();
    const clicked = await clickedSteps(ctx, args);
    if (!clicked) return;
    const check = checkDecision(ctx, clicked.requestId, args.body.user.id, clicked.approvalIds);
    if (!check.ok) {
      await tellClicker(args, refusalText(check));
      return;
    }
    // The modal denies what this click may decide now, and is judged again when submitted.
    const steps = check.decided.map((approval) => stepLabel(ctx.config, approval));
    await args.client.views.open({ trigger_id: args.body.trigger_id, view: denyReasonModal(clicked.requestId, check.decided.map((approval) => approval.id), steps) });
  };
}
