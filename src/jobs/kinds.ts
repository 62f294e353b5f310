/**
 * Job kinds and their payloads. A kind is a stored string (rows outlive versions: never rename one) with a zod
 * schema; `defineJob` pairs them once, and that one value is what `enqueue` and `JobRunner.register` take, so a
 * payload of the wrong shape does not compile, and a stored row that no longer fits (written by an older version)
 * fails its job for good with the schema's complaint instead of a TypeError deep in a handler.
 *
 * The map of kinds is open: the module that owns a kind adds it beside its code, e.g.
 * `declare module '../jobs/kinds.js' { interface JobPayloads { 'task.post': TaskPost } }`, and a kind declared
 * twice with different payloads is a compile error. Each side owns the kinds it runs: the lifecycle's notices and
 * message syncs in `src/requests/notices.ts`, Slack's in `src/slack/kinds.ts`, connectors' beside their code; here
 * are the runner's own and the fulfillment job.
 */
import { z } from 'zod';

export interface JobPayloads {
  'item.fulfill': { itemId: number };
  'jobs.housekeeping': Record<string, never>;
}

export type JobKind = Extract<keyof JobPayloads, string>;

/** A job kind with the schema its stored payload is parsed by before a handler sees it. */
export interface JobType<K extends JobKind = JobKind> {
  readonly kind: K;
  readonly schema: z.ZodType<JobPayloads[K]>;
}

export function defineJob<K extends JobKind>(kind: K, schema: z.ZodType<JobPayloads[K]>): JobType<K> {
  return { kind, schema };
}

export const JOB = {
  /** Run the app's connector for one approved item. */
  fulfillItem: defineJob('item.fulfill', z.object({ itemId: z.number().int() })),
} as const;

/**
 * Worker pools, each with its own concurrency: a backlog of Autodesk work (a bulk offboarding at the plan's
 * concurrency) never delays a card, a DM or a task reminder, and housekeeping never takes a worker from either.
 */
export type Pool = 'slack' | 'connector' | 'housekeeping';

/**
 * Job kinds that only talk to Slack, by their stored strings (this module names no Slack constant). Manual tasks
 * (`task.*`) are DMs to IT admins, so they are Slack work too.
 */
const SLACK_KINDS: ReadonlySet<string> = new Set(['request.sync_messages', 'request.notice', 'slack.send', 'slack.refresh_home', 'approval.remind', 'slack.person_report']);

/** Housekeeping: pruning settled rows. */
export const HOUSEKEEPING_JOB = defineJob('jobs.housekeeping', z.object({}));

/** The pool of a job kind, fixed when it is enqueued (migration 008 applies the same rule to older rows). */
export function poolOf(kind: string): Pool {
  if (SLACK_KINDS.has(kind) || kind.startsWith('task.')) return 'slack';
  if (kind === HOUSEKEEPING_JOB.kind) return 'housekeeping';
  return 'connector';
}
