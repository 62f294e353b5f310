/**
 * Every Autodesk API call goes through here: the shared limiter, a Bearer token from the shared source, one
 * retry with a fresh token after a 401, and 429s waited out in place while the wait is short.
 */
import type { Agent, Dispatcher } from 'undici';
import type { Db } from '../../db/connection.js';
import { RetryAt } from '../../jobs/errors.js';
import type { Logger } from '../../util/log.js';
import type { Clock } from '../../util/time.js';
import { createDispatcher, errorFromResponse, send, type HttpResponse, type HttpTimeouts } from './http.js';
import { RateLimiter } from './limiter.js';
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
}

export interface CallOptions {
  query?: Record<string, string | number>;
  body?: unknown;
  /** The job's signal: a stopping runner makes calls not yet sent throw RetryAt(now). Calls already sent finish. */
  signal?: AbortSignal;
}

export class AutodeskClient {
  readonly dispatcher: Agent;
  readonly tokens: TokenSource;
  readonly limiter: RateLimiter;
  private readonly baseUrl: string;
  private readonly clock: Clock;

  constructor(options: AutodeskClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.clock = options.clock;
    // One connection per concurrent call, plus one so a token renewal never waits behind API calls.
    this.dispatcher = createDispatcher(options.maxConcurrent + 1, options.timeouts);
    this.tokens = new TokenSource({ tokenUrl: options.tokenUrl, clientId: options.clientId, clientSecret: options.clientSecret, dispatcher: this.dispatcher, clock: options.clock });
    this.limiter = new RateLimiter({ db: options.db, clock: options.clock, log: options.log, perHour: options.perHour, maxConcurrent: options.maxConcurrent, longWaitMs: options.longWaitMs, pacingMs: options.pacingMs });
  }

  /** Answers 2xx responses; anything else throws AutodeskApiError (or RetryAt for a long rate-limit wait). */
  async call(action: string, method: Dispatcher.HttpMethod, path: string, options: CallOptions = {}): Promise<HttpResponse> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, String(value));
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let renewedToken = false;
    for (let rateLimited = 0; ; ) {
      const { res, token } = await this.limiter.run(options.signal, async () => {
        const token = await this.tokens.get();
        const res = await send(this.dispatcher, action, {
          method,
          url: url.toString(),
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body,
        });
        this.limiter.observe(res);
        return { res, token };
      });
      if (res.status === 401 && !renewedToken) {
        renewedToken = true;
        this.tokens.invalidate(token);
        continue;
      }
      if (res.status === 429) {
        if (++rateLimited < MAX_RATE_LIMITED_TRIES) continue;
        throw new RetryAt(Math.max(this.limiter.resumeAt(), this.clock.now() + 1000), `autodesk: ${action}: still rate limited after ${rateLimited} tries`);
      }
      if (res.status >= 200 && res.status < 300) return res;
      throw errorFromResponse(action, res);
    }
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
