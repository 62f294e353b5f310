/**
 * Runs due jobs from the SQLite queue. A job is claimed with a lease in one transaction (compare-and-set on
 * its state), so a job whose process died is claimed again once its lease has run out; failures back off
 * exponentially with jitter; `stop()` takes no new work and lets running jobs finish, or releases them.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { Db } from '../db/connection.js';
import type { Logger } from '../util/log.js';
import type { Clock } from '../util/time.js';
import { PermanentError, RetryAt, errorMessage } from './errors.js';
import type { JobRow } from './queue.js';

export interface JobContext {
  id: number;
  /** Attempts made before this one. */
  attempts: number;
  maxAttempts: number;
  /** Aborted when the runner is stopping: a long job should return or throw RetryAt soon. */
  signal: AbortSignal;
  log: Logger;
}

export interface JobHandler<P = unknown> {
  schema: z.ZodType<P>;
  run(payload: P, job: JobContext): Promise<void>;
  /** Called once when the job fails for good (attempts exhausted or PermanentError). */
  onGiveUp?(payload: P, error: Error, job: JobContext): Promise<void> | void;
  leaseMs?: number;
  /** Fields every log line of this job carries, e.g. the request id, so one request can be followed through the logs. */
  logFields?(payload: P): Record<string, unknown>;
}

export interface RunnerOptions {
  concurrency?: number;
  pollMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  leaseMs?: number;
  /** Attempts of a job enqueued without its own maxAttempts. */
  maxAttempts?: number;
  /** How long stop() waits for running jobs before releasing them. */
  stopGraceMs?: number;
}

