/**
 * Runs due jobs from the SQLite queue. A job is claimed with a lease in one transaction (compare-and-set on
 * its state) and a fresh token; finishing, retrying and extending all check that token, so a claim that lost its
 * lease can never write over a newer one. Failures back off exponentially with jitter, for outages: a job gives up
 * only once it has been failing for `giveUpAfterMs` (6 hours; short faults are retried inside the clients); giving
 * up is one transaction with its consequence (`onGiveUp`); `stop()` takes no new work and lets running jobs finish, or
 * releases them. Each pool (Slack, connectors, housekeeping) has its own workers.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Db } from '../db/connection.js';
import { pruneSettled, type Pruner } from '../db/housekeeping.js';
import type { Logger } from '../util/log.js';
import type { Clock } from '../util/time.js';
import { PermanentError, RetryAt, errorMessage } from './errors.js';
import { HOUSEKEEPING_JOB, type JobKind, type JobPayloads, type JobType, type Pool } from './kinds.js';
import { enqueue, type JobRow } from './queue.js';

export interface JobContext {
  id: number;
  /** Failed attempts in a row before this one. */
  attempts: number;
  /** Infinity unless a limit was configured: `giveUpAfterMs` is what normally ends a failing job. */
  maxAttempts: number;
  /** Aborted when the runner is stopping or this claim lost its lease: a long job should return or throw RetryAt soon. */
  signal: AbortSignal;
  log: Logger;
}

/** What a job kind does; its payload arrives parsed by the kind's schema (see `defineJob`). */
export interface JobHandler<P = unknown> {
  run(payload: P, job: JobContext): Promise<void>;
  /**
   * Called once when the job fails for good (attempts exhausted, PermanentError, or it kept killing the process),
   * inside the transaction that marks the job failed: the failure and its consequence (the item failed, people told
   * through enqueued jobs) are stored together or not at all. So it must be synchronous database work.
   */
  onGiveUp?(payload: P, error: Error, job: JobContext): void;
  leaseMs?: number;
  /** Fields every log line of this job carries, e.g. the request id, so one request can be followed through the logs. */
  logFields?(payload: P): Record<string, unknown>;
}

export interface RunnerOptions {
  /** Connector jobs (Autodesk calls, handing items to connectors) run at once: config `jobs.concurrency`. */
  concurrency?: number;
  /** Slack jobs (cards, DMs, Home tabs, task messages) run at once, beside the connector jobs. @default 4 */
  slackConcurrency?: number;
  pollMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  leaseMs?: number;
  /** Failed attempts in a row after which a job enqueued without its own maxAttempts fails, when set. @default unlimited */
  maxAttempts?: number;
  /** A job failing for this long (since its first failure in a row) fails for good at its next failure. @default 6 hours */
  giveUpAfterMs?: number;
  /** How long stop() waits for running jobs before releasing them. */
  stopGraceMs?: number;
  /** A job found cut off while running this many times in a row is failed, not started again. @default 3 */
  maxRestarts?: number;
  /**
   * Prune settled rows older than `retentionMs`, every `everyMs` (default one hour), the connector plugins' own
   * rows through `pruners`; off when unset.
   */
  housekeeping?: { retentionMs: number; everyMs?: number; pruners?: readonly Pruner[] };
}

/** A handler with the schema of its kind, as the runner keeps them (payload types differ per kind). */
interface Registered {
  schema: z.ZodType<unknown>;
  handler: JobHandler<unknown>;
}

interface Running {
  promise: Promise<void>;
  pool: Pool;
  token: string;
  leaseMs: number;
}

const POOLS: readonly Pool[] = ['slack', 'connector', 'housekeeping'];
/** A wall clock that moved this much more (or less) than the monotonic clock between two looks has jumped. */
const CLOCK_JUMP_MS = 1000;

