/**
 * "Ask for an extension" on an access-ending DM: opens the `/access` modal filled in for the same person and app
 * (onboarding, a new end date to choose). Submitting it is a new request, approved like any; once granted, the
 * old end no longer fires (src/requests/expiry.ts).
 */
import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { View } from '@slack/types';
import type { AppContext } from '../../../context.js';
import { getItem, getRequest } from '../../../requests/repository.js';
import { dateInZone } from '../../../util/time.js';
import { requestModal } from '../../blocks/modals.js';
import { tellClicker, type ActionArgs } from '../../tell-clicker.js';

type Element = { options?: { value: string }[] } & Record<string, unknown>;

/** The request modal with these fields set, found by their SPEC block ids so the form's layout can change freely. */
export function prefilledRequestModal(view: View, fill: { subjectSlackId: string | null; subjectEmail: string; appId: string; justification?: string }): View {
  const blocks = view.blocks.map((block) => {
    if (block.type !== 'input' || !('element' in block)) return block;
    const element = { ...(block.element as unknown as Element) };
    if (block.block_id === 'subjects' && fill.subjectSlackId) element.initial_users = [fill.subjectSlackId];
    else if (block.block_id === 'subject_emails' && !fill.subjectSlackId) element.initial_value = fill.subjectEmail;
    else if (block.block_id === 'apps') element.initial_options = (element.options ?? []).filter((option) => option.value === fill.appId);
    else if (block.block_id === 'justification' && fill.justification) element.initial_value = fill.justification;
    else return block;
    return { ...block, element } as unknown as typeof block;
  });
  return { ...view, blocks };
}

export function extendButton(ctx: AppContext) {
  return async (args: ActionArgs<BlockAction<ButtonAction>>) => {
    await args.ack();
    const item = getItem(ctx.db, Number(args.action.value));
    const request = item && getRequest(ctx.db, item.requestId);
    if (!item || !request) {
      await tellClicker(args, 'That access is no longer known to accessbot: type `/access` to make a new request.');
      return;
    }
    const today = dateInZone(ctx.clock.now(), ctx.config.timezone);
    const view = prefilledRequestModal(requestModal(ctx.config, today, 'onboard'), {
      subjectSlackId: item.subject.slackId, subjectEmail: item.subject.email, appId: item.appId,
      justification: `Extension of ${request.id} (access ends ${item.endDate ?? 'soon'}).`,
    });
    await args.client.views.open({ trigger_id: args.body.trigger_id, view });
  };
}
