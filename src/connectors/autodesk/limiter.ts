/**
 * Keeps the connector inside Autodesk's limits (Standard 1000 requests/hour and 10 concurrent, Business 5000
 * and 50) while letting a bulk run go as fast as those limits allow. The budget is a sliding hour: a call may
 * start whenever fewer than `perHour` calls started in the trailing 60 minutes, so 300 offboardings burst
 * through at the concurrency cap instead of one call every 3.6 s, and no moment ever sees more than the plan
 * in the hour before it (a fixed window would allow a double burst across its boundary: a full budget at the
 * end of one window and another at the start of the next). bottleneck only caps concurrency: no reservoir (its
 * refresh would undo a 429 pause) and no pacing unless `pacingMs` asks for it.
 *
 * Calls are counted in SQLite per second of their start (`autodesk_calls`), pruned once they leave the hour:
 * at most 3600 rows whatever the volume, and one short transaction per call, so a restart keeps the window
 * and processes sharing the file share it. A second leaves the window as a whole, at its end plus an hour, so
 * a call may wait up to a second longer than strictly needed, never less. On top of our own count, the
 * server's view from X-RateLimit-Limit/Remaining/Reset (when it sends them) holds calls until its reset once
 * its window is spent, which covers budget spent by other clients of the same account. A try the server did not
 * count is given back to both counts: one never sent (no token), or a failure answered without the rate-limit
 * headers by a server that sends them on what it counts (the sandbox's injected 5xx and 401s, like a gateway's
 * answer before the API's limiter), so retries of transient failures do not spend budget the server never
 * charged; a server that sends no headers at all gets no refund, and its failures count. A 429 pauses every
 * call of the connector until Retry-After (persisted too), and a wait longer than `longWaitMs` throws RetryAt
 * so the job is rescheduled instead of holding the process.
 */
import Bottleneck from 'bottleneck';
import type { Db } from '../../db/connection.js';
import { inTransaction } from '../../db/connection.js';
import { RetryAt } from '../../jobs/errors.js';
import type { Logger } from '../../util/log.js';
import type { Clock } from '../../util/time.js';
import { header, parseRetryAfter, type HttpResponse } from './http.js';

const HOUR_MS = 3_600_000;
const BUCKET_MS = 1000;
/**
 * bottleneck runs higher priorities first (0 is the highest). Offboarding is security work and goes first;
 * onboarding next; polls of pending invitations and directory refreshes take what is left.
 */
export const PRIORITY = { offboard: 2, onboard: 4, background: 7 } as const;
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];
/** A `Retry-After: 0` must not turn into a tight loop. */
const MIN_PAUSE_MS = 500;
const MAX_BACKOFF_MS = 60_000;
/** Autodesk's budget is hourly: a longer Retry-After is a bogus header, not a reason to stop for a day. */
const MAX_PAUSE_MS = HOUR_MS;

export interface RateLimiterOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Most calls started in any trailing 60 minutes. */
  perHour: number;
  maxConcurrent: number;
  /** A wait longer than this reschedules the job (RetryAt) instead of holding it. @default 30_000 */
  longWaitMs?: number;
  /** Least time between two call starts; the sliding hour needs none. @default 0 */
  pacingMs?: number;
  /** Length of the sliding window `perHour` counts over; only benches and tests shorten it. @default 3_600_000 */
  windowMs?: number;
}

export interface BudgetState {
  /** Our calls started in the trailing hour (up to a second more: see the top comment). */
  used: number;
  /** The server's count of its current window (from its headers, plus our calls since); null when unknown or over. */
  server: { used: number; limit: number; resetAt: number } | null;
  pausedUntil: number;
}

interface BudgetRow {
  window_end: number;
  used: number;
  server_limit: number | null;
  paused_until: number;
}

interface Bucket {
  second: number;
  calls: number;
}

/** One call counted by `run`: where, so it can be given back if the server did not count it (`refund`). */
export interface Reservation {
  second: number;
  /** The server window it was also counted in, if one was known then. */
  serverWindowEnd: number | null;
  refunded: boolean;
}


