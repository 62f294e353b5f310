/**
 * Keeps the connector inside Autodesk's limits (Standard 1000 requests/hour and 10 concurrent, Business 5000
 * and 50). bottleneck caps concurrency and spaces calls `3600000 / perHour` apart, so the hourly budget is
 * spread evenly and no window boundary allows a double burst. No reservoir is used: its refresh would undo a
 * 429 pause. The budget spent in the current hour and any 429 pause live in SQLite, so a restart neither
 * resets the budget nor forgets a pause, and a pause holds every call of the connector, not only the one
 * that was refused.
 */
import Bottleneck from 'bottleneck';
import type { Db } from '../../db/connection.js';
import { inTransaction } from '../../db/connection.js';
import { RetryAt } from '../../jobs/errors.js';
import type { Logger } from '../../util/log.js';
import type { Clock } from '../../util/time.js';
import { header, parseRetryAfter, type HttpResponse } from './http.js';

const HOUR_MS = 3_600_000;
/** A `Retry-After: 0` must not turn into a tight loop. */
const MIN_PAUSE_MS = 500;
const MAX_BACKOFF_MS = 60_000;
/** Autodesk's budget is hourly: a longer Retry-After is a bogus header, not a reason to stop for a day. */
const MAX_PAUSE_MS = HOUR_MS;

export interface RateLimiterOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  perHour: number;
  maxConcurrent: number;
  /** A wait longer than this reschedules the job (RetryAt) instead of holding it. @default 30_000 */
  longWaitMs?: number;
  /** Least time between two call starts. @default 3_600_000 / perHour */
  pacingMs?: number;
}

export interface BudgetState {
  used: number;
  windowEnd: number;
  pausedUntil: number;
}

interface BudgetRow {
  window_end: number;
  used: number;
  paused_until: number;
}

export class RateLimiter {
  private readonly bottleneck: Bottleneck;
  private readonly longWaitMs: number;
  private readonly pacingMs: number;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  /** Consecutive 429s without a Retry-After nor a reset header: drives exponential backoff. */
  private blindRefusals = 0;

  constructor(private readonly options: RateLimiterOptions) {
    this.longWaitMs = options.longWaitMs ?? 30_000;
    this.pacingMs = options.pacingMs ?? Math.floor(HOUR_MS / options.perHour);
    this.bottleneck = new Bottleneck({ maxConcurrent: options.maxConcurrent, minTime: this.pacingMs });
    options.db.prepare('INSERT OR IGNORE INTO autodesk_budget (id, window_end, used, paused_until) VALUES (1, 0, 0, 0)').run();
  }

  /**
   * Runs `task` once pacing, concurrency, any pause and the hourly budget allow it. A long wait throws
   * RetryAt so the job is rescheduled; an aborted signal (runner stopping) throws RetryAt(now) before any call.
   */
  async run<T>(signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    // Checked before queueing too, so a paused connector does not queue jobs behind the pacing just to refuse them.
    this.throwIfLongWait(this.options.clock.now());
    this.throwIfLongQueue();
    const scheduled = this.bottleneck.schedule(async () => {
      this.lastStartAt = Date.now();
      await this.awaitTurn(signal);
      return task();
    });
    if (!signal) return scheduled;
    return new Promise<T>((resolve, reject) => {
      const unsubscribe = onAbort(signal, () => reject(this.stopped()));
      scheduled.then(resolve, reject).finally(unsubscribe);
    });
  }

