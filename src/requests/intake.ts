/**
 * Turns what someone typed in the request modal into a request, or into an error per field (block id).
 * Slack users are looked up through an injected directory so this stays free of Slack calls.
 */
import { z } from 'zod';
import { isProtectedEmail, type AccessConfig } from '../config.js';
import { formFieldsOf, type ResolvedField } from '../connectors/forms.js';
import { addDaysToDate, dateInZone } from '../util/time.js';
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

/** What Slack said about a person; `unavailable` (rate-limited, too slow) is never taken for "not found". */
export type PersonLookup = { status: 'found'; person: SlackPerson } | { status: 'not_found' } | { status: 'unavailable' };

export interface PeopleLookup {
  byIds(ids: readonly string[]): Promise<Map<string, PersonLookup>>;
  /** Deactivated Slack users included (matched through the listed directory, not users.lookupByEmail). */
  byEmail(email: string): Promise<PersonLookup>;
  /** Many e-mails at once, keyed by the lower-cased e-mail. */
  byEmails(emails: readonly string[]): Promise<Map<string, PersonLookup>>;
}

export interface ModalInput {
  kind?: string;
  subjects: string[];
  /** The `subject_emails` field as typed: one e-mail a line. */
  subjectEmails?: string;
  newHireEmail?: string;
  newHireFirstName?: string;
  newHireLastName?: string;
  apps: string[];
  /** The connector plugins' own fields, by block id: a select's value, a multi-select's values or a text. */
  fields: Readonly<Record<string, string | string[] | undefined>>;
  effectiveDate?: string;
  /** Onboarding only: when the granted access ends (SPEC block `end_date`). */
  endDate?: string;
  justification?: string;
}

export interface ValidRequest {
  kind: RequestKind;
  subjects: Subject[];
  appIds: string[];
  effectiveDate: string;
  /** Onboarding only: the day every item's access ends by itself (src/requests/expiry.ts). */
  endDate?: string;
  justification: string;
  options: RequestOptions;
}

export type IntakeResult = { ok: true; request: ValidRequest } | { ok: false; errors: Record<string, string> };

export const JUSTIFICATION_MAX = 3000;
/** People one request may name: beyond this, approvers cannot review it and Slack cannot check it in time. */
export const MAX_PEOPLE = 500;
/** Refusals listed by name on the field; the rest are counted. */
const LISTED_REFUSALS = 10;
const email = z.email();

const SLACK_SLOW = 'Slack is answering slowly right now, so this could not be checked. Nothing was submitted: please submit again in a minute.';

/** The plugins' fields of the apps asked for, checked against their choices, as the request's options. */
function readPluginFields(fields: readonly ResolvedField[], values: ModalInput['fields'], kind: RequestKind | undefined, errors: Record<string, string>): RequestOptions {
  const options: Record<string, string | string[]> = {};
  for (const field of fields) {
    if (field.onboardOnly && kind !== 'onboard') continue;
    const given = values[field.id];
    const known = (value: string) => field.choices.some((choice) => choice.value === value);
    if (field.type === 'multi_static_select') {
      const chosen = Array.isArray(given) ? given : given === undefined ? [] : [given];
      const unknown = chosen.filter((value) => !known(value));
      if (unknown.length) errors[field.id] = `Unknown ${field.choicesName}: ${unknown.join(', ')}.`;
      options[field.optionKey] = chosen;
    } else if (field.type === 'static_select') {
      const chosen = (Array.isArray(given) ? given[0] : given) ?? field.initial;
      if (chosen === undefined) continue;
      if (!known(chosen)) errors[field.id] = `Choose one of: ${field.choices.map((choice) => choice.label).join(', ')}.`;
      options[field.optionKey] = chosen;
    } else {
      const text = (Array.isArray(given) ? given.join('\n') : given)?.trim();
      if (!text) continue;
      if (field.maxLength && text.length > field.maxLength) errors[field.id] = `Keep it under ${field.maxLength} characters (it has ${text.length}).`;
      options[field.optionKey] = text;
    }
  }
  return options;
}

/** `Name <name@example.com>`, as mail clients copy addresses, or a bare address; a trailing "," or ";" is dropped. */
function addressOf(line: string): string {
  const bare = line.replace(/[,;]+$/, '').trim();
  const bracketed = /^[^<>]*<([^<>]+)>$/.exec(bare);
  return (bracketed ? bracketed[1]! : bare).trim();
}

interface EmailLine {
  line: number;
  address: string;
}

/** The non-blank lines of the `subject_emails` field (numbered as typed), and each bad one with why. */
export function readEmailLines(text: string | undefined, isProtected: (address: string) => boolean): { lines: EmailLine[]; bad: string[] } {
  const lines: EmailLine[] = [];
  const bad: string[] = [];
  (text ?? '').split(/\r?\n/).forEach((raw, index) => {
    if (!raw.trim()) return;
    const address = addressOf(raw);
    const line = index + 1;
    if (!email.safeParse(address).success) bad.push(`line ${line}: "${raw.trim().slice(0, 80)}" is not an e-mail address`);
    else if (isProtected(address)) bad.push(`line ${line}: ${address} is a protected account, accessbot never changes its access`);
    else lines.push({ line, address });
  });
  return { lines, bad };
}

