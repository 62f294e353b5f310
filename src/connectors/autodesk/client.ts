/**
 * Every Autodesk API call goes through here: the shared limiter, a Bearer token from the shared source, one
 * retry with a fresh token after a 401, 429s waited out in place while the wait is short, and transient
 * failures of one call (5xx, timeouts, connection resets, token errors) tried again a few times with short
 * jittered backoff, each try spending budget like any call the server counts (see RateLimiter). Only calls that are safe to repeat are repeated:
 * GET, PATCH (it sets fields) and calls marked `repeatable`; a POST /users or a DELETE that may have reached the
 * server is left to the job, whose connector reads the account again first. A token error is repeated for any
 * call, since the call itself was never sent. Longer outages are the job runner's business (its backoff).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Agent, Dispatcher } from 'undici';
import type { Db } from '../../db/connection.js';
import { RetryAt } from '../../jobs/errors.js';
import type { Logger } from '../../util/log.js';
import type { Clock } from '../../util/time.js';
import { AutodeskApiError, backoffMs, createDispatcher, sleep, errorFromResponse, send, type HttpResponse, type HttpTimeouts, type RetryPolicy } from './http.js';
import { PRIORITY, RateLimiter, type Priority } from './limiter.js';
import { TokenSource } from './token.js';

/** 429s answered in place before the job is rescheduled instead (which costs no attempt either). */
const MAX_RATE_LIMITED_TRIES = 20;

export interface AutodeskClientOptions {
  baseUrl: string;
  tokenUrl: string;
  clientId: string | undefined;
  clientSecret: string | undefined;
  perHour: number;
  maxConcurrent: number;
  db: Db;
  clock: Clock;
  log: Logger;
  /** See RateLimiter. @default 30_000 */
  longWaitMs?: number;
  /** See RateLimiter: a minimum gap between calls, off by default (the sliding-hour budget needs none). @default 0 */
  pacingMs?: number;
  timeouts?: HttpTimeouts;
  /** Sliding window of the budget; see RateLimiter. @default 3_600_000 */
  budgetWindowMs?: number;
  /** Tries of one transient failure inside the client, and their backoff. @default { tries: 3, baseMs: 200, maxMs: 2000 } */
  retry?: Partial<RetryPolicy>;
}

/** RetryAt errors of calls that never reached Autodesk in any try (see `neverSent`). */
const unsent = new WeakSet<object>();

/**
 * Whether `error` says the call was never performed: held back by the budget or a stopping runner, or only ever
 * answered 429 or 401. A caller that wrote an intent before an irreversible call may then drop it. Any try that
 * may have reached the server (a timeout, a reset, a 5xx) makes this false.
 */
export function neverSent(error: unknown): boolean {
  return error instanceof RetryAt && unsent.has(error);
}

export const DEFAULT_RETRY: RetryPolicy = { tries: 3, baseMs: 200, maxMs: 2000 };

/**
 * The priority of the calls made inside `work` (and everything it awaits), so the connector marks an
 * offboarding job once instead of threading a parameter through the API and the directory.
 */
const currentPriority = new AsyncLocalStorage<Priority>();
export function withPriority<T>(priority: Priority, work: () => Promise<T>): Promise<T> {
  return currentPriority.run(priority, work);
}

export interface CallOptions {
  query?: Record<string, string | number>;
  body?: unknown;
  /** The job's signal: a stopping runner makes calls not yet sent throw RetryAt(now). Calls already sent finish. */
  signal?: AbortSignal;
  /** Safe to send twice (a POST whose repeat is answered 409 "already done"). GET and PATCH always are. */
  repeatable?: boolean;
  /** Default: the one set by withPriority, else background. */
  priority?: Priority;
}

export class AutodeskClient {
  readonly dispatcher: Agent;
  readonly tokens: TokenSource;
  readonly limiter: RateLimiter;
  private readonly baseUrl: string;
  private readonly clock: Clock;
  private readonly retry: RetryPolicy;

