/**
 * A local, stateful stand-in for the Slack Web API, served over real HTTP so the bot's own WebClient talks
 * to it unchanged (`slackApiUrl: sandbox.apiUrl`). It keeps Slack's response shapes, error codes and
 * Block Kit limits, records every call, and lets tests await the bot's asynchronous behaviour through
 * `waitFor`, which is woken by each recorded change instead of polling. Used by tests and `npm run demo`.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SocketModeLink } from './socket-mode.js';

/** Slack JSON (blocks, views, payloads) is open-ended; tests index into it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Slack's wire JSON, read by the fake as Slack would: loosely.
export type SlackObject = Record<string, any>;

export interface SandboxUser {
  id: string;
  name: string;
  realName?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  isBot?: boolean;
  deleted?: boolean;
  tz?: string;
}

export interface SlackSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 'xoxb-sandbox'. */
  botToken?: string;
  /** The app-level token apps.connections.open accepts (Socket Mode). Default 'xapp-sandbox'. */
  appToken?: string;
  /** How often the Socket Mode link pings each connection. Default 10000. */
  socketPingIntervalMs?: number;
  users?: SandboxUser[];
  /** Default 'T0SANDBOX'. */
  teamId?: string;
  teamDomain?: string;
  /** Default 'U0ACCESSBOT'. */
  botUserId?: string;
  botId?: string;
  appId?: string;
  /** Clock in ms; inject one to test trigger expiry without waiting. */
  now?: () => number;
  /** Slack's trigger_id lifetime: 3000 ms. */
  triggerTtlMs?: number;
  /** User groups (S…) and their members, for usergroups.users.list. */
  userGroups?: Record<string, string[]>;
}

export interface RecordedCall {
  /** Web API method, or 'response_url' for posts to a response URL. */
  method: string;
  /** Parsed arguments, `blocks`/`view`/`attachments`/`metadata` JSON-decoded, token removed. */
  args: SlackObject;
  at: number;
  ok: boolean;
  error?: string;
  status: number;
  response: SlackObject;
}

export interface MessageVersion {
  text: string;
  blocks: SlackObject[];
  /** When this version was replaced. */
  replacedAt: number;
}

/** A live record: chat.update mutates it in place, so a held reference always shows the current version. */
export interface SandboxMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: SlackObject[];
  threadTs?: string;
  /** The bot user id (every message here is posted by the bot). */
  user: string;
  metadata?: unknown;
  deleted: boolean;
  postedAt: number;
  /** Earlier versions, oldest first. */
  history: MessageVersion[];
}

export interface SandboxEphemeral {
  via: 'chat.postEphemeral' | 'response_url' | 'command_ack';
  channel?: string;
  user: string;
  text: string;
  blocks: SlackObject[];
  responseType?: string;
  replaceOriginal?: boolean;
  deleteOriginal?: boolean;
  threadTs?: string;
  /** chat.postEphemeral's message_ts, or the message a response URL acted on. */
  messageTs?: string;
  at: number;
}

/** A live record of one modal (or home tab): updates mutate it in place. */
export interface SandboxView {
  id: string;
  kind: 'modal' | 'home';
  userId: string;
  triggerId?: string;
  /** The current view exactly as Slack returns it (id, type, callback_id, blocks, state, hash, title, …). */
  view: SlackObject;
  hash: string;
  /** Earlier versions of `view`, oldest first. */
  history: SlackObject[];
  status: 'open' | 'closed';
  rootViewId: string;
  previousViewId?: string;
  /** Field errors from the last `response_action: "errors"` ack, keyed by block_id. */
  errors?: Record<string, string>;
}

export interface FailureSpec {
  /** HTTP status; default 200 when `error` is given, else 500. 429 carries Retry-After. */
  status?: number;
  /** ok:false error code; defaults to 'ratelimited' for 429 and 'internal_error' otherwise. */
  error?: string;
  /** Seconds for the Retry-After header (default 1 on a 429). */
  retryAfter?: number;
  /** No answer at all: the call is recorded (error "hung") and left open until the caller gives up or the sandbox closes. */
  hang?: boolean;
}

/** Slack slow or busy for one method: each call waits `latencyMs`; calls beyond `perSecond` in a second get a 429. */
export interface ThrottleSpec {
  latencyMs?: number;
  perSecond?: number;
  /** Seconds for the Retry-After header of those 429s (default 1). */
  retryAfter?: number;
}

export interface WaitOptions {
  /** Default 10000. */
  timeoutMs?: number;
  description?: string;
}

export interface ResponseUrlTarget {
  userId: string;
  channelId: string;
  /** The message a block action came from; replace_original / delete_original act on it. */
  messageTs?: string;
}

interface TriggerRecord {
  userId: string;
  issuedAt: number;
  exchanged: boolean;
  /** The view an interaction came from, so views.push knows which stack to push onto. */
  sourceViewId?: string;
}

class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: SlackObject = {},
  ) {
    super(extra.response_metadata?.messages ? `${code}: ${extra.response_metadata.messages.join('; ')}` : code);
  }
}

const JSON_ARGS = new Set(['blocks', 'attachments', 'view', 'metadata']);
/** Methods that take the app-level (xapp-) token; every other method here takes the bot token. */
const APP_TOKEN_METHODS = new Set(['apps.connections.open']);
const MAX_MESSAGE_TEXT = 40_000;
const MAX_RESPONSE_URL_USES = 5;

export class SlackSandbox {
  readonly calls: RecordedCall[] = [];
  readonly messages: SandboxMessage[] = [];
  readonly ephemerals: SandboxEphemeral[] = [];
  /** Modals, in the order they were opened or pushed. */
  readonly views: SandboxView[] = [];
  readonly homeViews = new Map<string, SandboxView>();
  readonly users = new Map<string, SandboxUser>();
  /** User group id → member ids; change it to model someone joining or leaving a group. */
  readonly userGroups = new Map<string, string[]>();

  readonly botToken: string;
  readonly appToken: string;
  /** Socket Mode: the bot's connections, the envelopes sent to it and its acks. */
  readonly socketMode: SocketModeLink;
  readonly teamId: string;
  readonly teamDomain: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  readonly now: () => number;

  private readonly server: Server;
  private readonly events = new EventEmitter();
  private readonly pendingWaits = new Set<(error: Error) => void>();
  private readonly failures = new Map<string, FailureSpec[]>();
  private readonly throttles = new Map<string, ThrottleSpec & { second: number; calls: number }>();
  private readonly triggers = new Map<string, TriggerRecord>();
  private readonly responseUrls = new Map<string, ResponseUrlTarget & { uses: number }>();
  private readonly dmByUser = new Map<string, string>();
  private readonly userByDm = new Map<string, string>();
  private readonly triggerTtlMs: number;
  private readonly handlers: Record<string, (args: SlackObject) => SlackObject>;
  private lastTsMicros = 0;
  private idCounter = 0;
  private port = 0;