function listRefusals(refused: string[]): string {
  const shown = refused.slice(0, LISTED_REFUSALS).join('; ');
  return refused.length > LISTED_REFUSALS ? `${shown}; and ${refused.length - LISTED_REFUSALS} more` : shown;
}

export async function validateRequest(config: AccessConfig, input: ModalInput, now: number, people: PeopleLookup): Promise<IntakeResult> {
  const errors: Record<string, string> = {};
  const kind = input.kind === 'onboard' || input.kind === 'offboard' ? input.kind : undefined;
  if (!kind) errors.kind = 'Choose onboard or offboard.';

  const unknownApps = input.apps.filter((id) => !config.apps.some((app) => app.id === id));
  if (input.apps.length === 0) errors.apps = 'Choose at least one app.';
  else if (unknownApps.length) errors.apps = `Not configured any more: ${unknownApps.join(', ')}. Pick from the list.`;

  const subjects: Subject[] = [];
  const isProtected = (address: string) => isProtectedEmail(config, address);
  const hireEmail = input.newHireEmail?.trim();
  const hasNewHire = Boolean(hireEmail || input.newHireFirstName?.trim() || input.newHireLastName?.trim());
  const pickedIds = [...new Set(input.subjects)];
  const typed = readEmailLines(input.subjectEmails, isProtected);
  // The same address on two lines is one person.
  const emailLines = typed.lines.filter((entry, index) => typed.lines.findIndex((other) => other.address.toLowerCase() === entry.address.toLowerCase()) === index);
  const named = pickedIds.length + emailLines.length + typed.bad.length + (hasNewHire ? 1 : 0);
  if (named > MAX_PEOPLE) {
    // Refused before any look-up: checking them would cost hundreds of Slack calls for a request that cannot be sent.
    errors[input.subjectEmails?.trim() ? 'subject_emails' : 'subjects'] =
      `A request can name at most ${MAX_PEOPLE} people; this one names ${named}. Split it into several requests.`;
  } else if (typed.bad.length) {
    errors.subject_emails = `One e-mail a line. Fix ${listRefusals(typed.bad)}.`;
  }
  let newHire: Subject | undefined;
  if (hasNewHire) {
    if (kind === 'offboard') errors.new_hire_email = 'New-hire fields are for onboarding only; pick the person under People.';
    else if (!hireEmail) errors.new_hire_email = "Enter the new hire's e-mail.";
    else if (!email.safeParse(hireEmail).success) errors.new_hire_email = `"${hireEmail}" is not a valid e-mail address.`;
    else if (isProtected(hireEmail)) errors.new_hire_email = `${hireEmail} is a protected account: accessbot never changes its access.`;
    if (kind !== 'offboard') {
      if (!input.newHireFirstName?.trim()) errors.new_hire_first_name = "Enter the new hire's first name.";
      if (!input.newHireLastName?.trim()) errors.new_hire_last_name = "Enter the new hire's last name.";
    }
    if (hireEmail && !errors.new_hire_email) {
      newHire = { slackId: null, email: hireEmail, firstName: input.newHireFirstName?.trim() || null, lastName: input.newHireLastName?.trim() || null };
    }
  }

  if (named <= MAX_PEOPLE) {
    const [found, hireInSlack, byEmail] = await Promise.all([
      people.byIds(pickedIds),
      newHire ? people.byEmail(newHire.email) : undefined,
      emailLines.length && !typed.bad.length ? people.byEmails(emailLines.map((entry) => entry.address)) : undefined,
    ]);
    if (newHire && hireInSlack) {
      // An e-mail that already belongs to someone in Slack is that person: their Slack id keeps them from
      // approving their own access. Unchecked, it could be anyone, so nothing is stored until Slack answers.
      if (hireInSlack.status === 'unavailable') errors.new_hire_email = SLACK_SLOW;
      else subjects.push(hireInSlack.status === 'found' ? { ...newHire, slackId: hireInSlack.person.id } : newHire);
    }
    const refused: string[] = [];
    let unchecked = 0;
    for (const id of pickedIds) {
      const lookup = found.get(id) ?? { status: 'unavailable' };
      if (lookup.status === 'unavailable') {
        unchecked += 1;
        continue;
      }
      if (lookup.status === 'not_found') {
        refused.push(`${id} could not be found in Slack`);
        continue;
      }
      const person = lookup.person;
      const name = person.realName || id;
      if (person.isBot) refused.push(`${name} is a bot`);
      else if (person.deleted && kind !== 'offboard') refused.push(`${name} is deactivated in Slack`);
      else if (!person.email) refused.push(`${name} has no e-mail address in Slack`);
      else if (isProtected(person.email)) refused.push(`${name} (${person.email}) is a protected account: accessbot never changes its access`);
      else {
        const [first, ...rest] = (person.realName ?? '').split(' ');
        subjects.push({ slackId: id, email: person.email, firstName: person.firstName || first || null, lastName: person.lastName || rest.join(' ') || null });
      }
    }
    if (refused.length) errors.subjects = `Can't request access for: ${listRefusals(refused)}.`;
    else if (unchecked) {
      errors.subjects = `Slack is answering slowly right now, so ${unchecked} of the ${pickedIds.length} people could not be checked yet. Nothing was submitted: please submit again in a minute.`;
    } else if (subjects.length === 0 && !hasNewHire && emailLines.length === 0 && !typed.bad.length) {
      errors.subjects = kind === 'offboard'
        ? 'Choose at least one person, or type their e-mails under People by e-mail.'
        : "Choose at least one person, type their e-mails, or fill in the new hire's e-mail and name.";
    }
    if (byEmail) {
      const refusedLines: string[] = [];
      let uncheckedLines = 0;
      for (const { line, address } of emailLines) {
        const lookup = byEmail.get(address.toLowerCase()) ?? { status: 'unavailable' };
        if (lookup.status === 'unavailable') uncheckedLines += 1;
        // Nobody in Slack has it: a leaver whose account is gone, or someone never in Slack. Known by e-mail only.
        else if (lookup.status === 'not_found') subjects.push({ slackId: null, email: address, firstName: null, lastName: null });
        else {
          const person = lookup.person;
          const name = person.realName || address;
          if (person.isBot) refusedLines.push(`line ${line}: ${address} is the bot ${name}`);
          else if (person.deleted && kind !== 'offboard') refusedLines.push(`line ${line}: ${address} is ${name}, deactivated in Slack (only offboarding is possible)`);
          else {
            const [first, ...rest] = (person.realName ?? '').split(' ');
            subjects.push({ slackId: person.id, email: person.email || address, firstName: person.firstName || first || null, lastName: person.lastName || rest.join(' ') || null });
          }
        }
      }
      if (refusedLines.length) errors.subject_emails = `Can't request access for: ${listRefusals(refusedLines)}.`;
      else if (uncheckedLines) {
        errors.subject_emails = `Slack is answering slowly right now, so ${uncheckedLines} of the ${emailLines.length} e-mails could not be checked yet. Nothing was submitted: please submit again in a minute.`;
      }
    }
  }

  const today = dateInZone(now, config.timezone);
  const effectiveDate = input.effectiveDate || today;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(effectiveDate)) errors.effective_date = 'Pick a date.';
  else if (effectiveDate < today) errors.effective_date = `The date is in the past (today is ${today} in ${config.timezone}).`;

  const endDate = input.endDate || undefined;
  const endDateError = checkEndDate(config, kind, input.apps, errors.effective_date ? undefined : effectiveDate, endDate);
  if (endDateError) errors.end_date = endDateError;

  const justification = input.justification?.trim() ?? '';
  if (!justification) errors.justification = 'Say why this access should change; approvers read it.';
  else if (justification.length > JUSTIFICATION_MAX) errors.justification = `Keep it under ${JUSTIFICATION_MAX} characters (it has ${justification.length}).`;

  const options = readPluginFields(formFieldsOf(config, input.apps), input.fields, kind, errors);

  if (Object.keys(errors).length) return { ok: false, errors };
  // One item per person and app: the same person picked twice (or as Slack user, e-mail line and new hire) counts once.
  const unique = [...new Map(subjects.map((subject) => [subject.slackId ?? subject.email.toLowerCase(), subject])).values()];
  const uniqueByEmail = [...new Map(unique.map((subject) => [subject.email.toLowerCase(), subject])).values()];
  return {
    ok: true,
    request: { kind: kind!, subjects: uniqueByEmail, appIds: [...new Set(input.apps)], effectiveDate, ...(endDate ? { endDate } : {}), justification, options },
  };
}

