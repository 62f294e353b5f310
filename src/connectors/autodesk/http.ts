/**
 * HTTP plumbing for the Autodesk connector: an explicit undici dispatcher (never the global one) with a bounded
 * pool and short timeouts, JSON bodies checked with zod, and errors classified as retryable or permanent.
 * Nothing here knows Autodesk's routes; that is `api.ts`.
 */
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { redact } from '../../util/log.js';

/** How often one failed call (or token request) is tried, and the backoff between tries. */
export interface RetryPolicy {
  tries: number;
  baseMs: number;
  maxMs: number;
}

export interface HttpTimeouts {
  /** @default 10_000 */
  connectTimeoutMs?: number;
  /** Time to the response headers. @default 30_000 */
  headersTimeoutMs?: number;
  /** Time between body chunks. @default 30_000 */
  bodyTimeoutMs?: number;
}

/** undici's defaults wait 300 s; a stuck Autodesk call must free its job much sooner. */
export function createDispatcher(connectionsPerOrigin: number, timeouts: HttpTimeouts = {}): Agent {
  return new Agent({
    connections: connectionsPerOrigin,
    connectTimeout: timeouts.connectTimeoutMs ?? 10_000,
    headersTimeout: timeouts.headersTimeoutMs ?? 30_000,
    bodyTimeout: timeouts.bodyTimeoutMs ?? 30_000,
    keepAliveTimeout: 10_000,
  });
}

/**
 * One failed Autodesk call. `retryable` covers 429, 5xx, network and timeouts; any other 4xx is permanent and
 * keeps the API's own message. Messages start with `autodesk: <action>:` and never carry credentials.
 */
export class AutodeskApiError extends Error {
  override readonly name = 'AutodeskApiError';
  constructor(
    message: string,
    readonly action: string,
    /** HTTP status, or null when no response arrived. */
    readonly status: number | null,
    readonly retryable: boolean,
    /** The API's error code (e.g. `conflict`, `invitation_pending`) when it sent one. */
    readonly code?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export type Headers = Record<string, string | string[] | undefined>;

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  body: unknown;
}

export interface HttpRequest {
  method: Dispatcher.HttpMethod;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export function header(headers: Headers, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** Sends one request; answers with any HTTP status, throws only when no response came back. */
export async function send(dispatcher: Dispatcher, action: string, req: HttpRequest): Promise<HttpResponse> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(req.url, { dispatcher, method: req.method, headers: req.headers, body: req.body });
  } catch (error) {
    throw networkError(action, error);
  }
  let text: string;
  try {
    text = await res.body.text();
  } catch (error) {
    throw networkError(action, error);
  }
  let body: unknown;
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { status: res.statusCode, headers: res.headers, body };
}

function networkError(action: string, error: unknown): AutodeskApiError {
  const timedOut =
    error instanceof undiciErrors.ConnectTimeoutError ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError;
  const code = (error as { code?: string }).code;
  const detail = timedOut ? 'timed out' : `network error${code ? ` ${code}` : ''}: ${error instanceof Error ? error.message : String(error)}`;
  return new AutodeskApiError(redact(`autodesk: ${action}: ${detail}`), action, null, true, code);
}

/** The API's error code and message from the shapes seen in the wild: `{error:{code,message}}`, OAuth's `{error,error_description}`, `{message}`. */
export function describeErrorBody(body: unknown): { code?: string; message?: string } {
  if (!body || typeof body !== 'object') return {};
  const record = body as Record<string, unknown>;
  const nested = record.error;
  if (nested && typeof nested === 'object') {
    const inner = nested as Record<string, unknown>;
    return { code: stringOrUndefined(inner.code), message: stringOrUndefined(inner.message) };
  }
  return {
    code: stringOrUndefined(nested) ?? stringOrUndefined(record.code),
    message: stringOrUndefined(record.error_description) ?? stringOrUndefined(record.message),
  };
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function errorFromResponse(action: string, res: HttpResponse, retryAfterMs?: number): AutodeskApiError {
  const { code, message } = describeErrorBody(res.body);
  const text = `autodesk: ${action}: HTTP ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  return new AutodeskApiError(redact(text), action, res.status, isRetryableStatus(res.status), code, retryAfterMs);
}

/** Validates a response body; unknown fields are tolerated, a missing or mistyped known field is an error. */
export function parseBody<T>(action: string, schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problem = result.error.issues[0];
  const where = problem?.path.length ? problem.path.join('.') : 'body';
  return invalid(action, `${where}: ${problem?.message ?? 'invalid'}`);
}

function invalid(action: string, detail: string): never {
  throw new AutodeskApiError(`autodesk: ${action}: unexpected response (${detail})`, action, null, false, 'unexpected_response');
}

/**
 * `Retry-After` as milliseconds from now: delta-seconds or an HTTP date. A date already past still waits a
 * second, because the header's one-second resolution can put "now" just before the server's reset.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.max(0, Math.round(Number(trimmed) * 1000));
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(1000, at - now);
}

/** Exponential from `baseMs`, capped at `maxMs`, with jitter over its upper half so retries of a burst spread out. */
export function backoffMs(policy: RetryPolicy, failedTries: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (failedTries - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
