/** The request modal (block ids fixed by SPEC "The request modal") and the deny-reason modal. */
import type { KnownBlock, View } from '@slack/types';
import type { AccessConfig } from '../../config.js';
import { formFieldsOf, type ResolvedField } from '../../connectors/forms.js';
import { MAX_PEOPLE } from '../../requests/intake.js';
import type { RequestKind } from '../../requests/model.js';
import { escapeMrkdwn, mrkdwn } from '../../util/mrkdwn.js';

export const REQUEST_MODAL = 'access_request';
export const DENY_MODAL = 'deny_reason';

const option = (text: string, value: string) => ({ text: { type: 'plain_text' as const, text: text.slice(0, 75) }, value });

function input(blockId: string, label: string, element: Record<string, unknown>, opts: { optional?: boolean; hint?: string } = {}): KnownBlock {
  return {
    type: 'input',
    block_id: blockId,
    label: { type: 'plain_text', text: label },
    optional: opts.optional ?? false,
    ...(opts.hint ? { hint: { type: 'plain_text', text: opts.hint } } : {}),
    element: { action_id: blockId, ...element },
  } as KnownBlock;
}

/** A field a connector plugin adds, as data: always optional, since it matters only for some apps and kinds. */
function pluginInput(field: ResolvedField): KnownBlock {
  const opts = { optional: true, hint: field.hint };
  const choices = field.choices.map((choice) => option(choice.label, choice.value));
  if (field.type === 'plain_text_input') return input(field.id, field.label, { type: 'plain_text_input', ...(field.maxLength ? { max_length: field.maxLength } : {}) }, opts);
  const initial = choices.find((choice) => choice.value === field.initial);
  return input(field.id, field.label, { type: field.type, options: choices, ...(initial && field.type === 'static_select' ? { initial_option: initial } : {}) }, opts);
}

export function requestModal(config: AccessConfig, today: string, kind?: RequestKind): View {
  const kinds = [option('Onboard (give access)', 'onboard'), option('Offboard (remove access)', 'offboard')];
  const blocks: KnownBlock[] = [
    input('kind', 'What do you need?', {
      type: 'static_select', options: kinds, ...(kind ? { initial_option: kinds[kind === 'onboard' ? 0 : 1] } : {}),
    }),
    input('subjects', 'People', { type: 'multi_users_select', max_selected_items: MAX_PEOPLE, placeholder: { type: 'plain_text', text: 'Who gains or loses access' } }, {
      optional: true, hint: `One or many (up to ${MAX_PEOPLE}). For a new hire without Slack yet, use the fields below instead.`,
    }),
    input('subject_emails', 'People by e-mail', {
      type: 'plain_text_input', multiline: true, max_length: 3000, placeholder: { type: 'plain_text', text: 'leaver@example.com (one a line)' },
    }, {
      optional: true, hint: 'One e-mail a line, for people the picker does not offer (a leaver whose Slack account is deactivated or gone) or a pasted list.',
    }),
    input('new_hire_email', 'New hire e-mail', { type: 'plain_text_input', placeholder: { type: 'plain_text', text: 'jane.doe@example.com' } }, {
      optional: true, hint: 'Onboarding only: someone who has no Slack account yet.',
    }),
    input('new_hire_first_name', 'New hire first name', { type: 'plain_text_input' }, { optional: true }),
    input('new_hire_last_name', 'New hire last name', { type: 'plain_text_input' }, { optional: true }),
    input('apps', 'Apps', { type: 'multi_static_select', options: config.apps.map((app) => option(app.name, app.id)) }),
  ];
  for (const field of formFieldsOf(config)) blocks.push(pluginInput(field));
  blocks.push(
    input('effective_date', 'Effective date', { type: 'datepicker', initial_date: today }, { hint: 'Offboarding waits for this date.' }),
    input('end_date', 'End date', { type: 'datepicker' }, { optional: true, hint: endDateHint(config) }),
    input('justification', 'Why', { type: 'plain_text_input', multiline: true, max_length: 3000 }),
  );
  return {
    type: 'modal',
    callback_id: REQUEST_MODAL,
    title: { type: 'plain_text', text: 'Access request' },
    submit: { type: 'plain_text', text: 'Submit' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

/** Onboarding only; names the apps whose access must end (`maxDuration`), so nobody learns it from an error. */
function endDateHint(config: AccessConfig): string {
  const limited = config.apps.filter((app) => app.maxDuration !== undefined).map((app) => app.name);
  const required = limited.length ? ` Required for ${limited.join(', ')}.` : '';
  return `Onboarding only: the access is removed by itself on this date.${required}`.slice(0, 150);
}

/** The deny-reason modal denies exactly the steps the Deny button was shown for (`steps` names them). */
export function denyReasonModal(requestId: string, approvalIds: readonly number[], steps: readonly string[]): View {
  return {
    type: 'modal',
    callback_id: DENY_MODAL,
    private_metadata: JSON.stringify({ requestId, approvalIds }),
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: mrkdwn`Denying *${escapeMrkdwn(requestId)}*: ${escapeMrkdwn(steps.join(', '))}. The requester will see your reason.` } },
      input('reason', 'Reason', { type: 'plain_text_input', multiline: true, max_length: 1000 }),
    ],
  };
}

/** What a deny-reason modal denies; undefined for metadata this bot did not write. */
export function parseDenyMetadata(metadata: string): { requestId: string; approvalIds: number[] } | undefined {
  try {
    const parsed = JSON.parse(metadata) as { requestId?: unknown; approvalIds?: unknown };
    if (typeof parsed.requestId !== 'string' || !Array.isArray(parsed.approvalIds) || !parsed.approvalIds.every((id) => Number.isInteger(id))) return undefined;
    return { requestId: parsed.requestId, approvalIds: parsed.approvalIds as number[] };
  } catch {
    return undefined;
  }
}
