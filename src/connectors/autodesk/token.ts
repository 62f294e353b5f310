/**
 * OAuth 2.0 client credentials: one cached token for the whole connector, renewed shortly before it expires,
 * and fetched single-flight so a burst of callers causes one token request.
 */
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import type { Clock } from '../../util/time.js';
import { AutodeskApiError, backoffMs, errorFromResponse, parseBody, send, sleep, type RetryPolicy } from './http.js';

/** The guide's scopes: read and write users, read teams. */
export const AUTODESK_SCOPES = ['user:read', 'user:write', 'organization:read'] as const;

const tokenSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
  token_type: z.string().optional(),
});

export interface TokenSourceOptions {
  tokenUrl: string;
  clientId: string | undefined;
  clientSecret: string | undefined;
  dispatcher: Dispatcher;
  clock: Clock;
  scopes?: readonly string[];
  /** Transient token errors (5xx, timeouts, resets) are tried again this way. @default one try */
  retry?: RetryPolicy;
}

export class TokenSource {
  private cached: { token: string; renewAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  /** Token requests made by this process (tests and metrics). */
  fetched = 0;

  constructor(private readonly options: TokenSourceOptions) {}

  async get(): Promise<string> {
    if (this.cached && this.options.clock.now() < this.cached.renewAt) return this.cached.token;
    // Shared by every caller until it settles; never tied to one caller's abort signal.
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Forget a token the API refused; a token already replaced by another caller is left alone. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  /** A token endpoint that fails now and then must not fail the call that needed the token. */
  private async fetch(): Promise<string> {
    const tries = this.options.retry?.tries ?? 1;
    for (let failed = 1; ; failed++) {
      try {
        return await this.fetchOnce();
      } catch (error) {
        if (!(error instanceof AutodeskApiError && error.retryable) || failed >= tries) throw error;
        await sleep(backoffMs(this.options.retry!, failed), undefined);
      }
    }
  }

  private async fetchOnce(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, dispatcher, clock } = this.options;
    const action = 'get token';
    if (!clientId || !clientSecret) {
      throw new AutodeskApiError(`autodesk: ${action}: AUTODESK_CLIENT_ID and AUTODESK_CLIENT_SECRET are not set`, action, null, false, 'not_configured');
    }
    this.fetched++;
    const requestedAt = clock.now();
    const res = await send(dispatcher, action, {
      method: 'POST',
      url: tokenUrl,
      headers: {
        // Autodesk expects base64(id:secret) as is, without the form-encoding RFC 6749 mentions.
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: (this.options.scopes ?? AUTODESK_SCOPES).join(' ') }).toString(),
    });
    if (res.status < 200 || res.status >= 300) throw errorFromResponse(action, res);
    const body = parseBody(action, tokenSchema, res.body);
    const ttlMs = body.expires_in * 1000;
    // Renew a minute early, or a tenth of the lifetime for short-lived tokens, measured from the request.
    const margin = Math.min(60_000, ttlMs / 10);
    this.cached = { token: body.access_token, renewAt: requestedAt + ttlMs - margin };
    return body.access_token;
  }
}
