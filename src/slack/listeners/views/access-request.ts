/** Submission of the request modal: field errors back on the form, or the request stored and routed. */
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { validateRequest, type ModalInput, type SlackPerson } from '../../../requests/intake.js';
import { submitRequest } from '../../../requests/service.js';

type Values = ViewSubmitAction['view']['state']['values'];

function readModal(values: Values): ModalInput {
  const field = (block: string) => values[block]?.[block];
  const text = (block: string) => field(block)?.value ?? undefined;
  return {
    kind: field('kind')?.selected_option?.value,
    subjects: field('subjects')?.selected_users ?? [],
    newHireEmail: text('new_hire_email'),
    newHireFirstName: text('new_hire_first_name'),
    newHireLastName: text('new_hire_last_name'),
    apps: (field('apps')?.selected_options ?? []).map((option) => option.value),
    autodeskRole: field('autodesk_role')?.selected_option?.value,
    autodeskTeams: (field('autodesk_teams')?.selected_options ?? []).map((option) => option.value),
    effectiveDate: field('effective_date')?.selected_date ?? undefined,
    justification: text('justification'),
  };
}

export function accessRequestSubmission(ctx: AppContext) {
  return async ({ ack, body, view, client, logger }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const lookup = async (userId: string): Promise<SlackPerson | undefined> => {
      try {
        const { user } = await client.users.info({ user: userId });
        if (!user) return undefined;
        return {
          id: userId, email: user.profile?.email, firstName: user.profile?.first_name, lastName: user.profile?.last_name,
          realName: user.profile?.real_name ?? user.real_name, isBot: Boolean(user.is_bot), deleted: Boolean(user.deleted),
        };
      } catch (error) {
        logger.warn(`users.info ${userId} failed: ${(error as Error).message}`);
        return undefined;
      }
    };
    let result;
    try {
      result = await validateRequest(ctx.config, readModal(view.state.values), ctx.clock.now(), lookup);
    } catch (error) {
      logger.error(`request validation failed: ${(error as Error).message}`);
      await ack({ response_action: 'errors', errors: { justification: 'Something went wrong on our side; nothing was submitted. Please try again.' } });
      return;
    }
    if (!result.ok) {
      await ack({ response_action: 'errors', errors: result.errors });
      return;
    }
    const { requestId, duplicate } = submitRequest(ctx, { ...result.request, requesterId: body.user.id, submissionId: view.id });
    await ack();
    ctx.log.info(duplicate ? 'duplicate submission ignored' : 'request submitted', { requestId, requester: body.user.id });
  };
}
