/**
 * The Slack Web API fake: the workspace's state (users, DMs, messages, ephemerals, views, triggers, response
 * URLs), Slack's methods over it with Slack's response shapes and error codes, injected failures and throttles,
 * and `waitFor`, woken by each recorded change instead of polling. No HTTP here: `server.ts` serves it.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fillIds, isObject, validateBlocks, validateView } from './block-kit.js';
import type {
  FailureSpec,
  RecordedCall,
  ResponseUrlTarget,
  SandboxEphemeral,
  SandboxMessage,
  SandboxUser,
  SandboxView,
  SlackObject,
  SlackSandboxOptions,
  ThrottleSpec,
  WaitOptions,
} from './types.js';

interface TriggerRecord {
  userId: string;
  issuedAt: number;
  exchanged: boolean;
  /** The view an interaction came from, so views.push knows which stack to push onto. */
  sourceViewId?: string;
}

export class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: SlackObject = {},
  ) {
    super(extra.response_metadata?.messages ? `${code}: ${extra.response_metadata.messages.join('; ')}` : code);
  }
}

/** Methods that take the app-level (xapp-) token; every other method here takes the bot token. */
const APP_TOKEN_METHODS = new Set(['apps.connections.open']);
const MAX_MESSAGE_TEXT = 40_000;
const MAX_RESPONSE_URL_USES = 5;

/** What one Web API call answers: the HTTP status, the JSON body and extra headers (Retry-After). */
export interface ApiAnswer {
  status: number;
  body: SlackObject;
  headers: Record<string, string>;
}

export class SlackWebApi {
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
  readonly teamId: string;
  readonly teamDomain: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  readonly now: () => number;

  private readonly events = new EventEmitter();
  private readonly pendingWaits = new Set<(error: Error) => void>();
  private readonly failures = new Map<string, FailureSpec[]>();
  private readonly throttles = new Map<string, ThrottleSpec & { second: number; calls: number }>();
  private readonly triggers = new Map<string, TriggerRecord>();
  private readonly responseUrls = new Map<string, ResponseUrlTarget & { uses: number }>();
  private readonly dmByUser = new Map<string, string>();
  private readonly userByDm = new Map<string, string>();
  private readonly triggerTtlMs: number;
  /** Slack's methods by name; the server adds the ones that need its URL (apps.connections.open). */
  protected readonly handlers: Record<string, (args: SlackObject) => SlackObject>;
  private lastTsMicros = 0;
  private idCounter = 0;
  /** The port the server listens on; URLs handed out (response URLs) point at it. */
  protected port = 0;

  protected constructor(opts: SlackSandboxOptions) {
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
    this.addUser({ id: this.botUserId, name: 'accessbot', realName: 'AccessBot', isBot: true });
    for (const user of opts.users ?? []) this.addUser(user);
    for (const [group, members] of Object.entries(opts.userGroups ?? {})) this.userGroups.set(group, [...members]);
    this.handlers = {
      'api.test': (args) => ({ args }),
      'auth.test': () => this.authTest(),
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

  /** The user as Slack's API and events show it (`users.info`'s `user`, a `user_change` event's `user`). */
  slackUserOf(userId: string): SlackObject | undefined {
    const user = this.users.get(userId);
    return user && this.toSlackUser(user);
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
  }

  /** Fails every pending `waitFor`, so a test awaiting something that will never come ends at once. */
  protected abortWaits(): void {
    for (const abort of [...this.pendingWaits]) abort(new Error('Slack sandbox closed while waiting'));
  }

  // ---------------------------------------------------------------- calls, as the server hands them over

  /** How long a call to `method` waits before it is answered (a throttle's latency), in ms. */
  latencyOf(method: string): number {
    return this.throttles.get(method)?.latencyMs ?? 0;
  }

  /**
   * One Web API call: `args` already parsed (undefined when the body was not valid JSON), `token` from the
   * Authorization header or the `token` argument. Undefined when an injected failure says to hang (no answer).
   */
  answerCall(method: string, args: SlackObject, parsed: SlackObject | undefined, token: string | undefined): ApiAnswer | undefined {
    let status = 200;
    let body: SlackObject;
    const headers: Record<string, string> = {};
    if (parsed === undefined) body = { ok: false, error: 'invalid_json' };
    else {
      const failure = this.takeFailure(method) ?? this.overRate(method);
      const handler = this.handlers[method];
      if (failure?.hang) {
        this.record({ method, args, at: this.now(), ok: false, error: 'hung', status: 0, response: {} });
        return undefined;
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
    return { status, body, headers };
  }

  /** A POST to a response URL (`raw` is its body), as Slack answers it. */
  answerResponseUrl(id: string, raw: string): ApiAnswer {
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
    return { status, body: response, headers: {} };
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

  protected changed(): void {
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

// ---------------------------------------------------------------- helpers

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

function summarizeArgs(args: SlackObject): string {
  const parts: string[] = [];
  for (const key of ['channel', 'user', 'user_id', 'ts', 'view_id', 'trigger_id', 'email']) {
    if (args[key] !== undefined) parts.push(`${key}=${String(args[key])}`);
  }
  if (isObject(args.view)) parts.push(`callback_id=${String(args.view.callback_id ?? '')}`);
  if (typeof args.text === 'string') parts.push(`text=${JSON.stringify(args.text.length > 80 ? `${args.text.slice(0, 77)}...` : args.text)}`);
  return parts.join(' ');
}
