/** Submission of the request modal: field errors back on the form, or the request stored and routed. */
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { AccessConfig } from '../../../config.js';
import { formFieldIdsOf } from '../../../connectors/forms.js';
import type { AppContext } from '../../../context.js';
import { validateRequest, type ModalInput } from '../../../requests/intake.js';
import { submitRequest } from '../../../requests/service.js';
import { refreshApproverGroups } from '../../directory.js';

type Values = ViewSubmitAction['view']['state']['values'];

function readModal(config: AccessConfig, values: Values): ModalInput {
  const field = (block: string) => values[block]?.[block];
  const text = (block: string) => field(block)?.value ?? undefined;
  return {
    kind: field('kind')?.selected_option?.value,
    subjects: field('subjects')?.selected_users ?? [],
    subjectEmails: text('subject_emails'),
    newHireEmail: text('new_hire_email'),
    newHireFirstName: text('new_hire_first_name'),
    newHireLastName: text('new_hire_last_name'),
    apps: (field('apps')?.selected_options ?? []).map((option) => option.value),
    fields: Object.fromEntries(formFieldIdsOf(config).map((id) => {
      const value = field(id);
      return [id, value?.selected_options ? value.selected_options.map((option) => option.value) : (value?.selected_option?.value ?? value?.value ?? undefined)];
    })),
    effectiveDate: field('effective_date')?.selected_date ?? undefined,
    endDate: field('end_date')?.selected_date ?? undefined,
    justification: text('justification'),
  };
}

/**
 * Slack shows an error when the ack takes over 3 s; look-ups stop after this so that validating and storing
 * the request still fit. People not checked by then are reported as "Slack is slow", never as unknown.
 */
const LOOKUP_BUDGET_MS = 1500;

export function accessRequestSubmission(ctx: AppContext) {
  return async ({ ack, body, view, logger }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const deadline = ctx.clock.now() + LOOKUP_BUDGET_MS;
    const lookup = ctx.people.lookupUntil(deadline);
    const input = readModal(ctx.config, view.state.values);
    let result;
    try {
      // The first steps open with their user groups' members of this moment (the last read ones if Slack is slow).
      [result] = await Promise.all([validateRequest(ctx.config, input, ctx.clock.now(), lookup), refreshApproverGroups(ctx, input.apps, deadline)]);
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
