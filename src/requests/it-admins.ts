import { createApproverEntries, isGroupEntry, type ApproverEntries } from './approver-entries.js';

/**
 * Who the IT team is. `itAdmins` entries are Slack user ids, user group ids or e-mails (approver-entries.ts);
 * deciding whether someone is an IT admin must never wait on Slack (it runs inside a click's transaction), so
 * what groups and e-mails name is read ahead of time by whoever owns the Slack client and handed in.
 */
export interface ItAdmins {
  /** Whether this Slack user is on the IT team now. */
  has(userId: string): boolean;
  /** The IT admins who are people (groups expanded as last read), for mentions and fallbacks. */
  members(): string[];
  /** Replaces what is known of one user group's members (called after reading it from Slack). */
  setGroupMembers(groupId: string, userIds: readonly string[]): void;
  /** The user group ids among the entries, to be read from Slack. */
  groups(): string[];
}

export function createItAdmins(entries: readonly string[], shared: ApproverEntries = createApproverEntries()): ItAdmins {
  const members = () => shared.expand(entries);
  return {
    has: (userId) => members().includes(userId),
    members,
    setGroupMembers: (groupId, userIds) => shared.setGroupMembers(groupId, userIds),
    groups: () => entries.filter(isGroupEntry),
  };
}
