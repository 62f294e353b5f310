/**
 * Config entries that name people (`approvers`, `approvalSteps[].approvers`, `itAdmins`): a Slack user id
 * (`U…`/`W…`), a user group id (`S…`) or an e-mail. A step opens inside a transaction, which never waits on
 * Slack, so what the groups and e-mails name is read ahead of time by whoever owns the Slack client
 * (src/slack/directory.ts: e-mails once at start-up, groups at start-up, every 10 minutes and before a request
 * is stored) and handed in here. A step stores the people it expanded to, so a group changing later does not
 * move a step already open.
 */
const GROUP = /^S[A-Z0-9]{2,}$/;

export const isGroupEntry = (entry: string): boolean => GROUP.test(entry);
export const isEmailEntry = (entry: string): boolean => entry.includes('@');

export interface ApproverEntries {
  /** The Slack users these entries name now, each once: groups as last read, e-mails as looked up. */
  expand(entries: readonly string[]): string[];
  setGroupMembers(groupId: string, userIds: readonly string[]): void;
  setEmailUser(email: string, userId: string): void;
  /** Whether a group has been read at least once (an unread group names nobody yet). */
  hasRead(groupId: string): boolean;
}

export function createApproverEntries(): ApproverEntries {
  const groupMembers = new Map<string, readonly string[]>();
  const emailUsers = new Map<string, string>();
  return {
    expand: (entries) => [
      ...new Set(
        entries.flatMap((entry) => {
          if (isGroupEntry(entry)) return groupMembers.get(entry) ?? [];
          if (isEmailEntry(entry)) {
            const userId = emailUsers.get(entry.toLowerCase());
            return userId ? [userId] : [];
          }
          return [entry];
        }),
      ),
    ],
    setGroupMembers: (groupId, userIds) => void groupMembers.set(groupId, [...userIds]),
    setEmailUser: (email, userId) => void emailUsers.set(email.toLowerCase(), userId),
    hasRead: (groupId) => groupMembers.has(groupId),
  };
}

/** The people a step's config entries name now; without a directory (connector tests), entries are user ids. */
export function expandApprovers(deps: { approverEntries?: ApproverEntries }, entries: readonly string[]): string[] {
  return deps.approverEntries ? deps.approverEntries.expand(entries) : [...new Set(entries)];
}
