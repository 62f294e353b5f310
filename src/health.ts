/**
 * `GET /healthz`: whether the bot can work (the database answers) and whether its work is getting done. A job
 * that gave up, or work left waiting long past its time, makes the answer "degraded" with the counts, so a
 * monitor sees a failure the people involved were told about. Degraded is still HTTP 200: restarting the
 * process would not mend an Autodesk outage, and an orchestrator reading 503 as "restart me" would try.
 */
import type { Db } from './db/connection.js';

/** How long a failed job keeps the bot degraded: long enough for a monitor polling every few minutes to see it. */
export const FAILED_WINDOW_MS = 3_600_000;
/** A job still queued this long after it was due means the runner is stuck or far behind, not merely busy. */
export const OVERDUE_AFTER_MS = 15 * 60_000;

export interface JobHealth {
  queued: number;
  running: number;
  /** Jobs that failed for good, ever (until housekeeping removes them). */
  failed: number;
  /** Jobs that failed for good within the last hour: each is an item or a message given up on. */
  failedLastHour: number;
  /** Queued jobs due more than OVERDUE_AFTER_MS ago. */
  overdue: number;
  /** How long ago the oldest due, still queued job was due; null when none is due. */
  oldestOverdueMs: number | null;
}

export interface HealthReport {
  httpStatus: 200 | 503;
  body: { ok: boolean; status: 'ok' | 'degraded' | 'down'; jobs?: JobHealth; problems?: string[]; error?: string };
}

export function jobHealth(db: Db, now: number): JobHealth {
  const counts = db.prepare("SELECT state, COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running', 'failed') GROUP BY state").all() as { state: string; n: number }[];
  const count = (state: string) => counts.find((row) => row.state === state)?.n ?? 0;
  // Both use the (state, run_at) index; the failed rows are few.
  const failedLastHour = (db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE state = 'failed' AND updated_at >= ?").get(now - FAILED_WINDOW_MS) as { n: number }).n;
  const oldest = (db.prepare("SELECT MIN(run_at) AS at FROM jobs WHERE state = 'queued' AND run_at <= ?").get(now) as { at: number | null }).at;
  const longOverdue = (db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued' AND run_at < ?").get(now - OVERDUE_AFTER_MS) as { n: number }).n;
  return {
    queued: count('queued'), running: count('running'), failed: count('failed'), failedLastHour,
    overdue: longOverdue, oldestOverdueMs: oldest === null ? null : now - oldest,
  };
}

export function checkHealth(db: Db, now: number): HealthReport {
  let jobs: JobHealth;
  try {
    db.prepare('SELECT 1').get();
    jobs = jobHealth(db, now);
  } catch {
    return { httpStatus: 503, body: { ok: false, status: 'down', error: 'database unavailable' } };
  }
  const problems: string[] = [];
  if (jobs.failedLastHour > 0) problems.push(`${jobs.failedLastHour} job${jobs.failedLastHour === 1 ? '' : 's'} failed for good in the last hour`);
  if (jobs.overdue > 0) problems.push(`${jobs.overdue} job${jobs.overdue === 1 ? ' is' : 's are'} more than ${OVERDUE_AFTER_MS / 60_000} minutes overdue`);
  if (problems.length) return { httpStatus: 200, body: { ok: false, status: 'degraded', jobs, problems } };
  return { httpStatus: 200, body: { ok: true, status: 'ok', jobs } };
}
