/**
 * The Slack e-mails of people who may decide (approvers, IT admins, whoever clicks), read ahead of time: a new
 * hire is known by e-mail only, and whether an approver is that new hire must be judged inside a click's
 * transaction, which never waits on Slack. Whoever owns the Slack client fills it (`src/slack/directory.ts`).
 */
import type { ItAdmins } from './it-admins.js';
import type { PeopleFacts } from './model.js';

export interface KnownEmails {
  emailOf(userId: string): string | undefined;
  /** When this user's e-mail was last read from Slack (ms), to know when to read it again. */
  readAt(userId: string): number | undefined;
  remember(userId: string, email: string | undefined, at: number): void;
}

export function createKnownEmails(): KnownEmails {
  const known = new Map<string, { email: string | undefined; at: number }>();
  return {
    emailOf: (userId) => known.get(userId)?.email,
    readAt: (userId) => known.get(userId)?.at,
    remember: (userId, email, at) => void known.set(userId, { email: email?.toLowerCase(), at }),
  };
}

/** The model's view of people, from the request deps. Without a Slack directory, only Slack ids are compared. */
export function peopleFacts(deps: { itAdmins: ItAdmins; knownEmails?: KnownEmails }): PeopleFacts {
  return {
    isItAdmin: (userId) => deps.itAdmins.has(userId),
    itAdminIds: () => deps.itAdmins.members(),
    emailOf: (userId) => deps.knownEmails?.emailOf(userId),
  };
}