const DAY_MS = 86_400_000;

/**
 * The end date's rule: onboarding only; required when an app chosen has `maxDuration`, and then no later than the
 * effective date plus the shortest of them (counted in calendar days of the config's timezone). Undefined when fine.
 */
export function checkEndDate(config: AccessConfig, kind: RequestKind | undefined, appIds: readonly string[], effectiveDate: string | undefined, endDate: string | undefined): string | undefined {
  if (kind === 'offboard') return endDate ? 'An end date is for onboarding only: leave it empty when removing access.' : undefined;
  if (endDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(endDate)) return 'Pick a date.';
  const limited = config.apps
    .filter((app) => appIds.includes(app.id) && app.maxDuration !== undefined)
    .map((app) => ({ name: app.name, days: Math.max(1, Math.floor(app.maxDuration! / DAY_MS)) }))
    .sort((a, b) => a.days - b.days);
  const tightest = limited[0];
  const latest = tightest && effectiveDate ? addDaysToDate(effectiveDate, tightest.days) : undefined;
  if (!endDate) {
    if (!tightest) return undefined;
    return `${tightest.name} access is granted for at most ${tightest.days} days: pick an end date${latest ? ` (${latest} at the latest)` : ''}.`;
  }
  if (!effectiveDate) return undefined;
  if (endDate <= effectiveDate) return `The end date must be after the effective date (${effectiveDate}).`;
  if (latest && endDate > latest) return `${tightest!.name} access is granted for at most ${tightest!.days} days: the latest end date is ${latest}.`;
  return undefined;
}
