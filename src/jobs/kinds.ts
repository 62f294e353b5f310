/** Job kinds shared across folders (connectors register their own beside their code). */
export const JOB = {
  /** Run the app's connector for one approved item. */
  fulfillItem: 'item.fulfill',
  /** Post missing cards and re-render every Slack message about a request from the database. */
  syncRequestMessages: 'request.sync_messages',
  /** Post one Slack message (DM or channel). */
  sendMessage: 'slack.send',
  /** Re-publish one person's App Home. */
  refreshHome: 'slack.refresh_home',
  /** Remind the approvers of one pending approval step, in the thread under their card. */
  remindApproval: 'approval.remind',
  /** Post or update the per-person access report sent to an offboarding's requester. */
  personReport: 'slack.person_report',
} as const;

/**
 * Worker pools, each with its own concurrency: a backlog of Autodesk work (a bulk offboarding at the plan's
 * concurrency) never delays a card, a DM or a task reminder, and housekeeping never takes a worker from either.
 */
export type Pool = 'slack' | 'connector' | 'housekeeping';

/** Job kinds that only talk to Slack. Manual tasks (`task.*`) are DMs to IT admins, so they are Slack work too. */
const SLACK_KINDS: ReadonlySet<string> = new Set([JOB.syncRequestMessages, JOB.sendMessage, JOB.refreshHome, JOB.remindApproval, JOB.personReport]);

/** Housekeeping: pruning settled rows. */
export const HOUSEKEEPING_JOB = 'jobs.housekeeping';

/** The pool of a job kind, fixed when it is enqueued (migration 008 applies the same rule to older rows). */
export function poolOf(kind: string): Pool {
  if (SLACK_KINDS.has(kind) || kind.startsWith('task.')) return 'slack';
  if (kind === HOUSEKEEPING_JOB) return 'housekeeping';
  return 'connector';
}
