/**
 * The pieces every app's config and every environment variable is built from, apart from src/config.ts so that
 * each plugin can declare its own app schema and variables without importing the config built from the plugins.
 */
import { z } from 'zod';
import { parseDuration } from '../util/duration.js';

export const durationText = z.string().refine((text) => parseDuration(text) !== undefined, { message: 'must be a duration like "30s", "15m", "4h" or "2d"' });
/** A duration string in the file, milliseconds in the program; the default is written as a person would. */
export const duration = (fallback: string) => durationText.default(fallback).transform((text) => parseDuration(text)!);

export const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id like "U0123ABC"');
/**
 * Someone who decides: a person (`U…`/`W…`), a Slack user group (`S…`, its members when a step opens) or an
 * e-mail (looked up in Slack once at start-up: e-mails survive a re-created Slack account, ids do not).
 */
export const personEntry = z.union([z.string().regex(/^[UWS][A-Z0-9]{2,}$/), z.email()], {
  error: 'must be a Slack user id like "U0123ABC", a user group id like "S0123ABC" or an e-mail address',
});

const approvalStep = z.strictObject({
  name: z.string().min(1).optional().describe('Shown on the approval card, e.g. "Manager"'),
  approvers: z.array(personEntry).min(1, 'a step needs at least one approver').describe('Slack user ids, user group ids (S…) or e-mails; any one of them decides the step'),
});

/** Working hours for reminders, e.g. "09:00-18:00 Mon-Fri" (config timezone). */
export const REMINDER_HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)(?: (Mon|Tue|Wed|Thu|Fri|Sat|Sun)-(Mon|Tue|Wed|Thu|Fri|Sat|Sun))?$/;

/** The keys every app has, whatever its connector: spread into each plugin's `appSchema`. */
export const appCommon = {
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,30}$/, 'must be lower-case letters, digits, "-" or "_"').describe('Stable id, used in the form and the database'),
  name: z.string().min(1).max(60).describe('Shown to people'),
  approvers: z.array(personEntry).min(1).optional().describe('Shorthand for one approval step: Slack user ids, user group ids (S…) or e-mails'),
  approvalSteps: z.array(approvalStep).min(1).optional().describe('Steps run in order; any one approver of a step decides it'),
  maxDuration: durationText
    .optional()
    .transform((text) => (text === undefined ? undefined : parseDuration(text)!))
    .describe('Onboarding to this app needs an end date no later than the effective date plus this (e.g. "180d"); the access is then revoked by itself on that date'),
};

/** An environment variable that may be unset; blank counts as unset. */
export const optionalText = z.string().trim().min(1).optional();
const url = z.url({ protocol: /^https?$/ });

/** Loopback hosts, where plain http cannot be read or altered by anyone on the network (the sandboxes use them). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
/** Tokens and client secrets travel to these URLs: http only where nothing outside this machine sees it. */
export const remoteUrl = url.refine((text) => {
  const parsed = URL.canParse(text) ? new URL(text) : undefined;
  return !parsed || parsed.protocol === 'https:' || isLoopbackHost(parsed.hostname);
}, 'must be an https:// URL (http is allowed only on loopback: 127.0.0.0/8, localhost, [::1])');