export class JobRunner {
  private readonly handlers = new Map<string, JobHandler<any>>();
  private readonly running = new Map<number, Promise<void>>();
  private readonly workerId = `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;
  private readonly opts: Required<RunnerOptions>;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly log: Logger, options: RunnerOptions = {}) {
    this.opts = {
      concurrency: options.concurrency ?? 8,
      pollMs: options.pollMs ?? 200,
      retryBaseMs: options.retryBaseMs ?? 2000,
      retryMaxMs: options.retryMaxMs ?? 600_000,
      leaseMs: options.leaseMs ?? 60_000,
      maxAttempts: options.maxAttempts ?? 8,
      stopGraceMs: options.stopGraceMs ?? 10_000,
    };
  }

  register<P>(kind: string, handler: JobHandler<P>): void {
    if (this.handlers.has(kind)) throw new Error(`job kind "${kind}" registered twice`);
    this.handlers.set(kind, handler);
  }

  /**
   * One bot process owns a database (README), so jobs still marked running at start-up were cut off by the
   * previous process: they go back to the queue now instead of waiting out their lease.
   */
  start(options: { recoverInterrupted?: boolean } = {}): void {
    if (this.started) return;
    this.started = true;
    if (options.recoverInterrupted ?? true) {
      const recovered = this.db
        .prepare("UPDATE jobs SET state = 'queued', locked_by = NULL, lease_until = NULL, updated_at = ? WHERE state = 'running'")
        .run(this.clock.now()).changes;
      if (recovered) this.log.warn('resumed jobs interrupted by the previous process', { recovered });
    }
    this.schedule(0);
  }

  /** Ask for a look at the queue now (after an enqueue), instead of at the next poll. */
  wake(): void {
    if (this.started && !this.stopping) this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.timer = undefined;
    try {
      while (!this.stopping && this.running.size < this.opts.concurrency) {
        const job = this.claim();
        if (!job) break;
        const promise = this.execute(job).finally(() => {
          this.running.delete(job.id);
          this.wake();
          if (this.running.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
        });
        this.running.set(job.id, promise);
      }
    } catch (error) {
      this.log.error('job queue could not be read', { error: errorMessage(error) });
    }
    this.schedule(this.opts.pollMs);
  }

  /** Claims the next due job (or one whose lease expired), skipping queues that already have a job running. */
  private claim(): JobRow | undefined {
    const now = this.clock.now();
    return this.db.transaction(() => {
      const candidate = this.db
        .prepare(
          `SELECT * FROM jobs j
           WHERE ((j.state = 'queued' AND j.run_at <= @now) OR (j.state = 'running' AND j.lease_until < @now))
             AND j.kind IN (${[...this.handlers.keys()].map((k) => `'${k.replace(/'/g, "''")}'`).join(',') || "''"})
             AND (j.queue IS NULL OR NOT EXISTS (
               SELECT 1 FROM jobs o WHERE o.queue = j.queue AND o.id <> j.id AND (
                 (o.state = 'running' AND o.lease_until >= @now) OR (o.state = 'queued' AND o.run_at <= @now AND o.id < j.id AND o.run_at <= j.run_at))))
           ORDER BY j.run_at, j.id LIMIT 1`,
        )
        .get({ now }) as JobRow | undefined;
      if (!candidate) return undefined;
      const lease = this.handlers.get(candidate.kind)?.leaseMs ?? this.opts.leaseMs;
      const claimed = this.db
        .prepare(
          `UPDATE jobs SET state = 'running', locked_by = ?, lease_until = ?, updated_at = ?
           WHERE id = ? AND state = ? AND updated_at = ?`,
        )
        .run(this.workerId, now + lease, now, candidate.id, candidate.state, candidate.updated_at);
      return claimed.changes === 1 ? { ...candidate, state: 'running', locked_by: this.workerId } : undefined;
    }).immediate();
  }

  private async execute(job: JobRow): Promise<void> {
    const handler = this.handlers.get(job.kind)!;
    let log = this.log.child({ job: job.id, kind: job.kind });
    const context: JobContext = { id: job.id, attempts: job.attempts, maxAttempts: job.max_attempts ?? this.opts.maxAttempts, signal: this.abort.signal, log };
    const lease = handler.leaseMs ?? this.opts.leaseMs;
    const heartbeat = setInterval(() => this.extendLease(job.id, lease), Math.max(1000, lease / 3));
    let payload: unknown;
    try {
      payload = handler.schema.parse(JSON.parse(job.payload));
      if (handler.logFields) context.log = log = log.child(handler.logFields(payload));
      await handler.run(payload, context);
      this.finish(job.id, 'done', null);
    } catch (error) {
      await this.fail(job, handler, payload, error, context);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private extendLease(id: number, lease: number): void {
    const now = this.clock.now();
    this.db.prepare("UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND locked_by = ?").run(now + lease, id, this.workerId);
  }

  private finish(id: number, state: 'done' | 'failed', lastError: string | null): void {
    this.db
      .prepare("UPDATE jobs SET state = ?, last_error = COALESCE(?, last_error), locked_by = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND locked_by = ?")
      .run(state, lastError, this.clock.now(), id, this.workerId);
  }

  private async fail(job: JobRow, handler: JobHandler<any>, payload: unknown, error: unknown, context: JobContext): Promise<void> {
    const now = this.clock.now();
    const message = errorMessage(error);
    if (error instanceof RetryAt) {
      context.log.info('job rescheduled', { reason: message, at: new Date(error.at).toISOString() });
      this.requeue(job.id, error.at, message, 0);
      return;
    }
    const attempts = job.attempts + 1;
    const permanent = error instanceof PermanentError || payload === undefined;
    if (permanent || attempts >= context.maxAttempts) {
      context.log.warn('job failed for good', { attempts, error: message });
      this.db
        .prepare("UPDATE jobs SET state = 'failed', attempts = ?, last_error = ?, locked_by = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND locked_by = ?")
        .run(attempts, message, now, job.id, this.workerId);
      if (payload !== undefined && handler.onGiveUp) {
        try {
          await handler.onGiveUp(payload, error instanceof Error ? error : new Error(message), { ...context, attempts });
        } catch (giveUpError) {
          context.log.error('job give-up handler failed', { error: errorMessage(giveUpError) });
        }
      }
      return;
    }
    const delay = this.backoff(attempts);
    context.log.warn('job failed, will retry', { attempts, retryInMs: delay, error: message });
    this.requeue(job.id, now + delay, message, 1);
  }

  /** Exponential, capped, with full jitter in its upper half so a burst of failures does not retry in step. */
  backoff(attempts: number): number {
    const ceiling = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (attempts - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  private requeue(id: number, runAt: number, lastError: string, spend: 0 | 1): void {
    this.db
      .prepare(
        `UPDATE jobs SET state = 'queued', run_at = ?, attempts = attempts + ?, last_error = ?, locked_by = NULL, lease_until = NULL, updated_at = ?
         WHERE id = ? AND locked_by = ?`,
      )
      .run(runAt, spend, lastError, this.clock.now(), id, this.workerId);
  }

  /** Resolves when nothing is running (tests and the demo). */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get busy(): number {
    return this.running.size;
  }

  /**
   * Stops claiming, waits up to the grace period for running jobs, then gives the rest back to the queue
   * so the next process starts them at once rather than after their lease.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), this.opts.stopGraceMs).unref());
    const outcome = await Promise.race([Promise.allSettled([...this.running.values()]).then(() => 'done' as const), grace]);
    if (outcome === 'timeout') {
      const released = this.db
        .prepare("UPDATE jobs SET state = 'queued', locked_by = NULL, lease_until = NULL, updated_at = ? WHERE state = 'running' AND locked_by = ?")
        .run(this.clock.now(), this.workerId).changes;
      this.log.warn('released running jobs at shutdown', { released });
    }
  }
}
