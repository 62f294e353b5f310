/**
 * A local, stateful stand-in for the Autodesk user-management REST API, faithful to the seed guide
 * (shared/seeds/000_9fbe6e2c4983269c.txt): OAuth 2.0 client credentials, offset-paginated `/users`,
 * pending users until invitation acceptance, irreversible deactivation, team assignment, fixed-window
 * rate limits plus a concurrency cap, and lifecycle webhooks. Used by tests, the demo and the benchmarks.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const TOKEN_PATH = '/authentication/v2/token';
export const AUTODESK_SCOPES = ['user:read', 'user:write', 'organization:read'] as const;

export type UserStatus = 'active' | 'inactive' | 'pending';
export type UserRole = 'admin' | 'user' | 'viewer';
export type WebhookEventName =
  | 'user.created'
  | 'user.updated'
  | 'user.deactivated'
  | 'user.deleted'
  | 'user.invited'
  | 'user.accepted_invitation';

/** The user object exactly as the API returns it. */
export interface AutodeskUser {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  status: UserStatus;
  role: UserRole;
  createdAt: string;
  lastLogin: string | null;
  /** Present only once the user is inactive. */
  deactivatedAt?: string;
}

export interface SandboxTeamMembership {
  id: string;
  name: string;
  role: string;
  assignedAt: string;
}

export interface SandboxUserSnapshot extends AutodeskUser {
  teams: SandboxTeamMembership[];
}

export interface RecordedRequest {
  method: string;
  /** Path including the query string, e.g. `/users?limit=100&offset=0`. */
  path: string;
  status: number;
  /** `now()` in ms when the response was sent. */
  at: number;
  /** `now()` in ms when the request arrived: what pacing is about, without the jitter of answering. */
  receivedAt: number;
}

export interface RequestFilter {
  method?: string;
  pathPrefix?: string;
  status?: number;
}

export interface WebhookEvent {
  id: string;
  event: WebhookEventName;
  createdAt: string;
  data: AutodeskUser;
}

export interface WebhookDelivery {
  event: WebhookEventName;
  /** HTTP status of the receiver, or null when the delivery failed at the network level. */
  status: number | null;
  /** The exact bytes that were POSTed (and signed). */
  body: string;
  payload: WebhookEvent;
  /** `sha256=<hex>` when a secret is configured. */
  signature?: string;
  error?: string;
}

export interface AddUserInput {
  email: string;
  firstName?: string | null;
  lastName?: string | null;
  role?: UserRole;
  /** @default 'active' */
  status?: UserStatus;
  teams?: { teamId: string; role?: string }[];
}

export interface SeedUsersOptions {
  /** @default 'example.com' */
  domain?: string;
  /** @default 'active' */
  status?: UserStatus;
  /** Local-part prefix; emails look like `user0001@example.com`. @default 'user' */
  prefix?: string;
}

/** How the directory moves between two list pages (see `moveBetweenPages`). */
export interface DirectoryMove {
  /** Users deleted from the front of the listing order, as concurrent deletions of early accounts do. @default 0 */
  remove?: number;
  /** New users created (they list last). @default 0 */
  insert?: number;
  /** For this many list pages served. @default 1 */
  pages?: number;
}

export interface WaitForOptions {
  /** @default 5000 */
  timeoutMs?: number;
  /** Added to the timeout error so a failing test says what it was waiting for. */
  message?: string;
}

export interface AutodeskSandboxOptions {
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** @default 'sandbox-client' */
  clientId?: string;
  /** @default 'sandbox-secret' */
  clientSecret?: string;
  /** @default 3600 */
  tokenTtlSeconds?: number;
  /** Fixed-window budget shared by all API routes (Standard plan). @default 1000 */
  requestsPerWindow?: number;
  /** @default 3_600_000 */
  windowMs?: number;
  /** In-flight API requests beyond this get 429 with `Retry-After: 1`. @default 10 */
  maxConcurrent?: number;
  /** Added before every API response (not the token endpoint nor `/_sandbox`). @default 0 */
  latencyMs?: number;
  /** @default [{ id: 'team-789', name: 'Design Team' }] */
  teams?: { id: string; name: string }[];
  webhookUrl?: string;
  /** When set, deliveries carry `X-Autodesk-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. */
  webhookSecret?: string;
  /** @default 5000 */
  webhookTimeoutMs?: number;
  /** Send `X-RateLimit-*` headers; off lets tests prove the connector copes without them. @default true */
  rateLimitHeaders?: boolean;
  /** @default 'seconds' */
  retryAfterFormat?: 'seconds' | 'http-date';
  /** Require the guide's scopes (`user:read`, `user:write`, `organization:read`) on tokens. @default true */
  enforceScopes?: boolean;
  /** Clock for token expiry, rate windows and timestamps. Latency uses real timers. @default Date.now */
  now?: () => number;
}

export interface SandboxState {
  users: SandboxUserSnapshot[];
  teams: { id: string; name: string }[];
  tokenRequests: number;
  requestCount: number;
  maxInFlightSeen: number;
  inFlight: number;
  rateLimit: { limit: number; remaining: number; resetAt: string | null; windowMs: number };
  webhookDeliveries: number;
}