  private constructor(opts: SlackSandboxOptions) {
    this.botToken = opts.botToken ?? 'xoxb-sandbox';
    this.appToken = opts.appToken ?? 'xapp-sandbox';
    this.teamId = opts.teamId ?? 'T0SANDBOX';
    this.teamDomain = opts.teamDomain ?? 'sandbox';
    this.botUserId = opts.botUserId ?? 'U0ACCESSBOT';
    this.botId = opts.botId ?? 'B0ACCESSBOT';
    this.appId = opts.appId ?? 'A0ACCESSBOT';
    this.now = opts.now ?? Date.now;
    this.triggerTtlMs = opts.triggerTtlMs ?? 3000;
    this.events.setMaxListeners(0);
    this.socketMode = new SocketModeLink({ appId: this.appId, now: this.now, onChange: () => this.changed(), pingIntervalMs: opts.socketPingIntervalMs });
    this.addUser({ id: this.botUserId, name: 'accessbot', realName: 'AccessBot', isBot: true });
    for (const user of opts.users ?? []) this.addUser(user);
    for (const [group, members] of Object.entries(opts.userGroups ?? {})) this.userGroups.set(group, [...members]);
    this.handlers = {
      'api.test': (args) => ({ args }),
      'auth.test': () => this.authTest(),
      'apps.connections.open': () => ({ url: this.socketMode.issueUrl(this.baseUrl.replace(/^http/, 'ws')) }),
      'chat.postMessage': (args) => this.postMessage(args),
      'chat.update': (args) => this.updateMessage(args),
      'chat.delete': (args) => this.deleteMessage(args),
      'chat.postEphemeral': (args) => this.postEphemeral(args),
      'chat.getPermalink': (args) => this.getPermalink(args),
      'conversations.open': (args) => this.openConversation(args),
      'users.info': (args) => this.userInfo(args),
      'users.lookupByEmail': (args) => this.lookupByEmail(args),
      'usergroups.users.list': (args) => {
        const members = this.userGroups.get(String(args.usergroup ?? ''));
        if (!members) throw new SlackApiError('no_such_subteam');
        return { users: [...members] };
      },
      'users.list': (args) => this.listUsers(args),
      'views.open': (args) => this.openView(args),
      'views.push': (args) => this.pushView(args),
      'views.update': (args) => this.updateView(args),
      'views.publish': (args) => this.publishView(args),
    };
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'sandbox_internal_error', detail: String(error) });
      });
    });
    this.server.on('upgrade', (req, socket, head) => this.socketMode.handleUpgrade(req, socket, head));
  }

  static async start(opts: SlackSandboxOptions = {}): Promise<SlackSandbox> {
    const sandbox = new SlackSandbox(opts);
    await new Promise<void>((resolve, reject) => {
      sandbox.server.once('error', reject);
      sandbox.server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    sandbox.port = (sandbox.server.address() as AddressInfo).port;
    return sandbox;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Give this to the bot's WebClient as `slackApiUrl`. */
  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  // ---------------------------------------------------------------- users and channels

  addUser(user: SandboxUser): SandboxUser {
    this.users.set(user.id, user);
    if (!user.isBot) this.dmChannelOf(user.id);
    return user;
  }

  /** The bot's DM channel with this user (stable for the sandbox's lifetime). */
  dmChannelOf(userId: string): string {
    let channel = this.dmByUser.get(userId);
    if (!channel) {
      channel = `D${userId.replace(/^[UW]/, '')}`;
      this.dmByUser.set(userId, channel);
      this.userByDm.set(channel, userId);
    }
    return channel;
  }

  /** The user whose DM with the bot this channel is, if it is one. */
  dmUserOf(channelId: string): string | undefined {
    return this.userByDm.get(channelId);
  }

  // ---------------------------------------------------------------- inspection helpers

  /** Live (not deleted) messages in a channel; a user id means the bot's DM with that user. */
  messagesTo(userOrChannelId: string): SandboxMessage[] {
    const channel = isUserId(userOrChannelId) ? this.dmChannelOf(userOrChannelId) : userOrChannelId;
    return this.messages.filter((m) => m.channel === channel && !m.deleted);
  }

  findMessage(pred: (message: SandboxMessage) => boolean): SandboxMessage | undefined {
    return this.messages.find((m) => !m.deleted && pred(m));
  }

  findMessageByTs(channel: string, ts: string): SandboxMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /** A modal or home view by id. */
  viewById(viewId: string): SandboxView | undefined {
    return this.views.find((v) => v.id === viewId) ?? [...this.homeViews.values()].find((v) => v.id === viewId);
  }

  /** The user's most recently opened modal that is still open. */
  openViewOf(userId: string, callbackId?: string): SandboxView | undefined {
    for (let i = this.views.length - 1; i >= 0; i--) {
      const view = this.views[i] as SandboxView;
      if (view.userId === userId && view.status === 'open' && (callbackId === undefined || view.view.callback_id === callbackId)) return view;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- waiting

  /**
   * Resolves with the first truthy value of `pick`, evaluated now and again after every recorded change.
   * On timeout it rejects with the description and the last 20 calls, which usually shows what the bot did instead.
   */
  waitFor<T>(pick: () => T | undefined | null | false, opts: WaitOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise<T>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.events.off('change', check);
        this.pendingWaits.delete(abort);
      };
      const abort = (error: Error) => {
        finish();
        reject(error);
      };
      const check = () => {
        let value: T | undefined | null | false;
        try {
          value = pick();
        } catch (error) {
          abort(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (value) {
          finish();
          resolve(value);
        }
      };
      const timer = setTimeout(
        () => abort(new Error(`Slack sandbox: timed out after ${timeoutMs} ms waiting for ${opts.description ?? 'a condition'}.\n${this.describeRecentCalls(20)}`)),
        timeoutMs,
      );
      this.pendingWaits.add(abort);
      this.events.on('change', check);
      check();
    });
  }

  /** Waits for a call to `method` (matching `pred`), searching calls from index `since` (default 0). */
  waitForCall(method: string, pred?: (call: RecordedCall) => boolean, opts: WaitOptions & { since?: number } = {}): Promise<RecordedCall> {
    const since = opts.since ?? 0;
    return this.waitFor(() => this.calls.slice(since).find((c) => c.method === method && (!pred || pred(c))), {
      description: `a ${method} call${pred ? ' matching the predicate' : ''}`,
      ...opts,
    });
  }

  waitForMessage(pred: (message: SandboxMessage) => boolean, opts: WaitOptions = {}): Promise<SandboxMessage> {
    return this.waitFor(() => this.findMessage(pred), { description: 'a message matching the predicate', ...opts });
  }

  describeRecentCalls(count: number): string {
    const recent = this.calls.slice(-count);
    if (recent.length === 0) return 'No Slack calls were recorded.';
    const first = this.calls.length - recent.length;
    const lines = recent.map((call, i) => `  #${first + i} ${call.method} ${call.ok ? 'ok' : `FAILED ${call.error ?? call.status}`} ${summarizeArgs(call.args)}`);
    return `Last ${recent.length} of ${this.calls.length} Slack calls:\n${lines.join('\n')}`;
  }

  // ---------------------------------------------------------------- triggers, response URLs, failures

  /** A trigger id as Slack puts in interaction payloads: single use, valid for 3 s. */
  issueTriggerId(userId: string, source: { viewId?: string } = {}): string {
    const id = `${Math.floor(this.now() / 1000)}.${++this.idCounter}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, { userId, issuedAt: this.now(), exchanged: false, sourceViewId: source.viewId });
    return id;
  }

  newResponseUrl(userId: string, channelId: string, opts: { messageTs?: string } = {}): string {
    const id = `R${++this.idCounter}${randomBytes(8).toString('hex')}`;
    this.responseUrls.set(id, { userId, channelId, messageTs: opts.messageTs, uses: 0 });
    return `${this.baseUrl}/response/${id}`;
  }

  /** The next `count` calls to `method` ('*' for any) fail as described, without taking effect. */
  failNext(method: string, count: number, failure: FailureSpec = {}): void {
    const queue = this.failures.get(method) ?? [];
    for (let i = 0; i < count; i++) queue.push(failure);
    this.failures.set(method, queue);
  }

  /**
   * Shows what Slack would show for a response sent back to Slack: a slash command's immediate ack body,
   * or a POST to a response URL. Used by the driver for acks and by the /response route.
   */
  deliverResponse(target: ResponseUrlTarget, body: SlackObject, via: 'response_url' | 'command_ack'): void {
    const blocks = Array.isArray(body.blocks) ? body.blocks : [];
    const text = typeof body.text === 'string' ? body.text : '';
    const problems = validateBlocks(blocks, 'message');
    if (problems.length > 0) throw new SlackApiError('invalid_blocks', { response_metadata: { messages: problems } });
    const replaceOriginal = body.replace_original === true || body.replace_original === 'true';
    const deleteOriginal = body.delete_original === true || body.delete_original === 'true';
    const original = target.messageTs ? this.findMessageByTs(target.channelId, target.messageTs) : undefined;
    if (original && deleteOriginal) original.deleted = true;
    else if (original && replaceOriginal) this.reviseMessage(original, text, fillIds(blocks));
    else if (body.response_type === 'in_channel') {
      this.messages.push(this.newMessage(target.channelId, text, fillIds(blocks), typeof body.thread_ts === 'string' ? body.thread_ts : undefined));
    }
    this.ephemerals.push({
      via,
      channel: target.channelId,
      user: target.userId,
      text,
      blocks,
      responseType: typeof body.response_type === 'string' ? body.response_type : undefined,
      replaceOriginal,
      deleteOriginal,
      messageTs: target.messageTs,
      at: this.now(),
    });
    this.changed();
  }

  /**
   * Applies the bot's ack of a view_submission as Slack does: no response_action closes the view,
   * 'errors' keeps it open with field errors, 'update' replaces it, 'push' stacks a new one, 'clear' closes the stack.
   * Returns problems Slack would reject the ack for (the user then sees a generic error in the modal).
   */
  applyViewSubmissionAck(viewId: string, ack: SlackObject | undefined): { outcome: 'closed' | 'errors' | 'updated' | 'pushed' | 'cleared' | 'rejected'; problems: string[] } {
    const current = this.viewById(viewId);
    if (!current) throw new Error(`Slack sandbox: no view ${viewId}`);
    const action = ack?.response_action;
    let result: { outcome: 'closed' | 'errors' | 'updated' | 'pushed' | 'cleared' | 'rejected'; problems: string[] };
    if (action === undefined) {
      current.status = 'closed';
      result = { outcome: 'closed', problems: [] };
    } else if (action === 'errors') {
      const errors = (ack?.errors ?? {}) as Record<string, string>;
      const inputBlockIds = new Set(current.view.blocks.filter((b: SlackObject) => b.type === 'input').map((b: SlackObject) => b.block_id));
      const problems = Object.keys(errors).filter((id) => !inputBlockIds.has(id)).map((id) => `errors names "${id}", which is not an input block of this view`);
      current.errors = errors;
      result = problems.length > 0 ? { outcome: 'rejected', problems } : { outcome: 'errors', problems: [] };
    } else if (action === 'update' || action === 'push') {
      const problems = validateView(ack?.view, 'modal', '/view');
      if (problems.length > 0) result = { outcome: 'rejected', problems };
      else if (action === 'update') {
        this.replaceView(current, ack?.view);
        result = { outcome: 'updated', problems: [] };
      } else if (this.stackOf(current.rootViewId).length >= 3) result = { outcome: 'rejected', problems: ['push_limit_reached'] };
      else {
        this.addModal(current.userId, ack?.view, current.rootViewId, current.id);
        result = { outcome: 'pushed', problems: [] };
      }
    } else if (action === 'clear') {
      for (const view of this.stackOf(current.rootViewId)) view.status = 'closed';
      result = { outcome: 'cleared', problems: [] };
    } else {
      result = { outcome: 'rejected', problems: [`unknown response_action "${String(action)}"`] };
    }
    this.changed();
    return result;
  }

  /** The message as Slack serializes it in API responses and interaction payloads. */
  toSlackMessage(message: SandboxMessage): SlackObject {
    const lastEdit = message.history.at(-1);
    return {
      type: 'message',
      user: message.user,
      bot_id: this.botId,
      app_id: this.appId,
      text: message.text,
      blocks: message.blocks,
      ts: message.ts,
      team: this.teamId,
      ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
      ...(lastEdit ? { edited: { user: message.user, ts: formatTs(lastEdit.replacedAt * 1000) } } : {}),
      ...(message.metadata !== undefined ? { metadata: message.metadata } : {}),
    };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Clears recorded state and pending failures; users and DM channel ids stay. */
  reset(): void {
    this.calls.length = 0;
    this.messages.length = 0;
    this.ephemerals.length = 0;
    this.views.length = 0;
    this.homeViews.clear();
    this.failures.clear();
    this.throttles.clear();
    this.triggers.clear();
    this.responseUrls.clear();
    this.socketMode.reset();
  }

  async close(): Promise<void> {
    for (const abort of [...this.pendingWaits]) abort(new Error('Slack sandbox closed while waiting'));
    await this.socketMode.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------- HTTP

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const raw = await readBody(req);
    const latencyMs = this.throttles.get(decodeURIComponent(url.pathname.slice('/api/'.length)))?.latencyMs;
    if (latencyMs) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (url.pathname.startsWith('/api/')) return this.handleApi(decodeURIComponent(url.pathname.slice('/api/'.length)), req, url, raw, res);
    if (url.pathname.startsWith('/response/') && req.method === 'POST') return this.handleResponseUrl(url.pathname.slice('/response/'.length), raw, res);
    sendJson(res, 404, { ok: false, error: 'not_found' });
  }

  private handleApi(method: string, req: IncomingMessage, url: URL, raw: string, res: ServerResponse): void {
    let args: SlackObject = Object.fromEntries(url.searchParams);
    let status = 200;
    let body: SlackObject;
    const headers: Record<string, string> = {};
    const parsed = parseApiBody(req.headers['content-type'], raw);
    if (parsed === undefined) body = { ok: false, error: 'invalid_json' };
    else {
      args = { ...args, ...parsed };
      const bearer = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1];
      const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
      delete args.token;
      const failure = this.takeFailure(method) ?? this.overRate(method);
      const handler = this.handlers[method];
      if (failure?.hang) {
        this.record({ method, args, at: this.now(), ok: false, error: 'hung', status: 0, response: {} });
        return;
      }
      if (failure) {
        status = failure.status ?? (failure.error ? 200 : 500);
        body = { ok: false, error: failure.error ?? (status === 429 ? 'ratelimited' : 'internal_error') };
        if (status === 429 || failure.retryAfter !== undefined) headers['Retry-After'] = String(failure.retryAfter ?? 1);
      } else if (!handler) body = { ok: false, error: 'unknown_method' };
      else if (!token) body = { ok: false, error: 'not_authed' };
      else if (token !== (APP_TOKEN_METHODS.has(method) ? this.appToken : this.botToken)) {
        // A known token of the wrong kind (an xapp- token for a bot method, or the reverse) is refused as Slack refuses it.
        body = { ok: false, error: token === this.appToken || token === this.botToken ? 'not_allowed_token_type' : 'invalid_auth' };
      }
      else {
        try {
          body = { ok: true, ...handler(args) };
        } catch (error) {
          if (!(error instanceof SlackApiError)) throw error;
          body = { ok: false, error: error.code, ...error.extra };
        }
      }
    }
    this.record({ method, args, at: this.now(), ok: body.ok === true, error: body.error, status, response: body });
    sendJson(res, status, body, headers);
  }

  private handleResponseUrl(id: string, raw: string, res: ServerResponse): void {
    const target = this.responseUrls.get(id);
    let body: SlackObject | undefined;
    try {
      body = JSON.parse(raw) as SlackObject;
    } catch {
      body = undefined;
    }
    let status = 200;
    let response: SlackObject = { ok: true };
    if (!target) [status, response] = [404, { ok: false, error: 'expired_url' }];
    else if (target.uses >= MAX_RESPONSE_URL_USES) [status, response] = [404, { ok: false, error: 'used_url' }];
    else if (!body || typeof body !== 'object') [status, response] = [400, { ok: false, error: 'invalid_payload' }];
    else {
      try {
        target.uses++;
        this.deliverResponse(target, body, 'response_url');
      } catch (error) {
        if (!(error instanceof SlackApiError)) throw error;
        [status, response] = [400, { ok: false, error: error.code, ...error.extra }];
      }
    }
    this.record({ method: 'response_url', args: { ...(body ?? {}), response_url_id: id, user: target?.userId, channel: target?.channelId }, at: this.now(), ok: response.ok === true, error: response.error, status, response });
    sendJson(res, status, response);
  }

  /** Every later call to `method` is slowed or rate-limited as described (undefined: back to normal). */
  throttle(method: string, spec: ThrottleSpec | undefined): void {
    if (spec) this.throttles.set(method, { ...spec, second: 0, calls: 0 });
    else this.throttles.delete(method);
  }

  private overRate(method: string): FailureSpec | undefined {
    const throttle = this.throttles.get(method);
    if (throttle?.perSecond === undefined) return undefined;
    const second = Math.floor(this.now() / 1000);
    if (throttle.second !== second) Object.assign(throttle, { second, calls: 0 });
    throttle.calls += 1;
    return throttle.calls > throttle.perSecond ? { status: 429, retryAfter: throttle.retryAfter ?? 1 } : undefined;
  }

  private takeFailure(method: string): FailureSpec | undefined {
    for (const key of [method, '*']) {
      const queue = this.failures.get(key);
      if (queue && queue.length > 0) return queue.shift();
    }
    return undefined;
  }

  private record(call: RecordedCall): void {
    this.calls.push(call);
    this.changed();
  }

  private changed(): void {
    this.events.emit('change');
  }

  /** Calls `listener` after anything is recorded (the demo prints a live transcript from it); returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  // ---------------------------------------------------------------- Web API methods

  private authTest(): SlackObject {
    return {
      url: 'https://sandbox.slack/',
      team: 'Sandbox',
      user: this.users.get(this.botUserId)?.name ?? 'accessbot',
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    };
  }

  private postMessage(args: SlackObject): SlackObject {
    const channel = this.resolvePostChannel(args.channel);
    const { text, blocks } = this.messageContent(args, true);
    const message = this.newMessage(channel, text ?? '', blocks ?? [], stringArg(args.thread_ts), args.metadata);
    this.messages.push(message);
    return { channel, ts: message.ts, message: this.toSlackMessage(message) };
  }

  private updateMessage(args: SlackObject): SlackObject {
    const channel = stringArg(args.channel);
    if (!channel) throw new SlackApiError('channel_not_found');
    const message = this.messages.find((m) => m.channel === channel && m.ts === args.ts && !m.deleted);
    if (!message) throw new SlackApiError('message_not_found');
    const { text, blocks } = this.messageContent(args, true);
    this.reviseMessage(message, text ?? message.text, blocks ?? message.blocks);
    if (args.metadata !== undefined) message.metadata = args.metadata;
    return { channel, ts: message.ts, text: message.text, message: this.toSlackMessage(message) };
  }

  private deleteMessage(args: SlackObject): SlackObject {
    const message = this.messages.find((m) => m.channel === args.channel && m.ts === args.ts && !m.deleted);
    if (!message) throw new SlackApiError('message_not_found');
    message.deleted = true;
    return { channel: message.channel, ts: message.ts };
  }

  private postEphemeral(args: SlackObject): SlackObject {
    const user = stringArg(args.user);
    if (!user || !this.users.has(user)) throw new SlackApiError('user_not_found');
    const channel = this.resolvePostChannel(args.channel);
    const dmOwner = this.userByDm.get(channel);
    if (dmOwner && dmOwner !== user) throw new SlackApiError('user_not_in_channel');
    const { text, blocks } = this.messageContent(args, true);
    const messageTs = this.nextTs();
    this.ephemerals.push({ via: 'chat.postEphemeral', channel, user, text: text ?? '', blocks: blocks ?? [], threadTs: stringArg(args.thread_ts), messageTs, at: this.now() });
    return { message_ts: messageTs };
  }

  private getPermalink(args: SlackObject): SlackObject {
    const channel = stringArg(args.channel);
    if (!channel) throw new SlackApiError('channel_not_found');
    const message = this.messages.find((m) => m.channel === channel && m.ts === args.message_ts && !m.deleted);
    if (!message) throw new SlackApiError('message_not_found');
    return { channel, permalink: `https://sandbox.slack/archives/${channel}/p${message.ts.replace('.', '')}` };
  }

  private openConversation(args: SlackObject): SlackObject {
    if (typeof args.channel === 'string' && args.channel !== '') {
      if (!this.userByDm.has(args.channel)) throw new SlackApiError('channel_not_found');
      return { no_op: true, already_open: true, channel: { id: args.channel } };
    }
    const ids = String(args.users ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    if (ids.length === 0) throw new SlackApiError('users_list_not_supplied');
    if (ids.length > 8) throw new SlackApiError('too_many_users');
    for (const id of ids) {
      const user = this.users.get(id);
      if (!user) throw new SlackApiError('user_not_found');
      if (ids.length === 1 && user.isBot) throw new SlackApiError('cannot_dm_bot');
    }
    if (ids.length === 1) return { no_op: true, already_open: true, channel: { id: this.dmChannelOf(ids[0] as string) } };
    return { channel: { id: `G${ids.map((id) => id.slice(1)).sort().join('').slice(0, 16).toUpperCase()}` } };
  }

  /** Pages of `limit` users (all at once without one); the cursor is the offset, opaque as Slack's are. */
  private listUsers(args: SlackObject): SlackObject {
    const all = [...this.users.values()];
    const offset = args.cursor ? Number(Buffer.from(String(args.cursor), 'base64url').toString().replace(/^offset:/, '')) : 0;
    if (!Number.isInteger(offset) || offset < 0 || offset > all.length) throw new SlackApiError('invalid_cursor');
    const limit = Number(args.limit) > 0 ? Number(args.limit) : all.length;
    const end = Math.min(all.length, offset + limit);
    const nextCursor = end < all.length ? Buffer.from(`offset:${end}`).toString('base64url') : '';
    return { members: all.slice(offset, end).map((u) => this.toSlackUser(u)), response_metadata: { next_cursor: nextCursor } };
  }

  private userInfo(args: SlackObject): SlackObject {
    const user = this.users.get(String(args.user ?? ''));
    if (!user) throw new SlackApiError('user_not_found');
    return { user: this.toSlackUser(user) };
  }

  private lookupByEmail(args: SlackObject): SlackObject {
    const email = String(args.email ?? '').toLowerCase();
    // As Slack does: a deactivated account is not found by e-mail (users.list and users.info still show it).
    const user = email ? [...this.users.values()].find((u) => u.email?.toLowerCase() === email && !u.deleted) : undefined;
    if (!user) throw new SlackApiError('users_not_found');
    return { user: this.toSlackUser(user) };
  }

  private openView(args: SlackObject): SlackObject {
    const trigger = this.checkTrigger(args.trigger_id);
    const input = this.checkViewArg(args.view, 'modal');
    trigger.exchanged = true;
    const view = this.addModal(trigger.userId, input, undefined, undefined, String(args.trigger_id));
    return { view: view.view };
  }

  private pushView(args: SlackObject): SlackObject {
    const trigger = this.checkTrigger(args.trigger_id);
    const input = this.checkViewArg(args.view, 'modal');
    const source = trigger.sourceViewId ? this.viewById(trigger.sourceViewId) : this.openViewOf(trigger.userId);
    if (!source || source.kind !== 'modal' || source.status !== 'open') throw new SlackApiError('not_found');
    const stack = this.stackOf(source.rootViewId);
    if (stack.length >= 3) throw new SlackApiError('push_limit_reached');
    trigger.exchanged = true;
    const view = this.addModal(trigger.userId, input, source.rootViewId, stack.at(-1)?.id, String(args.trigger_id));
    return { view: view.view };
  }

  private updateView(args: SlackObject): SlackObject {
    const viewId = stringArg(args.view_id);
    const externalId = stringArg(args.external_id);
    if (!viewId && !externalId) throw new SlackApiError('invalid_arguments', { response_metadata: { messages: ['[ERROR] either view_id or external_id is required'] } });
    const all = [...this.views, ...this.homeViews.values()];
    const target = viewId ? all.find((v) => v.id === viewId) : all.find((v) => externalId !== undefined && v.view.external_id === externalId);
    if (!target || target.status !== 'open') throw new SlackApiError('not_found');
    if (args.hash !== undefined && args.hash !== '' && args.hash !== target.hash) throw new SlackApiError('hash_conflict');
    const input = this.checkViewArg(args.view, target.kind);
    this.replaceView(target, input);
    return { view: target.view };
  }

  private publishView(args: SlackObject): SlackObject {
    const userId = stringArg(args.user_id);
    if (!userId || !this.users.has(userId)) throw new SlackApiError('user_not_found');
    const input = this.checkViewArg(args.view, 'home');
    const existing = this.homeViews.get(userId);
    if (existing) {
      if (args.hash !== undefined && args.hash !== '' && args.hash !== existing.hash) throw new SlackApiError('hash_conflict');
      this.replaceView(existing, input);
      return { view: existing.view };
    }
    const id = this.nextId('V');
    const hash = this.nextHash();
    const home: SandboxView = { id, kind: 'home', userId, view: this.buildView(input, id, hash, id), hash, history: [], status: 'open', rootViewId: id };
    this.homeViews.set(userId, home);
    return { view: home.view };
  }

  // ---------------------------------------------------------------- internals

  private checkTrigger(triggerId: unknown): TriggerRecord {
    if (typeof triggerId !== 'string' || triggerId === '') {
      throw new SlackApiError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: trigger_id'] } });
    }
    const trigger = this.triggers.get(triggerId);
    if (!trigger) throw new SlackApiError('invalid_trigger_id');
    if (trigger.exchanged) throw new SlackApiError('exchanged_trigger_id');
    if (this.now() - trigger.issuedAt > this.triggerTtlMs) throw new SlackApiError('expired_trigger_id');
    return trigger;
  }

  private checkViewArg(view: unknown, kind: 'modal' | 'home'): SlackObject {
    const problems = validateView(view, kind, '/view');
    if (problems.length > 0) throw new SlackApiError('invalid_arguments', { response_metadata: { messages: problems } });
    return view as SlackObject;
  }

  private addModal(userId: string, input: SlackObject, rootViewId?: string, previousViewId?: string, triggerId?: string): SandboxView {
    const id = this.nextId('V');
    const hash = this.nextHash();
    const root = rootViewId ?? id;
    const view: SandboxView = {
      id,
      kind: 'modal',
      userId,
      triggerId,
      view: this.buildView(input, id, hash, root, previousViewId),
      hash,
      history: [],
      status: 'open',
      rootViewId: root,
      previousViewId,
    };
    this.views.push(view);
    return view;
  }

  private replaceView(target: SandboxView, input: SlackObject): void {
    target.history.push(target.view);
    target.hash = this.nextHash();
    target.view = this.buildView(input, target.id, target.hash, target.rootViewId, target.previousViewId);
    target.errors = undefined;
  }

  private stackOf(rootViewId: string): SandboxView[] {
    return this.views.filter((v) => v.rootViewId === rootViewId && v.status === 'open');
  }

  private buildView(input: SlackObject, id: string, hash: string, rootViewId: string, previousViewId?: string): SlackObject {
    const isModal = input.type === 'modal';
    return {
      id,
      team_id: this.teamId,
      type: input.type,
      blocks: fillIds(input.blocks ?? []),
      private_metadata: input.private_metadata ?? '',
      callback_id: input.callback_id ?? '',
      state: { values: {} },
      hash,
      title: isModal ? withEmoji(input.title) : null,
      clear_on_close: input.clear_on_close === true,
      notify_on_close: input.notify_on_close === true,
      close: isModal && input.close ? withEmoji(input.close) : null,
      submit: isModal && input.submit ? withEmoji(input.submit) : null,
      previous_view_id: previousViewId ?? null,
      root_view_id: rootViewId,
      app_id: this.appId,
      external_id: input.external_id ?? '',
      app_installed_team_id: this.teamId,
      bot_id: this.botId,
    };
  }

  private resolvePostChannel(channel: unknown): string {
    if (typeof channel !== 'string' || channel === '') throw new SlackApiError('channel_not_found');
    if (isUserId(channel)) {
      const user = this.users.get(channel);
      if (!user) throw new SlackApiError('channel_not_found');
      if (user.isBot) throw new SlackApiError('cannot_dm_bot');
      return this.dmChannelOf(channel);
    }
    if (channel.startsWith('D') && !this.userByDm.has(channel)) throw new SlackApiError('channel_not_found');
    return channel;
  }

  /** Text and blocks of a message call; undefined when the argument was not given. */
  private messageContent(args: SlackObject, requireContent: boolean): { text?: string; blocks?: SlackObject[] } {
    const text = args.text === undefined ? undefined : String(args.text);
    let blocks: SlackObject[] | undefined;
    if (args.blocks !== undefined) {
      if (!Array.isArray(args.blocks)) throw new SlackApiError('invalid_blocks_format');
      const problems = validateBlocks(args.blocks, 'message');
      if (problems.length > 0) throw new SlackApiError('invalid_blocks', { response_metadata: { messages: problems } });
      blocks = fillIds(args.blocks);
    }
    if (requireContent && !text && (!blocks || blocks.length === 0) && args.attachments === undefined) throw new SlackApiError('no_text');
    if (text !== undefined && text.length > MAX_MESSAGE_TEXT) throw new SlackApiError('msg_too_long');
    return { text, blocks };
  }

  private newMessage(channel: string, text: string, blocks: SlackObject[], threadTs?: string, metadata?: unknown): SandboxMessage {
    return { channel, ts: this.nextTs(), text, blocks, threadTs, user: this.botUserId, metadata, deleted: false, postedAt: this.now(), history: [] };
  }

  private reviseMessage(message: SandboxMessage, text: string, blocks: SlackObject[]): void {
    message.history.push({ text: message.text, blocks: message.blocks, replacedAt: this.now() });
    message.text = text;
    message.blocks = blocks;
  }

  private toSlackUser(user: SandboxUser): SlackObject {
    const realName = user.realName ?? ([user.firstName, user.lastName].filter(Boolean).join(' ') || user.name);
    return {
      id: user.id,
      team_id: this.teamId,
      name: user.name,
      deleted: user.deleted === true,
      real_name: realName,
      tz: user.tz ?? 'Europe/London',
      is_bot: user.isBot === true,
      is_app_user: false,
      is_admin: false,
      profile: {
        email: user.email,
        first_name: user.firstName ?? '',
        last_name: user.lastName ?? '',
        real_name: realName,
        real_name_normalized: realName,
        display_name: user.name,
        display_name_normalized: user.name,
        ...(user.isBot ? { bot_id: this.botId } : {}),
      },
    };
  }

  /** Slack's "seconds.micros" format; unique and increasing even within one millisecond. */
  private nextTs(): string {
    const micros = Math.max(Math.floor(this.now() * 1000), this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    return formatTs(micros);
  }

  private nextId(prefix: string): string {
    return `${prefix}0SBX${(++this.idCounter).toString(36).toUpperCase().padStart(5, '0')}`;
  }

  private nextHash(): string {
    return `${Math.floor(this.now() / 1000)}.${randomBytes(6).toString('hex')}`;
  }
}

export async function startSlackSandbox(opts: SlackSandboxOptions = {}): Promise<SlackSandbox> {
  return SlackSandbox.start(opts);
}

// ---------------------------------------------------------------- Block Kit validation

type Surface = 'message' | 'modal' | 'home';
const BLOCK_LIMITS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };
const KNOWN_BLOCKS = new Set(['section', 'divider', 'image', 'actions', 'context', 'input', 'header', 'rich_text', 'video', 'file', 'markdown', 'call']);
const KNOWN_ELEMENTS = new Set([
  'button', 'checkboxes', 'datepicker', 'datetimepicker', 'email_text_input', 'image', 'multi_static_select',
  'multi_external_select', 'multi_users_select', 'multi_conversations_select', 'multi_channels_select',
  'number_input', 'overflow', 'plain_text_input', 'radio_buttons', 'rich_text_input', 'static_select',
  'external_select', 'users_select', 'conversations_select', 'channels_select', 'timepicker', 'url_text_input',
  'workflow_button', 'file_input',
]);

/** Block Kit problems in Slack's `response_metadata.messages` format; empty when valid. */
export function validateBlocks(blocks: unknown, surface: Surface, pointer = '/blocks'): string[] {
  const v = new BlockValidator();
  v.blocks(blocks, surface, pointer);
  return v.problems;
}

/** Problems with a modal or home view object (title limits, submit needed for inputs, its blocks). */
export function validateView(view: unknown, kind: 'modal' | 'home', pointer = '/view'): string[] {
  const v = new BlockValidator();
  if (!isObject(view)) return [`[ERROR] must provide an object [json-pointer:${pointer}]`];
  if (view.type !== kind) v.fail(`must be "${kind}"`, `${pointer}/type`);
  if (kind === 'modal') {
    v.text(view.title, `${pointer}/title`, { max: 24, plainOnly: true });
    v.text(view.submit, `${pointer}/submit`, { max: 24, plainOnly: true, optional: true });
    v.text(view.close, `${pointer}/close`, { max: 24, plainOnly: true, optional: true });
    const hasInputs = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
    if (hasInputs && !view.submit) v.fail('submit is required when using input blocks', `${pointer}/submit`);
  }
  v.maxLength(view.private_metadata, 3000, `${pointer}/private_metadata`);
  v.maxLength(view.callback_id, 255, `${pointer}/callback_id`);
  v.maxLength(view.external_id, 255, `${pointer}/external_id`);
  v.blocks(view.blocks, kind, `${pointer}/blocks`);
  return v.problems;
}

class BlockValidator {
  readonly problems: string[] = [];
  private readonly actionIds = new Set<string>();
  private readonly blockIds = new Set<string>();

  fail(message: string, pointer: string): void {
    this.problems.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
  }

  maxLength(value: unknown, max: number, pointer: string): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'string') this.fail('must be a string', pointer);
    else if (value.length > max) this.fail(`must be less than ${max + 1} characters`, pointer);
  }

  text(value: unknown, pointer: string, opts: { max: number; plainOnly?: boolean; optional?: boolean }): void {
    if (value === undefined || value === null) {
      if (!opts.optional) this.fail('must provide an object', pointer);
      return;
    }
    if (!isObject(value)) return this.fail('must be an object', pointer);
    if (value.type !== 'plain_text' && (opts.plainOnly || value.type !== 'mrkdwn')) {
      this.fail(opts.plainOnly ? 'must be "plain_text"' : 'must be a valid enum value', `${pointer}/type`);
    }
    if (typeof value.text !== 'string' || value.text.length === 0) this.fail('must be more than 0 characters', `${pointer}/text`);
    else if (value.text.length > opts.max) this.fail(`must be less than ${opts.max + 1} characters`, `${pointer}/text`);
  }

  blocks(blocks: unknown, surface: Surface, pointer: string): void {
    if (!Array.isArray(blocks)) {
      if (blocks !== undefined) this.fail('must be an array', pointer);
      return;
    }
    const limit = BLOCK_LIMITS[surface];
    if (blocks.length > limit) this.fail(`no more than ${limit} items allowed`, pointer);
    blocks.forEach((block, i) => this.block(block, `${pointer}/${i}`));
  }

  private block(block: unknown, pointer: string): void {
    if (!isObject(block)) return this.fail('must be an object', pointer);
    if (block.block_id !== undefined) {
      this.maxLength(block.block_id, 255, `${pointer}/block_id`);
      if (this.blockIds.has(block.block_id)) this.fail(`duplicate block_id "${block.block_id}"`, `${pointer}/block_id`);
      this.blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'section':
        if (block.text === undefined && block.fields === undefined) this.fail('must provide either text or fields', pointer);
        if (block.text !== undefined) this.text(block.text, `${pointer}/text`, { max: 3000 });
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields)) this.fail('must be an array', `${pointer}/fields`);
          else {
            if (block.fields.length > 10) this.fail('no more than 10 items allowed', `${pointer}/fields`);
            block.fields.forEach((field, i) => this.text(field, `${pointer}/fields/${i}`, { max: 2000 }));
          }
        }
        if (block.accessory !== undefined) this.element(block.accessory, `${pointer}/accessory`);
        return;
      case 'header':
        return this.text(block.text, `${pointer}/text`, { max: 150, plainOnly: true });
      case 'context':
        return this.elementList(block.elements, `${pointer}/elements`, 10, (element, p) => {
          if (isObject(element) && element.type === 'image') this.image(element, p);
          else this.text(element, p, { max: 3000 });
        });
      case 'actions':
        return this.elementList(block.elements, `${pointer}/elements`, 25, (element, p) => this.element(element, p));
      case 'input':
        this.text(block.label, `${pointer}/label`, { max: 2000, plainOnly: true });
        this.text(block.hint, `${pointer}/hint`, { max: 2000, plainOnly: true, optional: true });
        if (block.element === undefined) return this.fail('must provide an object', `${pointer}/element`);
        return this.element(block.element, `${pointer}/element`);
      case 'image':
        return this.image(block, pointer);
      default:
        if (!KNOWN_BLOCKS.has(block.type)) this.fail(`unsupported block type "${String(block.type)}"`, `${pointer}/type`);
    }
  }

  private elementList(elements: unknown, pointer: string, max: number, check: (element: unknown, pointer: string) => void): void {
    if (!Array.isArray(elements) || elements.length === 0) return this.fail('must provide a non-empty array', pointer);
    if (elements.length > max) this.fail(`no more than ${max} items allowed`, pointer);
    elements.forEach((element, i) => check(element, `${pointer}/${i}`));
  }

  private image(image: SlackObject, pointer: string): void {
    if (typeof image.image_url !== 'string' && !isObject(image.slack_file)) this.fail('must provide image_url or slack_file', pointer);
    if (typeof image.alt_text !== 'string' || image.alt_text === '') this.fail('must be more than 0 characters', `${pointer}/alt_text`);
    else this.maxLength(image.alt_text, 2000, `${pointer}/alt_text`);
  }

  private element(element: unknown, pointer: string): void {
    if (!isObject(element)) return this.fail('must be an object', pointer);
    if (!KNOWN_ELEMENTS.has(element.type)) return this.fail(`unsupported element type "${String(element.type)}"`, `${pointer}/type`);
    if (element.action_id !== undefined) {
      this.maxLength(element.action_id, 255, `${pointer}/action_id`);
      if (this.actionIds.has(element.action_id)) this.fail(`duplicate action_id "${element.action_id}"`, `${pointer}/action_id`);
      this.actionIds.add(element.action_id);
    }
    this.text(element.placeholder, `${pointer}/placeholder`, { max: 150, plainOnly: true, optional: true });
    switch (element.type) {
      case 'button':
        this.text(element.text, `${pointer}/text`, { max: 75, plainOnly: true });
        this.maxLength(element.value, 2000, `${pointer}/value`);
        this.maxLength(element.url, 3000, `${pointer}/url`);
        if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') this.fail('must be a valid enum value', `${pointer}/style`);
        return;
      case 'static_select':
      case 'multi_static_select': {
        const options = this.selectOptions(element, pointer);
        const values = new Set(options.map((o) => o.value));
        const initial = element.type === 'static_select' ? (element.initial_option ? [element.initial_option] : []) : (element.initial_options ?? []);
        for (const option of initial) if (!isObject(option) || !values.has(option.value)) this.fail('initial option must match one of the options', pointer);
        return;
      }
      case 'overflow':
        this.optionList(element.options, `${pointer}/options`, 5, false);
        return;
      case 'radio_buttons':
      case 'checkboxes': {
        const options = this.optionList(element.options, `${pointer}/options`, 10, true);
        const values = new Set(options.map((o) => o.value));
        const initial = element.type === 'radio_buttons' ? (element.initial_option ? [element.initial_option] : []) : (element.initial_options ?? []);
        for (const option of initial) if (!isObject(option) || !values.has(option.value)) this.fail('initial option must match one of the options', pointer);
        return;
      }
      case 'plain_text_input':
        if (element.max_length !== undefined && !(element.max_length >= 1 && element.max_length <= 3000)) this.fail('must be between 1 and 3000', `${pointer}/max_length`);
        if (element.min_length !== undefined && !(element.min_length >= 0 && element.min_length <= 3000)) this.fail('must be between 0 and 3000', `${pointer}/min_length`);
        return this.maxLength(element.initial_value, 3000, `${pointer}/initial_value`);
      case 'datepicker':
        if (element.initial_date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(element.initial_date))) this.fail('must be in YYYY-MM-DD format', `${pointer}/initial_date`);
        return;
      default:
        return;
    }
  }

  private selectOptions(element: SlackObject, pointer: string): SlackObject[] {
    if (element.options !== undefined) return this.optionList(element.options, `${pointer}/options`, 100, false);
    if (!Array.isArray(element.option_groups)) {
      this.fail('must provide options or option_groups', pointer);
      return [];
    }
    if (element.option_groups.length > 100) this.fail('no more than 100 items allowed', `${pointer}/option_groups`);
    return element.option_groups.flatMap((group: unknown, i: number) => {
      const p = `${pointer}/option_groups/${i}`;
      if (!isObject(group)) {
        this.fail('must be an object', p);
        return [];
      }
      this.text(group.label, `${p}/label`, { max: 75, plainOnly: true });
      return this.optionList(group.options, `${p}/options`, 100, false);
    });
  }

  private optionList(options: unknown, pointer: string, max: number, allowMrkdwn: boolean): SlackObject[] {
    if (!Array.isArray(options) || options.length === 0) {
      this.fail('must provide a non-empty array', pointer);
      return [];
    }
    if (options.length > max) this.fail(`no more than ${max} items allowed`, pointer);
    const valid: SlackObject[] = [];
    options.forEach((option, i) => {
      const p = `${pointer}/${i}`;
      if (!isObject(option)) return this.fail('must be an object', p);
      this.text(option.text, `${p}/text`, { max: 75, plainOnly: !allowMrkdwn });
      if (typeof option.value !== 'string' || option.value === '') this.fail('must be more than 0 characters', `${p}/value`);
      else this.maxLength(option.value, 150, `${p}/value`);
      this.text(option.description, `${p}/description`, { max: 75, plainOnly: !allowMrkdwn, optional: true });
      valid.push(option);
    });
    return valid;
  }
}