function prepareStatements(db: Db) {
  return {
    row: db.prepare('SELECT window_end, used, server_limit, paused_until FROM autodesk_budget WHERE id = 1'),
    prune: db.prepare('DELETE FROM autodesk_calls WHERE second < ?'),
    inWindow: db.prepare('SELECT COALESCE(SUM(calls), 0) AS n FROM autodesk_calls WHERE second >= ?'),
    buckets: db.prepare('SELECT second, calls FROM autodesk_calls WHERE second >= ? ORDER BY second'),
    count: db.prepare('INSERT INTO autodesk_calls (second, calls) VALUES (?, 1) ON CONFLICT (second) DO UPDATE SET calls = calls + 1'),
    countServer: db.prepare('UPDATE autodesk_budget SET used = used + 1 WHERE id = 1'),
    uncount: db.prepare('UPDATE autodesk_calls SET calls = calls - 1 WHERE second = ? AND calls > 0'),
    uncountServer: db.prepare('UPDATE autodesk_budget SET used = MAX(used - 1, 0) WHERE id = 1 AND window_end = ?'),
    // Within one window a lower count can only be an older answer overtaken by a newer one.
    resync: db.prepare(
      'UPDATE autodesk_budget SET used = CASE WHEN window_end = @reset THEN MAX(used, @used) ELSE @used END, window_end = @reset, server_limit = @limit WHERE id = 1',
    ),
  };
}

export class RateLimiter {
  private readonly bottleneck: Bottleneck;
  private readonly longWaitMs: number;
  private readonly pacingMs: number;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  /** Consecutive 429s without a Retry-After nor a reset header: drives exponential backoff. */
  private blindRefusals = 0;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly windowMs: number;
  /** Set once an answer carried X-RateLimit-Remaining: from then on an answer without it was not counted. */
  private serverSendsHeaders = false;

  constructor(private readonly options: RateLimiterOptions) {
    this.windowMs = options.windowMs ?? HOUR_MS;
    this.longWaitMs = options.longWaitMs ?? 30_000;
    this.pacingMs = options.pacingMs ?? 0;
    this.bottleneck = new Bottleneck({ maxConcurrent: options.maxConcurrent, minTime: this.pacingMs });
    const { db } = options;
    db.prepare('INSERT OR IGNORE INTO autodesk_budget (id, window_end, used, paused_until) VALUES (1, 0, 0, 0)').run();
    this.statements = prepareStatements(db);
  }

  /**
   * Runs `task` once concurrency, any pause and the budget allow it. A long wait throws RetryAt so the job is
   * rescheduled; an aborted signal (runner stopping) throws RetryAt(now) before any call.
   */
  async run<T>(signal: AbortSignal | undefined, task: (reservation: Reservation) => Promise<T>, priority: number = PRIORITY.background): Promise<T> {
    // Checked before queueing too, so a paused or spent connector does not queue jobs just to refuse them.
    this.throwIfLongWait(this.options.clock.now());
    this.throwIfLongQueue();
    const scheduled = this.bottleneck.schedule({ priority }, async () => {
      this.lastStartAt = Date.now();
      return task(await this.awaitTurn(signal));
    });
    if (!signal) return scheduled;
    return new Promise<T>((resolve, reject) => {
      const unsubscribe = onAbort(signal, () => reject(this.stopped()));
      scheduled.then(resolve, reject).finally(unsubscribe);
    });
  }