export interface AutodeskSandbox {
  /** Called after every recorded request or change; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  readonly baseUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly port: number;
  /** Every API request (token and `/_sandbox` excluded), 429s included, in response order. */
  readonly requests: readonly RecordedRequest[];
  readonly tokenRequests: number;
  readonly maxInFlightSeen: number;
  readonly webhookDeliveries: readonly WebhookDelivery[];
  users(): SandboxUserSnapshot[];
  userByEmail(email: string): SandboxUserSnapshot | undefined;
  addUser(input: AddUserInput): SandboxUserSnapshot;
  seedUsers(n: number, opts?: SeedUsersOptions): SandboxUserSnapshot[];
  accept(idOrEmail: string): SandboxUserSnapshot;
  /** An admin renames the account in the Admin Center (the API itself refuses e-mail changes): same id, new e-mail. */
  changeEmail(idOrEmail: string, newEmail: string): SandboxUserSnapshot;
  countRequests(filter?: RequestFilter): number;
  /** The next `count` API answers fail with `status`; `message` is the error text they carry (outside text the bot must not trust). */
  injectFailures(count: number, status?: number, message?: string): void;
  /**
   * Fault: right after each of the next `pages` list pages is served, the directory changes (users removed from
   * the front, new ones added), so an offset traversal skips or repeats rows exactly as with a busy tenant.
   */
  moveBetweenPages(move: DirectoryMove): void;
  /**
   * A steady fault rate: that fraction of API answers (and of token answers, `tokenRate`) is `status`, spread
   * evenly (every 5th at 0.2) so a test's numbers are the same on every run. 0 turns it off.
   */
  setFaults(faults: { rate: number; tokenRate?: number; status?: number }): void;
  /** While set, every API and token request is answered with this status (an outage); null ends it. */
  setOutage(status: number | null): void;
  setLatency(ms: number): void;
  setRateLimit(limit: { requestsPerWindow?: number; windowMs?: number }): void;
  setWebhookUrl(url: string | undefined): void;
  flushWebhooks(): Promise<void>;
  waitFor<T>(pick: (sandbox: AutodeskSandbox) => T | null | undefined | false, opts?: WaitForOptions): Promise<T>;
  state(): SandboxState;
  /** "METHOD /path" of the API requests being handled right now. */
  readonly inFlightPaths: ReadonlySet<string>;
  reset(): void;
  close(): Promise<void>;
}

/** A user as the fake stores it: the API's fields, with times as epoch ms. */
interface UserRecord extends Omit<AutodeskUser, 'createdAt' | 'lastLogin' | 'deactivatedAt'> {
  createdAtMs: number;
  lastLoginMs: number | null;
  deactivatedAtMs: number | null;
  teams: Map<string, { role: string; assignedAtMs: number }>;
}

type Json = Record<string, unknown>;
type Scope = (typeof AUTODESK_SCOPES)[number];

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const ROLES: readonly UserRole[] = ['admin', 'user', 'viewer'];
const STATUSES: readonly UserStatus[] = ['active', 'inactive', 'pending'];
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_BODY_BYTES = 1_000_000;
const READ_ONLY_FIELDS = ['id', 'createdAt', 'lastLogin', 'deactivatedAt'];

const iso = (ms: number): string => new Date(ms).toISOString();
const errorBody = (code: string, message: string): Json => ({ error: { code, message } });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'payload_too_large', 'Request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonObject(raw: string): Json {
  if (raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'invalid_request', 'Malformed JSON body');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_request', 'Request body must be a JSON object');
  }
  return value as Json;
}

function optionalName(body: Json, field: 'firstName' | 'lastName'): string | null | undefined {
  const v = body[field];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'string') throw new HttpError(400, 'invalid_request', `${field} must be a string`);
  return v;
}

function parseRole(v: unknown): UserRole {
  if (typeof v !== 'string' || !(ROLES as readonly string[]).includes(v)) {
    throw new HttpError(400, 'invalid_request', `role must be one of ${ROLES.join(', ')}`);
  }
  return v as UserRole;
}

function parseBasic(header: string | undefined): { id: string; secret: string } | null {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  if (sep < 0) return null;
  return { id: decoded.slice(0, sep), secret: decoded.slice(sep + 1) };
}

function parsePagingParam(raw: string | null, name: string, fallback: number, min: number, max: number): number {
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, 'invalid_request', `${name} must be an integer`);
  const n = Number(raw);
  if (n < min || n > max) throw new HttpError(400, 'invalid_request', `${name} must be between ${min} and ${max}`);
  return n;
}

class AutodeskSandboxImpl implements AutodeskSandbox {
  readonly clientId: string;
  readonly clientSecret: string;
  baseUrl = '';
  tokenUrl = '';
  port = 0;

  private readonly server: Server;
  private readonly opts: AutodeskSandboxOptions;
  private readonly now: () => number;
  private readonly tokenTtlSeconds: number;
  private readonly maxConcurrent: number;
  private readonly rateLimitHeaders: boolean;
  private readonly retryAfterFormat: 'seconds' | 'http-date';
  private readonly enforceScopes: boolean;
  private readonly webhookSecret: string | undefined;
  private readonly webhookTimeoutMs: number;
  private readonly teams: Map<string, string>;
  private readonly events = new EventEmitter();
  private readonly tokens = new Map<string, { expiresAtMs: number; scopes: Set<string> }>();
  private readonly abort = new AbortController();

