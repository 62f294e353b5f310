/**
 * What judging a click needs to know of people (approvers, IT admins, whoever clicks), read ahead of time: a new
 * hire is known by e-mail only, and whether an approver is that new hire must be judged inside a click's
 * transaction, which never waits on Slack. A port: the Slack side implements it over its one directory of users
 * (`src/slack/people.ts`), which it also keeps current.
 */
import type { Db } from '../db/connection.js';
import type { Clock } from '../util/time.js';
import { delegationOf } from './delegation-store.js';
import type { ItAdmins } from './it-admins.js';
import type { PeopleFacts } from './model.js';

export interface KnownEmails {
  /** Lower-cased. */
  emailOf(userId: string): string | undefined;
  /** When this user was last read from Slack (ms), to know when to read them again. */
  readAt(userId: string): number | undefined;
  /** Whether Slack said, when last read, that this account is deactivated. */
  isDeactivated(userId: string): boolean;
}

/**
 * The model's view of people, from the request deps. Without a Slack directory, only Slack ids are compared and
 * nobody is known to be deactivated; without a database, nobody has delegated.
 */
export function peopleFacts(deps: { itAdmins: ItAdmins; knownEmails?: KnownEmails; db?: Db; clock?: Clock }): PeopleFacts {
  const isDeactivated = (userId: string) => deps.knownEmails?.isDeactivated(userId) ?? false;
  return {
    isItAdmin: (userId) => deps.itAdmins.has(userId),
    itAdminIds: () => deps.itAdmins.members(),
    emailOf: (userId) => deps.knownEmails?.emailOf(userId),
    isDeactivated,
    delegateOf: (userId) => {
      if (!deps.db || !deps.clock) return undefined;
      const delegate = delegationOf(deps.db, userId, deps.clock.now())?.delegate;
      // A delegate who has left Slack since is absent too: the approver's steps go back to them.
      return delegate && !isDeactivated(delegate) ? delegate : undefined;
    },
  };
}