  /**
   * Reads rate-limit headers of any response, and pauses everything after a 429. With the call's reservation, a
   * failure the server answered without its headers (while it sends them on what it counts) is given back.
   */
  observe(res: HttpResponse, reservation?: Reservation): void {
    const now = this.options.clock.now();
    const remaining = integerHeader(res, 'x-ratelimit-remaining');
    if (remaining !== undefined) this.serverSendsHeaders = true;
    else if (reservation && this.serverSendsHeaders && res.status >= 400 && res.status !== 429) this.refund(reservation);
    const limit = integerHeader(res, 'x-ratelimit-limit');
    const resetAt = resetHeader(res, now);
    const futureReset = resetAt !== undefined && resetAt > now ? resetAt : undefined;
    if (remaining !== undefined && futureReset !== undefined) {
      // The server's count wins over ours: another client may spend the same budget.
      const serverLimit = limit ?? this.options.perHour;
      this.statements.resync.run({ reset: futureReset, used: Math.max(0, serverLimit - remaining), limit: serverLimit });
      if (remaining === 0 && res.status !== 429) this.pauseUntil(Math.min(futureReset, now + MAX_PAUSE_MS));
    }
    if (res.status !== 429) {
      if (res.status < 400) this.blindRefusals = 0;
      return;
    }
    const retryAfter = parseRetryAfter(header(res.headers, 'retry-after'), now);
    let wait: number;
    if (retryAfter !== undefined) wait = retryAfter;
    else if (futureReset !== undefined) wait = futureReset - now;
    else wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.blindRefusals++);
    this.pauseUntil(now + Math.min(MAX_PAUSE_MS, Math.max(MIN_PAUSE_MS, wait)));
  }

  /** Gives back a call the server did not count (or that was never sent), in our hour and its window. Once. */
  refund(reservation: Reservation): void {
    if (reservation.refunded) return;
    reservation.refunded = true;
    inTransaction(this.options.db, () => {
      this.statements.uncount.run(reservation.second);
      if (reservation.serverWindowEnd !== null) this.statements.uncountServer.run(reservation.serverWindowEnd);
    });
  }

  pauseUntil(at: number): void {
    this.options.db.prepare('UPDATE autodesk_budget SET paused_until = MAX(paused_until, ?) WHERE id = 1').run(at);
    this.options.log.warn('autodesk: rate limited, pausing all calls', { until: new Date(at).toISOString() });
  }

  /** When calls may start again (now when nothing holds them). */
  resumeAt(): number {
    const now = this.options.clock.now();
    return this.blockedUntil(now, this.row()) ?? now;
  }

  state(): BudgetState {
    const now = this.options.clock.now();
    const row = this.row();
    return {
      used: this.inWindow(now),
      server: row.window_end > now ? { used: row.used, limit: row.server_limit ?? this.options.perHour, resetAt: row.window_end } : null,
      pausedUntil: row.paused_until,
    };
  }

  async stop(): Promise<void> {
    await this.bottleneck.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  /** The first second still (partly) inside the window before `now`: earlier seconds have left it. */
  private firstSecondInWindow(now: number): number {
    return Math.floor((now - this.windowMs) / BUCKET_MS);
  }

  /** When the calls of `second` leave the window. */
  private leavesAt(second: number): number {
    return (second + 1) * BUCKET_MS + this.windowMs;
  }

  private row(): BudgetRow {
    return this.statements.row.get() as BudgetRow;
  }

  private inWindow(now: number): number {
    return (this.statements.inWindow.get(this.firstSecondInWindow(now)) as { n: number }).n;
  }

  /** Until when a call starting now is held (a pause, our sliding hour, the server's window), or undefined. */
  private blockedUntil(now: number, row: BudgetRow): number | undefined {
    let until = row.paused_until > now ? row.paused_until : undefined;
    const hold = (at: number) => {
      until = Math.max(until ?? at, at);
    };
    if (row.window_end > now && row.used >= (row.server_limit ?? this.options.perHour)) hold(row.window_end);
    const excess = this.inWindow(now) - this.options.perHour + 1;
    if (excess > 0) {
      // Enough of the oldest calls have to leave the window to make room for one more.
      let leaving = 0;
      for (const bucket of this.statements.buckets.iterate(this.firstSecondInWindow(now)) as IterableIterator<Bucket>) {
        leaving += bucket.calls;
        if (leaving >= excess) {
          hold(this.leavesAt(bucket.second));
          break;
        }
      }
    }
    return until;
  }

  private throwIfLongWait(now: number): void {
    const at = this.resumeAt();
    if (at - now > this.longWaitMs) throw new RetryAt(at, `autodesk: rate limited until ${new Date(at).toISOString()}`);
  }

  /** Calls queued behind the pacing (when there is any) would wait long: reschedule the job rather than hold it. */
  private throwIfLongQueue(): void {
    if (this.pacingMs <= 0) return;
    const counts = this.bottleneck.counts();
    const ahead = (counts.RECEIVED ?? 0) + (counts.QUEUED ?? 0);
    const now = Date.now();
    const startsAt = Math.max(now, this.lastStartAt + this.pacingMs) + ahead * this.pacingMs;
    if (startsAt - now > this.longWaitMs) {
      throw new RetryAt(this.options.clock.now() + (startsAt - now), `autodesk: ${ahead + 1} calls ahead at one per ${this.pacingMs} ms`);
    }
  }

  private async awaitTurn(signal: AbortSignal | undefined): Promise<Reservation> {
    for (;;) {
      if (signal?.aborted) throw this.stopped();
      const now = this.options.clock.now();
      const blockedUntil = this.reserve(now);
      if (typeof blockedUntil === 'object') return blockedUntil;
      if (blockedUntil - now > this.longWaitMs) throw new RetryAt(blockedUntil, `autodesk: rate limited until ${new Date(blockedUntil).toISOString()}`);
      await sleep(blockedUntil - now, signal);
    }
  }

  /**
   * Counts one call in the sliding hour (and in the server's window while it lasts), or says until when calls
   * are held. One transaction, so processes sharing the file agree.
   */
  private reserve(now: number): number | Reservation {
    return inTransaction(this.options.db, () => {
      this.statements.prune.run(this.firstSecondInWindow(now));
      const row = this.row();
      const blockedUntil = this.blockedUntil(now, row);
      if (blockedUntil !== undefined) return blockedUntil;
      const second = Math.floor(now / BUCKET_MS);
      this.statements.count.run(second);
      if (row.window_end > now) this.statements.countServer.run();
      return { second, serverWindowEnd: row.window_end > now ? row.window_end : null, refunded: false };
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