  private usersById = new Map<string, UserRecord>();
  private lastCreatedMs = 0;
  private seedCounter = 0;
  private requestLog: RecordedRequest[] = [];
  private deliveries: WebhookDelivery[] = [];
  private webhookChain: Promise<void> = Promise.resolve();
  private webhookUrl: string | undefined;
  private latencyMs: number;
  private requestsPerWindow: number;
  private windowMs: number;
  private windowStartMs: number | null = null;
  private windowUsed = 0;
  private failuresLeft = 0;
  private pendingMove: Required<DirectoryMove> | undefined;
  private failureStatus = 503;
  private failureMessage = 'Injected failure';
  private faults = { rate: 0, tokenRate: 0, status: 503, apiSeen: 0, tokenSeen: 0 };
  private outageStatus: number | null = null;
  private inFlight = 0;
  /** "METHOD /path" of the requests being handled now. */
  readonly inFlightPaths = new Set<string>();
  tokenRequests = 0;
  maxInFlightSeen = 0;

  constructor(opts: AutodeskSandboxOptions) {
    this.opts = opts;
    this.clientId = opts.clientId ?? 'sandbox-client';
    this.clientSecret = opts.clientSecret ?? 'sandbox-secret';
    this.now = opts.now ?? Date.now;
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 3600;
    this.maxConcurrent = opts.maxConcurrent ?? 10;
    this.rateLimitHeaders = opts.rateLimitHeaders ?? true;
    this.retryAfterFormat = opts.retryAfterFormat ?? 'seconds';
    this.enforceScopes = opts.enforceScopes ?? true;
    this.webhookSecret = opts.webhookSecret;
    this.webhookTimeoutMs = opts.webhookTimeoutMs ?? 5000;
    this.teams = new Map((opts.teams ?? [{ id: 'team-789', name: 'Design Team' }]).map((t) => [t.id, t.name]));
    this.webhookUrl = opts.webhookUrl;
    this.latencyMs = opts.latencyMs ?? 0;
    this.requestsPerWindow = opts.requestsPerWindow ?? 1000;
    this.windowMs = opts.windowMs ?? 3_600_000;
    // Many concurrent waitFor() calls are normal in tests.
    this.events.setMaxListeners(0);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.send(res, 500, errorBody('internal_error', String(err)));
      });
    });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    this.tokenUrl = `${this.baseUrl}${TOKEN_PATH}`;
  }

  get requests(): readonly RecordedRequest[] {
    return this.requestLog;
  }

  get webhookDeliveries(): readonly WebhookDelivery[] {
    return this.deliveries;
  }

  // ---------------------------------------------------------------- HTTP plumbing

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private changed(): void {
    this.events.emit('change');
  }

  /** Calls `listener` after anything is recorded (the demo prints a live transcript from it); returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    if (url.pathname === TOKEN_PATH) return this.handleToken(req, res);
    if (url.pathname === '/_sandbox' || url.pathname.startsWith('/_sandbox/')) return this.handleControl(req, res, url);
    return this.handleApi(req, res, url);
  }

  // ---------------------------------------------------------------- OAuth token endpoint

  private async handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.tokenRequests++;
    this.changed();
    const oauthError = (status: number, error: string, description: string, headers: Record<string, string> = {}) =>
      this.send(res, status, { error, error_description: description }, { 'Cache-Control': 'no-store', ...headers });
    if (req.method !== 'POST') return this.send(res, 405, errorBody('method_not_allowed', 'Use POST'), { Allow: 'POST' });
    const raw = await readBody(req);
    const fault = this.outageStatus ?? (this.faultDue('token') ? this.faults.status : null);
    if (fault !== null) return oauthError(fault, 'temporarily_unavailable', 'Injected failure');
    const creds = parseBasic(req.headers.authorization);
    if (!creds || creds.id !== this.clientId || creds.secret !== this.clientSecret) {
      return oauthError(401, 'invalid_client', 'Client authentication failed', { 'WWW-Authenticate': 'Basic' });
    }
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'Body must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(raw);
    const grant = form.get('grant_type');
    if (grant === null) return oauthError(400, 'invalid_request', 'grant_type is required');
    if (grant !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', `Unsupported grant_type ${grant}`);
    const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (this.enforceScopes) {
      if (scopes.length === 0) return oauthError(400, 'invalid_scope', 'scope is required');
      const unknown = scopes.filter((s) => !(AUTODESK_SCOPES as readonly string[]).includes(s));
      if (unknown.length > 0) return oauthError(400, 'invalid_scope', `Unknown scope ${unknown.join(' ')}`);
    }
    const token = `sbx_${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { expiresAtMs: this.now() + this.tokenTtlSeconds * 1000, scopes: new Set(scopes) });
    this.send(
      res,
      200,
      { access_token: token, token_type: 'Bearer', expires_in: this.tokenTtlSeconds },
      { 'Cache-Control': 'no-store' },
    );
  }

  // ---------------------------------------------------------------- API routes

  private async handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname + url.search;
    const receivedAt = this.now();
    this.inFlight++;
    this.maxInFlightSeen = Math.max(this.maxInFlightSeen, this.inFlight);
    // Announced so a test can act while a call is in flight (e.g. stop the bot mid-request).
    this.inFlightPaths.add(`${method} ${path}`);
    this.changed();
    res.once('close', () => {
      this.inFlight--;
      this.inFlightPaths.delete(`${method} ${path}`);
    });
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.send(res, status, body, headers);
      this.requestLog.push({ method, path, status, at: this.now(), receivedAt });
      this.changed();
    };

    // The plan's concurrency cap: answered at once, without latency, and without spending budget.
    if (this.inFlight > this.maxConcurrent) {
      return reply(429, errorBody('too_many_requests', `More than ${this.maxConcurrent} concurrent requests`), {
        'Retry-After': this.formatRetryAfter(this.now() + 1000),
        ...this.currentRateHeaders(),
      });
    }

    let raw: string;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof HttpError) return reply(err.status, errorBody(err.code, err.message));
      throw err;
    }
    if (this.latencyMs > 0) await this.sleep(this.latencyMs);

    const fault = this.outageStatus ?? (this.faultDue('api') ? this.faults.status : null);
    if (fault !== null) return reply(fault, errorBody('service_unavailable', 'Injected failure'));

    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      const status = this.failureStatus;
      const headers: Record<string, string> =
        status === 429 ? { 'Retry-After': this.formatRetryAfter(this.now() + 1000) } : {};
      return reply(status, errorBody(status === 429 ? 'too_many_requests' : 'service_unavailable', this.failureMessage), headers);
    }

    const token = this.authenticate(req.headers.authorization);
    if (!token) {
      return reply(401, errorBody('invalid_token', 'The access token is missing, invalid or expired'), {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    }

    const budget = this.consumeBudget();
    if (!budget.allowed) {
      const headers: Record<string, string> = { 'Retry-After': this.formatRetryAfter(budget.resetAtMs) };
      if (this.rateLimitHeaders) {
        Object.assign(headers, {
          'X-RateLimit-Limit': String(this.requestsPerWindow),
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(Math.ceil(budget.resetAtMs / 1000)),
        });
      }
      return reply(429, errorBody('rate_limit_exceeded', 'Rate limit exceeded'), headers);
    }
    const rateHeaders = this.currentRateHeaders();

    try {
      const { status, body } = this.route(method, url, raw, token.scopes);
      reply(status, body, rateHeaders);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      const extra: Record<string, string> = err.status === 405 ? { Allow: err.message.replace(/^Allowed: /, '') } : {};
      reply(err.status, errorBody(err.code, err.message), { ...rateHeaders, ...extra });
    }
  }

  private authenticate(header: string | undefined): { scopes: Set<string> } | null {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    const entry = m?.[1] ? this.tokens.get(m[1]) : undefined;
    if (!entry) return null;
    if (this.now() >= entry.expiresAtMs) return null;
    return entry;
  }

  private consumeBudget(): { allowed: boolean; resetAtMs: number } {
    const now = this.now();
    if (this.windowStartMs === null || now >= this.windowStartMs + this.windowMs) {
      this.windowStartMs = now;
      this.windowUsed = 0;
    }
    const resetAtMs = this.windowStartMs + this.windowMs;
    if (this.windowUsed >= this.requestsPerWindow) return { allowed: false, resetAtMs };
    this.windowUsed++;
    return { allowed: true, resetAtMs };
  }

  private windowSnapshot(): { remaining: number; resetAtMs: number | null } {
    const now = this.now();
    if (this.windowStartMs === null || now >= this.windowStartMs + this.windowMs) {
      return { remaining: this.requestsPerWindow, resetAtMs: null };
    }
    return {
      remaining: Math.max(0, this.requestsPerWindow - this.windowUsed),
      resetAtMs: this.windowStartMs + this.windowMs,
    };
  }

  private currentRateHeaders(): Record<string, string> {
    if (!this.rateLimitHeaders) return {};
    const { remaining, resetAtMs } = this.windowSnapshot();
    return {
      'X-RateLimit-Limit': String(this.requestsPerWindow),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': String(Math.ceil((resetAtMs ?? this.now() + this.windowMs) / 1000)),
    };
  }

  private formatRetryAfter(resetAtMs: number): string {
    const now = this.now();
    const seconds = Math.max(1, Math.ceil((resetAtMs - now) / 1000));
    return this.retryAfterFormat === 'http-date' ? new Date(now + seconds * 1000).toUTCString() : String(seconds);
  }

  private sleep(ms: number): Promise<void> {
    // unref: a pending latency timer must never keep the process alive after close().
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }

  private requireScope(scopes: Set<string>, ...anyOf: Scope[]): void {
    if (!this.enforceScopes || anyOf.some((s) => scopes.has(s))) return;
    throw new HttpError(403, 'insufficient_scope', `Token lacks scope ${anyOf.join(' or ')}`);
  }

  private route(method: string, url: URL, raw: string, scopes: Set<string>): { status: number; body: unknown } {
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'users' || parts.length > 3 || (parts.length === 3 && parts[2] !== 'teams')) {
      throw new HttpError(404, 'not_found', `No route for ${method} ${url.pathname}`);
    }
    const notAllowed = (allowed: string) => new HttpError(405, 'method_not_allowed', `Allowed: ${allowed}`);
    if (parts.length === 1) {
      if (method === 'GET') {
        this.requireScope(scopes, 'user:read');
        return this.listUsers(url.searchParams);
      }
      if (method === 'POST') {
        this.requireScope(scopes, 'user:write');
        return this.createUser(parseJsonObject(raw));
      }
      throw notAllowed('GET, POST');
    }
    let id: string;
    try {
      id = decodeURIComponent(parts[1] ?? '');
    } catch {
      throw new HttpError(404, 'not_found', 'User not found');
    }
    if (parts.length === 2) {
      if (method === 'GET') {
        this.requireScope(scopes, 'user:read');
        return { status: 200, body: this.toPublic(this.mustFind(id)) };
      }
      if (method === 'PATCH') {
        this.requireScope(scopes, 'user:write');
        return this.patchUser(id, parseJsonObject(raw));
      }
      if (method === 'DELETE') {
        this.requireScope(scopes, 'user:write');
        return this.deleteUser(id);
      }
      throw notAllowed('GET, PATCH, DELETE');
    }
    if (method === 'GET') {
      this.requireScope(scopes, 'user:read', 'organization:read');
      const user = this.mustFind(id);
      return {
        status: 200,
        body: { data: [...user.teams].map(([teamId, m]) => ({ id: teamId, name: this.teams.get(teamId) ?? teamId, role: m.role })) },
      };
    }
    if (method === 'POST') {
      this.requireScope(scopes, 'user:write');
      return this.assignTeam(id, parseJsonObject(raw));
    }
    throw notAllowed('GET, POST');
  }

  private mustFind(id: string): UserRecord {
    // Map lookup is exact, so ids are case-sensitive as the guide warns.
    const user = this.usersById.get(id);
    if (!user) throw new HttpError(404, 'not_found', 'User not found');
    return user;
  }

  private sortedUsers(): UserRecord[] {
    return [...this.usersById.values()].sort((a, b) =>
      a.createdAtMs !== b.createdAtMs ? a.createdAtMs - b.createdAtMs : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
  }

  private listUsers(params: URLSearchParams): { status: number; body: unknown } {
    // Unknown params (e.g. `email=`) are ignored on purpose: the guide documents no filter.
    const limit = parsePagingParam(params.get('limit'), 'limit', 20, 1, 100);
    const offset = parsePagingParam(params.get('offset'), 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const all = this.sortedUsers();
    const answer = {
      status: 200,
      body: {
        data: all.slice(offset, offset + limit).map((u) => this.toPublic(u)),
        pagination: { total: all.length, limit, offset },
      },
    };
    this.applyMove();
    return answer;
  }

  private applyMove(): void {
    const move = this.pendingMove;
    if (!move) return;
    if (--move.pages <= 0) this.pendingMove = undefined;
    for (const user of this.sortedUsers().slice(0, move.remove)) this.usersById.delete(user.id);
    for (let i = 0; i < move.insert; i++) this.seedUsers(1, { prefix: 'moved' });
    this.changed();
  }

  private findByEmail(email: string): UserRecord | undefined {
    const needle = email.toLowerCase();
    for (const u of this.usersById.values()) if (u.email.toLowerCase() === needle) return u;
    return undefined;
  }

  private nextCreatedMs(): number {
    // Strictly increasing, so createdAt order equals creation order even within one millisecond.
    this.lastCreatedMs = Math.max(this.now(), this.lastCreatedMs + 1);
    return this.lastCreatedMs;
  }

  private createUser(body: Json): { status: number; body: unknown } {
    for (const f of READ_ONLY_FIELDS) {
      if (f in body) throw new HttpError(400, 'invalid_request', `${f} is read-only`);
    }
    const email = body.email;
    if (email === undefined || email === null || email === '') throw new HttpError(400, 'invalid_request', 'email is required');
    if (typeof email !== 'string' || email.length > 254 || !EMAIL_RE.test(email)) {
      throw new HttpError(400, 'invalid_request', 'email is not a valid email address');
    }
    const firstName = optionalName(body, 'firstName') ?? null;
    const lastName = optionalName(body, 'lastName') ?? null;
    const role = body.role === undefined ? 'user' : parseRole(body.role);
    if (body.status !== undefined && body.status !== 'pending') {
      throw new HttpError(400, 'invalid_request', 'New users start in pending status until they accept the invitation');
    }
    if (this.findByEmail(email)) throw new HttpError(409, 'conflict', 'User with this email already exists');
    const user: UserRecord = {
      id: randomUUID(),
      email, // kept in the caller's casing; uniqueness is case-insensitive
      firstName,
      lastName,
      status: 'pending',
      role,
      createdAtMs: this.nextCreatedMs(),
      lastLoginMs: null,
      deactivatedAtMs: null,
      teams: new Map(),
    };
    this.usersById.set(user.id, user);
    this.emitWebhook('user.created', user);
    this.emitWebhook('user.invited', user);
    return { status: 201, body: this.toPublic(user) };
  }

  private patchUser(id: string, body: Json): { status: number; body: unknown } {
    const user = this.mustFind(id);
    if ('email' in body) throw new HttpError(400, 'invalid_request', 'Cannot update email via PATCH');
    for (const f of READ_ONLY_FIELDS) {
      if (f in body) throw new HttpError(400, 'invalid_request', `${f} is read-only`);
    }
    const known = ['firstName', 'lastName', 'role', 'status'];
    const unknown = Object.keys(body).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new HttpError(400, 'invalid_request', `Unknown field(s): ${unknown.join(', ')}`);
    if (Object.keys(body).length === 0) throw new HttpError(400, 'invalid_request', 'No fields to update');

    // Validate everything before mutating, so a rejected PATCH changes nothing.
    const firstName = optionalName(body, 'firstName');
    const lastName = optionalName(body, 'lastName');
    const role = body.role === undefined ? undefined : parseRole(body.role);
    let status: UserStatus | undefined;
    if (body.status !== undefined) {
      if (typeof body.status !== 'string' || !(STATUSES as readonly string[]).includes(body.status)) {
        throw new HttpError(400, 'invalid_request', `status must be one of ${STATUSES.join(', ')}`);
      }
      status = body.status as UserStatus;
      if (user.status === 'inactive' && status !== 'inactive') {
        throw new HttpError(
          409,
          'reactivation_not_supported',
          'Deactivated users cannot be reactivated via the API; reactivation requires an Autodesk support case',
        );
      }
      if (user.status === 'pending' && status === 'active') {
        throw new HttpError(400, 'invalid_request', 'User must accept the invitation before becoming active');
      }
      if (user.status === 'active' && status === 'pending') {
        throw new HttpError(400, 'invalid_request', 'An active user cannot be set back to pending');
      }
    }

    let updated = false;
    if (firstName !== undefined && firstName !== user.firstName) {
      user.firstName = firstName;
      updated = true;
    }
    if (lastName !== undefined && lastName !== user.lastName) {
      user.lastName = lastName;
      updated = true;
    }
    if (role !== undefined && role !== user.role) {
      user.role = role;
      updated = true;
    }
    const deactivated = status === 'inactive' && user.status !== 'inactive';
    if (deactivated) {
      user.status = 'inactive';
      user.deactivatedAtMs = this.now();
    }
    if (updated) this.emitWebhook('user.updated', user);
    if (deactivated) this.emitWebhook('user.deactivated', user);
    if (updated || deactivated) this.changed();
    return { status: 200, body: this.toPublic(user) };
  }

  private deleteUser(id: string): { status: number; body: unknown } {
    const user = this.mustFind(id);
    this.usersById.delete(id);
    this.emitWebhook('user.deleted', user);
    this.changed();
    return { status: 200, body: { success: true, message: 'User deleted' } };
  }

  private assignTeam(id: string, body: Json): { status: number; body: unknown } {
    const user = this.mustFind(id);
    const teamId = body.teamId;
    if (typeof teamId !== 'string' || teamId === '') throw new HttpError(400, 'invalid_request', 'teamId is required');
    const role = body.role ?? 'member';
    if (typeof role !== 'string' || role === '') throw new HttpError(400, 'invalid_request', 'role must be a non-empty string');
    if (!this.teams.has(teamId)) throw new HttpError(404, 'not_found', 'Team not found');
    if (user.status === 'pending') {
      throw new HttpError(409, 'invitation_pending', 'User must accept the invitation before team assignment');
    }
    if (user.status === 'inactive') throw new HttpError(400, 'user_inactive', 'Cannot assign an inactive user to a team');
    if (user.teams.has(teamId)) throw new HttpError(409, 'conflict', 'User is already a member of this team');
    const assignedAtMs = this.now();
    user.teams.set(teamId, { role, assignedAtMs });
    this.changed();
    return { status: 201, body: { userId: user.id, teamId, role, assignedAt: iso(assignedAtMs) } };
  }

  // ---------------------------------------------------------------- /_sandbox controls

  private async handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const path = url.pathname;
    try {
      if (path === '/_sandbox/reset' && method === 'POST') {
        this.reset();
        return this.send(res, 200, { ok: true });
      }
      if (path === '/_sandbox/state' && method === 'GET') return this.send(res, 200, this.state());
      if (path === '/_sandbox/users' && method === 'POST') {
        const body = parseJsonObject(raw) as unknown as AddUserInput;
        return this.send(res, 201, this.addUser(body));
      }
      const m = /^\/_sandbox\/users\/([^/]+)\/accept$/.exec(path);
      if (m?.[1] && method === 'POST') {
        const key = decodeURIComponent(m[1]);
        if (!this.usersById.has(key) && !this.findByEmail(key)) throw new HttpError(404, 'not_found', 'User not found');
        return this.send(res, 200, this.accept(key));
      }
      throw new HttpError(404, 'not_found', `No sandbox control ${method} ${path}`);
    } catch (err) {
      if (err instanceof HttpError) return this.send(res, err.status, errorBody(err.code, err.message));
      return this.send(res, 409, errorBody('conflict', err instanceof Error ? err.message : String(err)));
    }
  }

  // ---------------------------------------------------------------- webhooks

  private emitWebhook(event: WebhookEventName, user: UserRecord): void {
    const url = this.webhookUrl;
    if (!url) return;
    const payload: WebhookEvent = { id: `evt-${randomUUID()}`, event, createdAt: iso(this.now()), data: this.toPublic(user) };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Autodesk-Event': event };
    let signature: string | undefined;
    if (this.webhookSecret) {
      signature = `sha256=${createHmac('sha256', this.webhookSecret).update(body).digest('hex')}`;
      headers['X-Autodesk-Signature'] = signature;
    }
    // Chained so a receiver sees events in the order they happened.
    this.webhookChain = this.webhookChain.then(async () => {
      const delivery: WebhookDelivery = { event, status: null, body, payload, ...(signature ? { signature } : {}) };
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.webhookTimeoutMs)]),
        });
        delivery.status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        delivery.error = err instanceof Error ? err.message : String(err);
      }
      this.deliveries.push(delivery);
      this.changed();
    });
  }

  async flushWebhooks(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.webhookChain;
      await chain;
    } while (chain !== this.webhookChain);
  }

  setWebhookUrl(url: string | undefined): void {
    this.webhookUrl = url;
  }

  // ---------------------------------------------------------------- programmatic controls

  private toPublic(u: UserRecord): AutodeskUser {
    const out: AutodeskUser = {
      id: u.id,
      email: u.email,
      firstName: u.firstName,
      lastName: u.lastName,
      status: u.status,
      role: u.role,
      createdAt: iso(u.createdAtMs),
      lastLogin: u.lastLoginMs === null ? null : iso(u.lastLoginMs),
    };
    if (u.deactivatedAtMs !== null) out.deactivatedAt = iso(u.deactivatedAtMs);
    return out;
  }

  private toSnapshot(u: UserRecord): SandboxUserSnapshot {
    return {
      ...this.toPublic(u),
      teams: [...u.teams].map(([id, m]) => ({
        id,
        name: this.teams.get(id) ?? id,
        role: m.role,
        assignedAt: iso(m.assignedAtMs),
      })),
    };
  }

  users(): SandboxUserSnapshot[] {
    return this.sortedUsers().map((u) => this.toSnapshot(u));
  }

  userByEmail(email: string): SandboxUserSnapshot | undefined {
    const u = this.findByEmail(email);
    return u ? this.toSnapshot(u) : undefined;
  }

  addUser(input: AddUserInput): SandboxUserSnapshot {
    if (typeof input.email !== 'string' || !EMAIL_RE.test(input.email)) {
      throw new Error(`Autodesk sandbox: invalid email ${JSON.stringify(input.email)}`);
    }
    if (this.findByEmail(input.email)) throw new Error(`Autodesk sandbox: user ${input.email} already exists`);
    const status = input.status ?? 'active';
    if (!STATUSES.includes(status)) throw new Error(`Autodesk sandbox: invalid status ${status}`);
    const role = input.role ?? 'user';
    if (!ROLES.includes(role)) throw new Error(`Autodesk sandbox: invalid role ${role}`);
    const createdAtMs = this.nextCreatedMs();
    const user: UserRecord = {
      id: randomUUID(),
      email: input.email,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      status,
      role,
      createdAtMs,
      lastLoginMs: status === 'pending' ? null : createdAtMs,
      deactivatedAtMs: status === 'inactive' ? createdAtMs : null,
      teams: new Map(),
    };
    for (const t of input.teams ?? []) {
      if (!this.teams.has(t.teamId)) throw new Error(`Autodesk sandbox: unknown team ${t.teamId}`);
      user.teams.set(t.teamId, { role: t.role ?? 'member', assignedAtMs: createdAtMs });
    }
    this.usersById.set(user.id, user);
    this.changed();
    return this.toSnapshot(user);
  }

  seedUsers(n: number, opts: SeedUsersOptions = {}): SandboxUserSnapshot[] {
    const domain = opts.domain ?? 'example.com';
    const prefix = opts.prefix ?? 'user';
    const out: SandboxUserSnapshot[] = [];
    for (let i = 0; i < n; i++) {
      const k = ++this.seedCounter;
      const num = String(k).padStart(4, '0');
      out.push(
        this.addUser({
          email: `${prefix}${num}@${domain}`,
          firstName: 'Seed',
          lastName: `User ${num}`,
          status: opts.status ?? 'active',
        }),
      );
    }
    return out;
  }

  accept(idOrEmail: string): SandboxUserSnapshot {
    const user = this.usersById.get(idOrEmail) ?? this.findByEmail(idOrEmail);
    if (!user) throw new Error(`Autodesk sandbox: no user ${idOrEmail}`);
    if (user.status === 'inactive') throw new Error(`Autodesk sandbox: ${user.email} is inactive and cannot accept an invitation`);
    if (user.status === 'pending') {
      user.status = 'active';
      user.lastLoginMs = this.now();
      this.emitWebhook('user.accepted_invitation', user);
      this.changed();
    }
    return this.toSnapshot(user);
  }

  changeEmail(idOrEmail: string, newEmail: string): SandboxUserSnapshot {
    const user = this.usersById.get(idOrEmail) ?? this.findByEmail(idOrEmail);
    if (!user) throw new Error(`Autodesk sandbox: no user ${idOrEmail}`);
    if (!EMAIL_RE.test(newEmail)) throw new Error(`Autodesk sandbox: invalid email ${JSON.stringify(newEmail)}`);
    const taken = this.findByEmail(newEmail);
    if (taken && taken !== user) throw new Error(`Autodesk sandbox: user ${newEmail} already exists`);
    user.email = newEmail;
    this.changed();
    return this.toSnapshot(user);
  }

  countRequests(filter: RequestFilter = {}): number {
    return this.requestLog.filter(
      (r) =>
        (filter.method === undefined || r.method === filter.method.toUpperCase()) &&
        (filter.pathPrefix === undefined || r.path.startsWith(filter.pathPrefix)) &&
        (filter.status === undefined || r.status === filter.status),
    ).length;
  }

  moveBetweenPages(move: DirectoryMove): void {
    this.pendingMove = { remove: move.remove ?? 0, insert: move.insert ?? 0, pages: move.pages ?? 1 };
  }

  injectFailures(count: number, status = 503, message = 'Injected failure'): void {
    this.failuresLeft = count;
    this.failureStatus = status;
    this.failureMessage = message;
  }

  setFaults(faults: { rate: number; tokenRate?: number; status?: number }): void {
    this.faults = { rate: faults.rate, tokenRate: faults.tokenRate ?? 0, status: faults.status ?? 503, apiSeen: 0, tokenSeen: 0 };
  }

  setOutage(status: number | null): void {
    this.outageStatus = status;
  }

  /** Whether this request is one of the steady faults: the n-th fails when rate*n passes a whole number. */
  private faultDue(kind: 'api' | 'token'): boolean {
    const rate = kind === 'api' ? this.faults.rate : this.faults.tokenRate;
    if (rate <= 0) return false;
    const n = kind === 'api' ? ++this.faults.apiSeen : ++this.faults.tokenSeen;
    return Math.floor(n * rate + 1e-9) > Math.floor((n - 1) * rate + 1e-9);
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  setRateLimit(limit: { requestsPerWindow?: number; windowMs?: number }): void {
    if (limit.requestsPerWindow !== undefined) this.requestsPerWindow = limit.requestsPerWindow;
    if (limit.windowMs !== undefined) this.windowMs = limit.windowMs;
    this.windowStartMs = null;
    this.windowUsed = 0;
  }

  waitFor<T>(pick: (sandbox: AutodeskSandbox) => T | null | undefined | false, opts: WaitForOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('change', check);
      };
      const check = () => {
        let value: T | null | undefined | false;
        try {
          value = pick(this);
        } catch (err) {
          cleanup();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (value !== undefined && value !== null && value !== false) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const recent = this.requestLog
          .slice(-5)
          .map((r) => `${r.method} ${r.path} ${r.status}`)
          .join('; ');
        reject(
          new Error(
            `Autodesk sandbox: waitFor timed out after ${timeoutMs} ms${opts.message ? ` waiting for ${opts.message}` : ''} ` +
              `(${this.usersById.size} users, ${this.requestLog.length} requests; last: ${recent || 'none'})`,
          ),
        );
      }, timeoutMs);
      this.events.on('change', check);
      check();
    });
  }

  state(): SandboxState {
    const { remaining, resetAtMs } = this.windowSnapshot();
    return {
      users: this.users(),
      teams: [...this.teams].map(([id, name]) => ({ id, name })),
      tokenRequests: this.tokenRequests,
      requestCount: this.requestLog.length,
      maxInFlightSeen: this.maxInFlightSeen,
      inFlight: this.inFlight,
      rateLimit: {
        limit: this.requestsPerWindow,
        remaining,
        resetAt: resetAtMs === null ? null : iso(resetAtMs),
        windowMs: this.windowMs,
      },
      webhookDeliveries: this.deliveries.length,
    };
  }

  reset(): void {
    // Issued tokens stay valid so a client holding one is not surprised by a reset between scenarios.
    this.usersById = new Map();
    this.requestLog = [];
    this.deliveries = [];
    this.tokenRequests = 0;
    this.maxInFlightSeen = this.inFlight;
    this.failuresLeft = 0;
    this.pendingMove = undefined;
    this.faults = { rate: 0, tokenRate: 0, status: 503, apiSeen: 0, tokenSeen: 0 };
    this.outageStatus = null;
    this.seedCounter = 0;
    this.latencyMs = this.opts.latencyMs ?? 0;
    this.requestsPerWindow = this.opts.requestsPerWindow ?? 1000;
    this.windowMs = this.opts.windowMs ?? 3_600_000;
    this.windowStartMs = null;
    this.windowUsed = 0;
    this.webhookUrl = this.opts.webhookUrl;
    this.changed();
  }

  async close(): Promise<void> {
    this.abort.abort();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.events.removeAllListeners();
  }
}

/** Starts the sandbox on 127.0.0.1; resolves once it is listening. */
export async function startAutodeskSandbox(opts: AutodeskSandboxOptions = {}): Promise<AutodeskSandbox> {
  const sandbox = new AutodeskSandboxImpl(opts);
  await sandbox.listen(opts.port ?? 0);
  return sandbox;
}
