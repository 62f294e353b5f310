/**
 * The durable job queue: a row per job in SQLite. Enqueue inside the same transaction as the state change
 * that calls for it, and the change and its side effect can never be separated by a crash.
 */
import type { Db } from '../db/connection.js';
import { poolOf, type JobKind, type JobPayloads, type JobType } from './kinds.js';

export interface EnqueueOptions {
  /** Earliest start (epoch ms); default now. */
  runAt?: number;
  /**
   * With a key, how to treat a job with the same key:
   * - `once` (default): any job ever enqueued with the key makes this a no-op (Slack retries, double clicks);
   * - `coalesce`: a queued job with the key absorbs this one (its run_at moves earlier if this one is sooner,
   *   unless that job already ran and is waiting out a backoff or a Retry-After: those it keeps);
   * - `replace`: a queued job with the key takes this payload and run_at (reminders being rescheduled).
   */
  key?: string;
  mode?: 'once' | 'coalesce' | 'replace';
  /** Jobs sharing a queue name run one at a time, in run_at order. */
  queue?: string;
  /** Failed attempts in a row before the job fails for good, on top of the runner's `giveUpAfter`. Default: the runner's `maxAttempts` (config `jobs.maxAttempts`), if any. */
  maxAttempts?: number;
}

export interface JobRow {
  id: number; kind: string; payload: string; key: string | null; queue: string | null; state: string;
  run_at: number; attempts: number; max_attempts: number | null; last_error: string | null;
  locked_by: string | null; lease_until: number | null; created_at: number; updated_at: number;
  pool: string; lease_token: string | null; restarts: number; failing_since: number | null;
}

/** Returns the id of the job that will do the work (new or existing), or undefined for a `once` no-op. */
export function enqueue<K extends JobKind>(db: Db, now: number, job: JobType<K>, payload: JobPayloads[K], options: EnqueueOptions = {}): number | undefined {
  const kind = job.kind;
  const runAt = options.runAt ?? now;
  const json = JSON.stringify(payload);
  const run = () => {
    if (options.key) {
      const mode = options.mode ?? 'once';
      if (mode === 'once') {
        const existing = db.prepare('SELECT id FROM jobs WHERE key = ? LIMIT 1').get(options.key) as { id: number } | undefined;
        if (existing) return undefined;
      } else {
        const queued = db.prepare("SELECT id, run_at, last_error FROM jobs WHERE key = ? AND state = 'queued' LIMIT 1").get(options.key) as
          | { id: number; run_at: number; last_error: string | null }
          | undefined;
        if (queued) {
          if (mode === 'replace') {
            db.prepare('UPDATE jobs SET payload = ?, run_at = ?, updated_at = ? WHERE id = ?').run(json, runAt, now, queued.id);
          } else if (runAt < queued.run_at && queued.last_error === null) {
            // A job with an error recorded has run and is backing off (or honouring Slack's Retry-After): pulling
            // it earlier at every change of the request would defeat both.
            db.prepare('UPDATE jobs SET run_at = ?, updated_at = ? WHERE id = ?').run(runAt, now, queued.id);
          }
          return queued.id;
        }
      }
    }
    const result = db
      .prepare(
        `INSERT INTO jobs (kind, payload, key, queue, pool, state, run_at, attempts, max_attempts, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'queued', ?, 0, ?, ?, ?)`,
      )
      .run(kind, json, options.key ?? null, options.queue ?? null, poolOf(kind), runAt, options.maxAttempts ?? null, now, now);
    return Number(result.lastInsertRowid);
  };
  return db.inTransaction ? run() : db.transaction(run).immediate();
}

/**
 * Frees a `once` key for a new job: the jobs holding it keep running, under a retired name. For work that must be
 * done again from the start (an item whose approval was reopened gets a fresh fulfillment when re-approved).
 */
export function retireKey(db: Db, now: number, key: string): void {
  db.prepare("UPDATE jobs SET key = key || ':retired:' || ? WHERE key = ?").run(now, key);
}

/** Cancels queued jobs with this key (a reminder whose task is done). A running one finishes its attempt. */
export function cancelJobs(db: Db, now: number, key: string): number {
  return db.prepare("UPDATE jobs SET state = 'cancelled', updated_at = ? WHERE key = ? AND state = 'queued'").run(now, key).changes;
}

export interface QueueHealth {
  queued: number;
  running: number;
  failed: number;
  oldestOverdueMs: number | null;
}

export function queueHealth(db: Db, now: number): QueueHealth {
  // The hourly housekeeping job is always queued: it is not work waiting.
  const counts = db.prepare("SELECT state, COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running', 'failed') AND pool <> 'housekeeping' GROUP BY state").all() as {
    state: string; n: number;
  }[];
  const count = (state: string) => counts.find((row) => row.state === state)?.n ?? 0;
  const oldest = db.prepare("SELECT MIN(run_at) AS at FROM jobs WHERE state = 'queued' AND run_at <= ?").get(now) as { at: number | null };
  return { queued: count('queued'), running: count('running'), failed: count('failed'), oldestOverdueMs: oldest.at === null ? null : now - oldest.at };
}