// ---------------------------------------------------------------- helpers

function isObject(value: unknown): value is SlackObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatTs(micros: number): string {
  return `${Math.floor(micros / 1e6)}.${String(Math.floor(micros % 1e6)).padStart(6, '0')}`;
}

function isUserId(id: string): boolean {
  return /^[UW][A-Z0-9]+$/.test(id);
}

function stringArg(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function withEmoji(text: unknown): unknown {
  return isObject(text) && text.type === 'plain_text' ? { emoji: true, ...text } : text;
}

/** Slack gives blocks and elements without ids generated ones; state.values and payloads are keyed by them. */
function fillIds(blocks: SlackObject[]): SlackObject[] {
  const copy = structuredClone(blocks);
  const fillAction = (element: unknown) => {
    if (isObject(element) && element.type !== 'image' && element.action_id === undefined && KNOWN_ELEMENTS.has(element.type)) element.action_id = shortId();
  };
  for (const block of copy) {
    if (!isObject(block)) continue;
    if (block.block_id === undefined) block.block_id = shortId();
    if (block.type === 'actions' && Array.isArray(block.elements)) block.elements.forEach(fillAction);
    if (block.type === 'input') fillAction(block.element);
    if (block.type === 'section') fillAction(block.accessory);
  }
  return copy;
}

function shortId(): string {
  return randomBytes(4).toString('base64url').slice(0, 5);
}

function parseApiBody(contentType: string | undefined, raw: string): SlackObject | undefined {
  if (raw === '') return {};
  if (contentType?.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return isObject(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  const args: SlackObject = {};
  for (const [key, value] of new URLSearchParams(raw)) args[key] = JSON_ARGS.has(key) ? decodeJsonArg(value) : value;
  return args;
}

/** JSON-valued form args arrive as strings; an undecodable one stays a string so validation reports it. */
function decodeJsonArg(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function summarizeArgs(args: SlackObject): string {
  const parts: string[] = [];
  for (const key of ['channel', 'user', 'user_id', 'ts', 'view_id', 'trigger_id', 'email']) {
    if (args[key] !== undefined) parts.push(`${key}=${String(args[key])}`);
  }
  if (isObject(args.view)) parts.push(`callback_id=${String(args.view.callback_id ?? '')}`);
  if (typeof args.text === 'string') parts.push(`text=${JSON.stringify(args.text.length > 80 ? `${args.text.slice(0, 77)}...` : args.text)}`);
  return parts.join(' ');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
