/**
 * Job kinds shared across folders. Each side owns the kinds it runs: the lifecycle's notices and message syncs in
 * `src/requests/notices.ts`, Slack's in `src/slack/kinds.ts`, connectors' beside their code.
 */
export const JOB = {
  /** Run the app's connector for one approved item. */
  fulfillItem: 'item.fulfill',
} as const;

/**
 * Worker pools, each with its own concurrency: a backlog of Autodesk work (a bulk offboarding at the plan's
 * concurrency) never delays a card, a DM or a task reminder, and housekeeping never takes a worker from either.
 */
export type Pool = 'slack' | 'connector' | 'housekeeping';

/** Job kinds that only talk to Slack. Manual tasks (`task.*`) are DMs to IT admins, so they are Slack work too. */
const SLACK_KINDS: ReadonlySet<string> = new Set(['request.sync_messages', 'request.notice', 'slack.send', 'slack.refresh_home', 'approval.remind', 'slack.person_report']);

/** Housekeeping: pruning settled rows. */
export const HOUSEKEEPING_JOB = 'jobs.housekeeping';

/** The pool of a job kind, fixed when it is enqueued (migration 008 applies the same rule to older rows). */
export function poolOf(kind: string): Pool {
  if (SLACK_KINDS.has(kind) || kind.startsWith('task.')) return 'slack';
  if (kind === HOUSEKEEPING_JOB) return 'housekeeping';
  return 'connector';
}
