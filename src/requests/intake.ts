/**
 * Turns what someone typed in the request modal into a request, or into an error per field (block id).
 * Slack users are looked up through an injected function so this stays free of Slack calls.
 */
import { z } from 'zod';
import type { AccessConfig } from '../config.js';
import { dateInZone } from '../util/time.js';
import type { RequestKind, RequestOptions, Subject } from './model.js';

export interface SlackPerson {
  id: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  realName?: string;
  isBot: boolean;
  deleted: boolean;
}

export interface ModalInput {
  kind?: string;
  subjects: string[];
  newHireEmail?: string;
  newHireFirstName?: string;
  newHireLastName?: string;
  apps: string[];
  autodeskRole?: string;
  autodeskTeams: string[];
  effectiveDate?: string;
  justification?: string;
}

export interface ValidRequest {
  kind: RequestKind;
  subjects: Subject[];
  appIds: string[];
  effectiveDate: string;
  justification: string;
  options: RequestOptions;
}

export type IntakeResult = { ok: true; request: ValidRequest } | { ok: false; errors: Record<string, string> };

export const JUSTIFICATION_MAX = 3000;
const email = z.email();

export async function validateRequest(
  config: AccessConfig, input: ModalInput, now: number, lookup: (userId: string) => Promise<SlackPerson | undefined>,
): Promise<IntakeResult> {
  const errors: Record<string, string> = {};
  const kind = input.kind === 'onboard' || input.kind === 'offboard' ? input.kind : undefined;
  if (!kind) errors.kind = 'Choose onboard or offboard.';

  const unknownApps = input.apps.filter((id) => !config.apps.some((app) => app.id === id));
  if (input.apps.length === 0) errors.apps = 'Choose at least one app.';
  else if (unknownApps.length) errors.apps = `Not configured any more: ${unknownApps.join(', ')}. Pick from the list.`;

  const subjects: Subject[] = [];
  const hireEmail = input.newHireEmail?.trim();
  const hasNewHire = Boolean(hireEmail || input.newHireFirstName?.trim() || input.newHireLastName?.trim());
  if (hasNewHire) {
    if (kind === 'offboard') errors.new_hire_email = 'New-hire fields are for onboarding only; pick the person under People.';
    else if (!hireEmail) errors.new_hire_email = "Enter the new hire's e-mail.";
    else if (!email.safeParse(hireEmail).success) errors.new_hire_email = `"${hireEmail}" is not a valid e-mail address.`;
    if (kind !== 'offboard') {
      if (!input.newHireFirstName?.trim()) errors.new_hire_first_name = "Enter the new hire's first name.";
      if (!input.newHireLastName?.trim()) errors.new_hire_last_name = "Enter the new hire's last name.";
    }
    if (hireEmail && !errors.new_hire_email) {
      subjects.push({ slackId: null, email: hireEmail, firstName: input.newHireFirstName?.trim() || null, lastName: input.newHireLastName?.trim() || null });
    }
  }

  const people = await Promise.all(input.subjects.map(async (id) => ({ id, person: await lookup(id) })));
  const refused: string[] = [];
  for (const { id, person } of people) {
    if (!person) refused.push(`<@${id}> could not be found in Slack`);
    else if (person.isBot) refused.push(`<@${id}> is a bot`);
    else if (person.deleted && kind !== 'offboard') refused.push(`<@${id}> is deactivated in Slack`);
    else if (!person.email) refused.push(`<@${id}> has no e-mail address in Slack`);
    else {
      const [first, ...rest] = (person.realName ?? '').split(' ');
      subjects.push({ slackId: id, email: person.email, firstName: person.firstName || first || null, lastName: person.lastName || rest.join(' ') || null });
    }
  }
  if (refused.length) errors.subjects = `Can't request access for: ${refused.join('; ')}.`;
  else if (subjects.length === 0 && !hasNewHire) {
    errors.subjects = kind === 'offboard' ? 'Choose at least one person.' : "Choose at least one person, or fill in the new hire's e-mail and name.";
  }

  const today = dateInZone(now, config.timezone);
  const effectiveDate = input.effectiveDate || today;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(effectiveDate)) errors.effective_date = 'Pick a date.';
  else if (effectiveDate < today) errors.effective_date = `The date is in the past (today is ${today} in ${config.timezone}).`;

  const justification = input.justification?.trim() ?? '';
  if (!justification) errors.justification = 'Say why this access should change; approvers read it.';
  else if (justification.length > JUSTIFICATION_MAX) errors.justification = `Keep it under ${JUSTIFICATION_MAX} characters (it has ${justification.length}).`;

  const autodesk = config.apps.find((app) => app.connector === 'autodesk' && input.apps.includes(app.id));
  const options: RequestOptions = {};
  if (autodesk?.connector === 'autodesk' && kind === 'onboard') {
    const role = input.autodeskRole ?? autodesk.defaultRole;
    if (!(autodesk.roles as string[]).includes(role)) errors.autodesk_role = `Choose one of: ${autodesk.roles.join(', ')}.`;
    const unknownTeams = input.autodeskTeams.filter((id) => !autodesk.teams.some((team) => team.id === id));
    if (unknownTeams.length) errors.autodesk_teams = `Unknown teams: ${unknownTeams.join(', ')}.`;
    options.autodeskRole = role;
    options.autodeskTeams = input.autodeskTeams;
  }

  if (Object.keys(errors).length) return { ok: false, errors };
  // One item per person and app: the same person picked twice (or as Slack user and new hire) counts once.
  const unique = [...new Map(subjects.map((subject) => [subject.email.toLowerCase(), subject])).values()];
  return { ok: true, request: { kind: kind!, subjects: unique, appIds: [...new Set(input.apps)], effectiveDate, justification, options } };
}