  constructor(options: AutodeskClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.clock = options.clock;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    // One connection per concurrent call, plus one so a token renewal never waits behind API calls.
    this.dispatcher = createDispatcher(options.maxConcurrent + 1, options.timeouts);
    this.tokens = new TokenSource({ tokenUrl: options.tokenUrl, clientId: options.clientId, clientSecret: options.clientSecret, dispatcher: this.dispatcher, clock: options.clock, retry: this.retry });
    this.limiter = new RateLimiter({
      db: options.db, clock: options.clock, log: options.log, perHour: options.perHour, maxConcurrent: options.maxConcurrent,
      longWaitMs: options.longWaitMs, pacingMs: options.pacingMs, windowMs: options.budgetWindowMs,
    });
  }

  /** Answers 2xx responses; anything else throws AutodeskApiError (or RetryAt for a long rate-limit wait). */
  async call(action: string, method: Dispatcher.HttpMethod, path: string, options: CallOptions = {}): Promise<HttpResponse> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, String(value));
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const repeatable = options.repeatable === true || method === 'GET' || method === 'HEAD' || method === 'PATCH' || method === 'PUT';
    const priority = options.priority ?? currentPriority.getStore() ?? PRIORITY.background;
    let renewedToken = false;
    let failedTries = 0;
    let maybePerformed = false;
    const held = (error: RetryAt): RetryAt => {
      if (!maybePerformed) unsent.add(error);
      return error;
    };
    for (let rateLimited = 0; ; ) {
      let outcome: { res: HttpResponse; token: string };
      try {
        outcome = await this.limiter.run(options.signal, async (reservation) => {
          let token: string;
          try {
            token = await this.tokens.get();
          } catch (error) {
            // The call was never sent: its budget is not spent.
            this.limiter.refund(reservation);
            throw error;
          }
          const performedBefore = maybePerformed;
          maybePerformed = true;
          const res = await send(this.dispatcher, action, {
            method,
            url: url.toString(),
            headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            body,
          });
          this.limiter.observe(res, reservation);
          if (res.status === 429 || res.status === 401) maybePerformed = performedBefore;
          return { res, token };
        }, priority);
      } catch (error) {
        // No answer (a reset, a timeout) or no token: the token source already retried its own errors.
        const tokenError = error instanceof AutodeskApiError && error.action === 'get token';
        if (error instanceof AutodeskApiError && error.retryable && (repeatable || tokenError) && ++failedTries < this.retry.tries) {
          await this.pause(failedTries, options.signal);
          continue;
        }
        throw error instanceof RetryAt ? held(error) : error;
      }
      const { res, token } = outcome;
      if (res.status === 401 && !renewedToken) {
        renewedToken = true;
        this.tokens.invalidate(token);
        continue;
      }
      if (res.status === 429) {
        if (++rateLimited < MAX_RATE_LIMITED_TRIES) continue;
        throw held(new RetryAt(Math.max(this.limiter.resumeAt(), this.clock.now() + 1000), `autodesk: ${action}: still rate limited after ${rateLimited} tries`));
      }
      if (res.status >= 200 && res.status < 300) return res;
      if ((res.status >= 500 || res.status === 408) && repeatable && ++failedTries < this.retry.tries) {
        await this.pause(failedTries, options.signal);
        continue;
      }
      throw errorFromResponse(action, res);
    }
  }

  /** Waits before the next try of a failed call; a stopping runner cuts it short (the call is then refused). */
  private pause(failedTries: number, signal: AbortSignal | undefined): Promise<void> {
    return sleep(backoffMs(this.retry, failedTries), signal);
  }

  /** Lets calls in flight finish, then closes the connections. */
  async close(): Promise<void> {
    await this.limiter.stop();
    await this.dispatcher.close();
  }

  /** Drops connections at once, calls in flight included (what a crash does; tests use it). */
  async destroy(): Promise<void> {
    await this.limiter.stop();
    await this.dispatcher.destroy();
  }
}