export class JobRunner {
  private readonly handlers = new Map<string, Registered>();
  private readonly running = new Map<number, Running>();
  private readonly workerId = `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;
  private readonly opts: Required<Omit<RunnerOptions, 'housekeeping'>>;
  private readonly limits: Record<Pool, number>;
  private idleWaiters: (() => void)[] = [];
  private quietWaiters: { until: number | undefined; resolve: () => void }[] = [];
  private lastLook: { wall: number; monotonic: number } | undefined;

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly log: Logger, options: RunnerOptions = {}) {
    this.opts = {
      concurrency: options.concurrency ?? 8,
      slackConcurrency: options.slackConcurrency ?? 4,
      pollMs: options.pollMs ?? 200,
      retryBaseMs: options.retryBaseMs ?? 2000,
      retryMaxMs: options.retryMaxMs ?? 600_000,
      leaseMs: options.leaseMs ?? 60_000,
      maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY,
      giveUpAfterMs: options.giveUpAfterMs ?? 6 * 3_600_000,
      stopGraceMs: options.stopGraceMs ?? 10_000,
      maxRestarts: options.maxRestarts ?? 3,
    };
    this.limits = { connector: this.opts.concurrency, slack: this.opts.slackConcurrency, housekeeping: 1 };
    if (options.housekeeping) this.registerHousekeeping(options.housekeeping.retentionMs, options.housekeeping.everyMs ?? 3_600_000, options.housekeeping.pruners ?? []);
  }

  register<K extends JobKind>(job: JobType<K>, handler: JobHandler<JobPayloads[K]>): void {
    if (this.handlers.has(job.kind)) throw new Error(`job kind "${job.kind}" registered twice`);
    this.handlers.set(job.kind, { schema: job.schema, handler });
  }

  /**
   * One bot process owns a database (the process lock), so jobs still marked running at start-up were cut off by
   * the previous process: they go back to the queue now instead of waiting out their lease, unless they have been
   * cut off `maxRestarts` times in a row already (a job that kills the process): those fail and are reported.
   */
  start(options: { recoverInterrupted?: boolean } = {}): void {
    if (this.started) return;
    this.started = true;
    if (options.recoverInterrupted ?? true) this.recoverInterrupted();
    if (this.handlers.has(HOUSEKEEPING_JOB.kind)) enqueue(this.db, this.clock.now(), HOUSEKEEPING_JOB, {}, { key: HOUSEKEEPING_JOB.kind, mode: 'coalesce' });
    this.schedule(0);
  }

  private recoverInterrupted(): void {
    const interrupted = this.db.prepare("SELECT * FROM jobs WHERE state = 'running'").all() as JobRow[];
    let resumed = 0;
    for (const job of interrupted) {
      if (job.restarts >= this.opts.maxRestarts && this.handlers.has(job.kind)) {
        this.giveUpPoison(job);
        continue;
      }
      resumed += this.db
        .prepare(
          `UPDATE jobs SET state = 'queued', restarts = restarts + 1, locked_by = NULL, lease_token = NULL, lease_until = NULL, updated_at = ?
           WHERE id = ? AND state = 'running'`,
        )
        .run(this.clock.now(), job.id).changes;
    }
    if (resumed) this.log.warn('resumed jobs interrupted by the previous process', { recovered: resumed });
  }

  /** A job the process died running, again and again: running it once more would likely kill this process too. */
  private giveUpPoison(job: JobRow): void {
    const { schema, handler } = this.handlers.get(job.kind)!;
    const message = `the bot stopped while running this job ${job.restarts + 1} times in a row; it is not started again`;
    const log = this.log.child({ job: job.id, kind: job.kind });
    log.error('job failed for good: it keeps stopping the bot', { restarts: job.restarts + 1 });
    const context: JobContext = { id: job.id, attempts: job.attempts, maxAttempts: job.max_attempts ?? this.opts.maxAttempts, signal: this.abort.signal, log };
    this.giveUp(job, handler, parsePayload(schema, job).payload, new PermanentError(message), context, job.lease_token);
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
      this.noticeClockJump();
      for (const pool of POOLS) {
        while (!this.stopping && this.runningIn(pool) < this.limits[pool]) {
          const job = this.claim(pool);
          if (!job) break;
          const promise = this.execute(job).finally(() => {
            this.running.delete(job.id);
            this.wake();
            if (this.running.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
          });
          this.running.set(job.id, { promise, pool, token: job.lease_token, leaseMs: this.handlers.get(job.kind)!.handler.leaseMs ?? this.opts.leaseMs });
        }
      }
      this.resolveQuietWaiters();
    } catch (error) {
      this.log.error('job queue could not be read', { error: errorMessage(error) });
    }
    this.schedule(this.opts.pollMs);
  }

  private runningIn(pool: Pool): number {
    let n = 0;
    for (const job of this.running.values()) if (job.pool === pool) n++;
    return n;
  }

  /**
   * Leases are stored in wall-clock time (what another look at the database compares), but the need to renew them
   * is measured on the monotonic clock: when the wall clock jumps ahead, every running lease is renewed at once
   * rather than left looking expired until its next heartbeat.
   */
  private noticeClockJump(): void {
    const look = { wall: this.clock.now(), monotonic: performance.now() };
    const last = this.lastLook;
    this.lastLook = look;
    if (!last || this.running.size === 0) return;
    const driftMs = look.wall - last.wall - (look.monotonic - last.monotonic);
    if (Math.abs(driftMs) < CLOCK_JUMP_MS) return;
    this.log.warn('the wall clock jumped; renewing the leases of running jobs', { driftMs: Math.round(driftMs) });
    for (const [id, job] of this.running) this.extendLease(id, job.token, job.leaseMs);
  }

  /**
   * Claims the next due job of the pool (or one whose lease expired), skipping queues that already have a job
   * running. Jobs this runner is running itself are never candidates, whatever their lease says: a wall-clock jump
   * must not start a second copy beside the first.
   */
  private claim(pool: Pool): (JobRow & { lease_token: string }) | undefined {
    const now = this.clock.now();
    const mine = JSON.stringify([...this.running.keys()]);
    const kinds = [...this.handlers.keys()].map((k) => `'${k.replace(/'/g, "''")}'`).join(',') || "''";
    // Another job of the same queue holds it: one running (its lease valid, or run by this runner), or one due before.
    const queueFree = `(j.queue IS NULL OR NOT EXISTS (
      SELECT 1 FROM jobs o WHERE o.queue = j.queue AND o.id <> j.id AND o.state IN ('running', 'queued') AND (
        (o.state = 'running' AND (o.lease_until >= @now OR o.id IN (SELECT value FROM json_each(@mine))))
        OR (o.state = 'queued' AND o.run_at <= @now AND o.id < j.id AND o.run_at <= j.run_at))))`;
    const params = { pool, now, mine };
    return this.db.transaction(() => {
      // Two searches, each along the (pool, state, run_at) index: leases run out (rare), then due jobs in order.
      const candidate = (this.db
        .prepare(
          `SELECT * FROM jobs j WHERE j.pool = @pool AND j.state = 'running' AND j.lease_until < @now
             AND j.id NOT IN (SELECT value FROM json_each(@mine)) AND j.kind IN (${kinds}) AND ${queueFree}
           ORDER BY j.lease_until LIMIT 1`,
        )
        .get(params) ??
        this.db
          .prepare(
            `SELECT * FROM jobs j WHERE j.pool = @pool AND j.state = 'queued' AND j.run_at <= @now AND j.kind IN (${kinds}) AND ${queueFree}
             ORDER BY j.run_at, j.id LIMIT 1`,
          )
          .get(params)) as JobRow | undefined;
      if (!candidate) return undefined;
      const lease = this.handlers.get(candidate.kind)?.handler.leaseMs ?? this.opts.leaseMs;
      const token = randomUUID();
      // Taking over an expired lease means its holder vanished mid-run: that counts as a restart.
      const claimed = this.db
        .prepare(
          `UPDATE jobs SET state = 'running', locked_by = ?, lease_token = ?, lease_until = ?, restarts = restarts + ?, updated_at = ?
           WHERE id = ? AND state = ? AND updated_at = ?`,
        )
        .run(this.workerId, token, now + lease, candidate.state === 'running' ? 1 : 0, now, candidate.id, candidate.state, candidate.updated_at);
      return claimed.changes === 1 ? { ...candidate, state: 'running', locked_by: this.workerId, lease_token: token } : undefined;
    }).immediate();
  }

  private async execute(job: JobRow & { lease_token: string }): Promise<void> {
    const { schema, handler } = this.handlers.get(job.kind)!;
    const token = job.lease_token;
    let log = this.log.child({ job: job.id, kind: job.kind });
    const lost = new AbortController();
    const signal = AbortSignal.any([this.abort.signal, lost.signal]);
    const context: JobContext = { id: job.id, attempts: job.attempts, maxAttempts: job.max_attempts ?? this.opts.maxAttempts, signal, log };
    const lease = handler.leaseMs ?? this.opts.leaseMs;
    // setInterval keeps monotonic time: the heartbeat comes every third of a lease however the wall clock moves.
    const heartbeat = setInterval(() => {
      if (!this.extendLease(job.id, token, lease)) lost.abort(new Error('lease lost'));
    }, Math.max(100, lease / 3));
    let payload: unknown;
    try {
      const parsed = parsePayload(schema, job);
      if (parsed.problem !== undefined) throw new PermanentError(parsed.problem, 'bad_payload');
      payload = parsed.payload;
      if (handler.logFields) context.log = log = log.child(handler.logFields(payload));
      await handler.run(payload, context);
      if (!this.finish(job.id, token)) log.warn('job finished after its lease was taken over; its result is not recorded');
    } catch (error) {
      this.fail(job, token, handler, payload, error, context);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** False when this claim no longer holds the job (its lease was taken over). */
  private extendLease(id: number, token: string, lease: number): boolean {
    const now = this.clock.now();
    return this.db.prepare("UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_token = ?").run(now + lease, id, token).changes === 1;
  }

  private finish(id: number, token: string): boolean {
    return (
      this.db
        .prepare("UPDATE jobs SET state = 'done', restarts = 0, locked_by = NULL, lease_token = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_token = ?")
        .run(this.clock.now(), id, token).changes === 1
    );
  }

  private fail(job: JobRow, token: string, handler: JobHandler<unknown>, payload: unknown, error: unknown, context: JobContext): void {
    const now = this.clock.now();
    const message = errorMessage(error);
    if (error instanceof RetryAt) {
      context.log.info('job rescheduled', { reason: message, at: new Date(error.at).toISOString() });
      this.requeue(job.id, token, error.at, message, error.succeeded ? 'reset' : 'keep', context);
      return;
    }
    const attempts = job.attempts + 1;
    const permanent = error instanceof PermanentError || payload === undefined;
    const failingForMs = job.failing_since === null ? 0 : now - job.failing_since;
    if (permanent || attempts >= context.maxAttempts || failingForMs >= this.opts.giveUpAfterMs) {
      context.log.warn('job failed for good', { attempts, failingForMs, error: message });
      this.giveUp({ ...job, attempts }, handler, payload, error instanceof Error ? error : new Error(message), { ...context, attempts }, token);
      return;
    }
    const delay = this.backoff(attempts);
    context.log.warn('job failed, will retry', { attempts, retryInMs: delay, error: message });
    this.requeue(job.id, token, now + delay, message, 'spend', context);
  }

  /**
   * Marks the job failed and runs its give-up consequence in one transaction, if `token` still holds the job (for
   * a job found running at start-up, the dead process's token). A give-up handler that throws is a bug: the job is
   * still failed, loudly.
   */
  private giveUp(job: JobRow, handler: JobHandler<unknown>, payload: unknown, error: Error, context: JobContext, token: string | null): void {
    const markFailed = () =>
      this.db
        .prepare(
          `UPDATE jobs SET state = 'failed', attempts = ?, last_error = ?, locked_by = NULL, lease_token = NULL, lease_until = NULL, updated_at = ?
           WHERE id = ? AND state = 'running' AND lease_token IS ?`,
        )
        .run(job.attempts, error.message, this.clock.now(), job.id, token).changes === 1;
    try {
      this.db.transaction(() => {
        if (!markFailed()) {
          context.log.warn('job gave up after its lease was taken over; the newer claim decides');
          return;
        }
        if (payload !== undefined && handler.onGiveUp) handler.onGiveUp(payload, error, context);
      }).immediate();
    } catch (giveUpError) {
      context.log.error('job give-up handler failed', { error: errorMessage(giveUpError) });
      markFailed();
    }
  }

  /** Exponential, capped, with full jitter in its upper half so a burst of failures does not retry in step. */
  backoff(attempts: number): number {
    const ceiling = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (attempts - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /**
   * Back to the queue. `spend`: one more failure in a row (the first one starts the clock of `giveUpAfterMs`);
   * `keep`: a wait that is no failure (a rate limit); `reset`: the work went fine and is not finished yet.
   */
  private requeue(id: number, token: string, runAt: number, lastError: string, failures: 'spend' | 'keep' | 'reset', context: JobContext): void {
    const now = this.clock.now();
    const counting = {
      spend: 'attempts = attempts + 1, failing_since = COALESCE(failing_since, @now)',
      keep: 'attempts = attempts',
      reset: 'attempts = 0, failing_since = NULL',
    }[failures];
    const changes = this.db
      .prepare(
        `UPDATE jobs SET state = 'queued', run_at = @runAt, ${counting}, restarts = 0, last_error = @lastError, locked_by = NULL, lease_token = NULL, lease_until = NULL, updated_at = @now
         WHERE id = @id AND lease_token = @token`,
      )
      .run({ runAt, lastError, now, id, token }).changes;
    if (changes === 0) context.log.warn('job failed after its lease was taken over; the newer claim decides');
  }

  /** Prunes settled rows after the retention, then books its next run. */
  private registerHousekeeping(retentionMs: number, everyMs: number, pruners: readonly Pruner[]): void {
    this.register(HOUSEKEEPING_JOB, {
      run: async () => {
        const now = this.clock.now();
        const pruned = pruneSettled(this.db, now, retentionMs, pruners);
        if (Object.values(pruned).some((n) => n > 0)) this.log.info('pruned settled rows', { ...pruned });
        enqueue(this.db, now, HOUSEKEEPING_JOB, {}, { key: HOUSEKEEPING_JOB.kind, mode: 'coalesce', runAt: now + everyMs });
      },
    });
  }

  /** Resolves when nothing is running (tests and the demo). */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Resolves once this runner has nothing left to do up to `until` (default: the clock's now): no job running and
   * no job it handles due by then. Checked after each look at the queue, so a job enqueued or made due just before
   * the call is run first: tests use it to assert that something did *not* happen without guessing a wait.
   */
  whenIdle(options: { until?: number } = {}): Promise<void> {
    return new Promise((resolve) => {
      this.quietWaiters.push({ until: options.until, resolve });
      this.wake();
    });
  }

  private resolveQuietWaiters(): void {
    if (this.quietWaiters.length === 0 || this.running.size > 0) return;
    const kinds = JSON.stringify([...this.handlers.keys()]);
    const dueBy = this.db.prepare(
      `SELECT 1 FROM jobs WHERE kind IN (SELECT value FROM json_each(?))
         AND ((state = 'queued' AND run_at <= ?) OR (state = 'running' AND lease_until < ?)) LIMIT 1`,
    );
    const now = this.clock.now();
    this.quietWaiters = this.quietWaiters.filter((waiter) => {
      const until = waiter.until ?? now;
      if (dueBy.get(kinds, until, until) !== undefined) return true;
      waiter.resolve();
      return false;
    });
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
    const outcome = await Promise.race([Promise.allSettled([...this.running.values()].map((job) => job.promise)).then(() => 'done' as const), grace]);
    if (outcome === 'timeout') {
      const release = this.db.prepare(
        "UPDATE jobs SET state = 'queued', locked_by = NULL, lease_token = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND lease_token = ?",
      );
      let released = 0;
      for (const [id, job] of this.running) released += release.run(this.clock.now(), id, job.token).changes;
      this.log.warn('released running jobs at shutdown', { released });
    }
  }
}

/**
 * A stored payload that does not fit its kind's schema (a row written by an older version, or by hand) can never
 * run: it says so in `last_error` rather than failing as a TypeError somewhere in the handler.
 */
function parsePayload(schema: z.ZodType<unknown>, job: JobRow): { payload: unknown; problem?: undefined } | { payload: undefined; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(job.payload);
  } catch {
    return { payload: undefined, problem: `the stored payload of this ${job.kind} job is not JSON` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { payload: parsed.data };
  return { payload: undefined, problem: `the stored payload does not fit job kind ${job.kind}: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}` };
}