  /** Reads rate-limit headers of any response, and pauses everything after a 429. */
  observe(res: HttpResponse): void {
    const now = this.options.clock.now();
    const remaining = integerHeader(res, 'x-ratelimit-remaining');
    const limit = integerHeader(res, 'x-ratelimit-limit');
    const resetAt = resetHeader(res, now);
    const futureReset = resetAt !== undefined && resetAt > now ? resetAt : undefined;
    if (remaining !== undefined) {
      // The server's count wins over ours (our window may not be aligned with its own, or another client
      // spends the same budget); our own hourly cap still applies on top of it.
      this.options.db
        .prepare('UPDATE autodesk_budget SET used = ?, window_end = COALESCE(?, window_end) WHERE id = 1')
        .run(Math.max(0, (limit ?? this.options.perHour) - remaining), futureReset ?? null);
      if (remaining === 0 && futureReset !== undefined && res.status !== 429) this.pauseUntil(Math.min(futureReset, now + MAX_PAUSE_MS));
    }
    if (res.status !== 429) {
      if (res.status < 400) this.blindRefusals = 0;
      return;
    }
    const retryAfter = parseRetryAfter(header(res.headers, 'retry-after'), now);
    let wait: number;
    if (retryAfter !== undefined) wait = retryAfter;
    else if (resetAt !== undefined && resetAt > now) wait = resetAt - now;
    else wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.blindRefusals++);
    this.pauseUntil(now + Math.min(MAX_PAUSE_MS, Math.max(MIN_PAUSE_MS, wait)));
  }

  pauseUntil(at: number): void {
    this.options.db.prepare('UPDATE autodesk_budget SET paused_until = MAX(paused_until, ?) WHERE id = 1').run(at);
    this.options.log.warn('autodesk: rate limited, pausing all calls', { until: new Date(at).toISOString() });
  }

  /** When calls may start again (now when nothing holds them). */
  resumeAt(): number {
    const now = this.options.clock.now();
    const row = this.row();
    let at = Math.max(now, row.paused_until);
    if (now < row.window_end && row.used >= this.options.perHour) at = Math.max(at, row.window_end);
    return at;
  }

  state(): BudgetState {
    const row = this.row();
    return { used: row.used, windowEnd: row.window_end, pausedUntil: row.paused_until };
  }

  async stop(): Promise<void> {
    await this.bottleneck.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  private row(): BudgetRow {
    return this.options.db.prepare('SELECT window_end, used, paused_until FROM autodesk_budget WHERE id = 1').get() as BudgetRow;
  }

  private throwIfLongWait(now: number): void {
    const at = this.resumeAt();
    if (at - now > this.longWaitMs) throw new RetryAt(at, `autodesk: rate limited until ${new Date(at).toISOString()}`);
  }

  /** Calls queued behind the pacing would wait long: reschedule the job rather than hold it. */
  private throwIfLongQueue(): void {
    const counts = this.bottleneck.counts();
    const ahead = (counts.RECEIVED ?? 0) + (counts.QUEUED ?? 0);
    const now = Date.now();
    const startsAt = Math.max(now, this.lastStartAt + this.pacingMs) + ahead * this.pacingMs;
    if (startsAt - now > this.longWaitMs) {
      throw new RetryAt(this.options.clock.now() + (startsAt - now), `autodesk: ${ahead + 1} calls ahead at one per ${this.pacingMs} ms`);
    }
  }

  private async awaitTurn(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw this.stopped();
      const now = this.options.clock.now();
      const blockedUntil = this.reserve(now);
      if (blockedUntil === undefined) return;
      if (blockedUntil - now > this.longWaitMs) throw new RetryAt(blockedUntil, `autodesk: rate limited until ${new Date(blockedUntil).toISOString()}`);
      await sleep(blockedUntil - now, signal);
    }
  }

  /** Spends one unit of the hour's budget, or says until when calls are held. One transaction, so processes sharing the file agree. */
  private reserve(now: number): number | undefined {
    return inTransaction(this.options.db, () => {
      const row = this.row();
      if (row.paused_until > now) return row.paused_until;
      let windowEnd = row.window_end;
      let used = row.used;
      if (now >= windowEnd) {
        windowEnd = now + HOUR_MS;
        used = 0;
      }
      if (used >= this.options.perHour) return windowEnd;
      this.options.db.prepare('UPDATE autodesk_budget SET window_end = ?, used = ? WHERE id = 1').run(windowEnd, used + 1);
      return undefined;
    });
  }

  private stopped(): RetryAt {
    return new RetryAt(this.options.clock.now(), 'autodesk: stopping before the call was made');
  }
}

function integerHeader(res: HttpResponse, name: string): number | undefined {
  const value = header(res.headers, name);
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** `X-RateLimit-Reset` as epoch ms: epoch seconds when it looks like one, else seconds from now. */
function resetHeader(res: HttpResponse, now: number): number | undefined {
  const value = integerHeader(res, 'x-ratelimit-reset');
  if (value === undefined) return undefined;
  return value > 1_000_000_000 ? value * 1000 : now + value * 1000;
}

/**
 * Every job shares the runner's one signal, so each call listening on it directly would pile up listeners
 * (and Node's leak warning); one real listener per signal fans out instead.
 */
const abortWatchers = new WeakMap<AbortSignal, Set<() => void>>();

function onAbort(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    callback();
    return () => undefined;
  }
  let watchers = abortWatchers.get(signal);
  if (!watchers) {
    const created = new Set<() => void>();
    abortWatchers.set(signal, created);
    signal.addEventListener('abort', () => created.forEach((watcher) => watcher()), { once: true });
    watchers = created;
  }
  watchers.add(callback);
  return () => watchers.delete(callback);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    let unsubscribe: () => void = () => undefined;
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
    // On abort the loop wakes up and sees the signal.
    if (signal) unsubscribe = onAbort(signal, done);
  });
}
