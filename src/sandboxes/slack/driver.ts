/**
 * Plays Slack's side of the conversation with the bot: slash commands, view submissions, button clicks and
 * events, built from what the bot really showed (the views and messages recorded by the Slack sandbox), so a
 * test can only click a button the bot actually rendered. Over HTTP (the default) they are signed exactly as
 * Slack signs them; with `transport: 'socket'` they go as Socket Mode envelopes over the bot's connection to
 * the sandbox, and the ack's payload plays the part of the HTTP response body.
 */
import { createHmac } from 'node:crypto';
import type { SlackSandbox } from './server.js';
import type { SandboxMessage, SandboxUser, SandboxView, SlackObject } from './types.js';
import type { EnvelopeType } from './socket-mode.js';

/** A field value as a user would enter it: an option value (or its visible text), user ids, a date, text. */
export type FieldValue = string | string[] | number | null;

/** 'http': signed POSTs to the bot's request URL; 'socket': envelopes over the bot's Socket Mode connection. */
export type DriverTransport = 'http' | 'socket';

export interface SlackDriverOptions {
  /** The bot's request URL, e.g. http://127.0.0.1:3000/slack/events (needed for the HTTP transport and raw posts). */
  botUrl?: string;
  /** Needed for the HTTP transport and raw posts. */
  signingSecret?: string;
  sandbox: SlackSandbox;
  /** Default 'http'. */
  transport?: DriverTransport;
  /** Defaults to the sandbox's team id. */
  teamId?: string;
  /** Defaults to the sandbox's app id. */
  apiAppId?: string;
  /** Clock in ms for request timestamps. */
  now?: () => number;
  /** Slack gives up on an ack after 3000 ms. */
  ackTimeoutMs?: number;
}

export interface DriverResponse {
  status: number;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
  /** Socket transport: the envelope the bot acknowledged. */
  envelopeId?: string;
}

export interface SlashCommandResponse extends DriverResponse {
  triggerId: string;
  responseUrl: string;
}

export type ViewOutcome = 'closed' | 'errors' | 'updated' | 'pushed' | 'cleared' | 'rejected';

export interface ViewSubmissionResponse extends DriverResponse {
  /** What the user sees next, decided by the ack as Slack decides it. */
  outcome: ViewOutcome;
  /** Why Slack would reject the ack (outcome 'rejected'). */
  problems: string[];
  /** The exact payload sent. */
  payload: SlackObject;
}

export interface ButtonClickResponse extends DriverResponse {
  payload: SlackObject;
}

/** A message, a modal, or a user's home tab. */
export type ButtonLocation = SandboxMessage | { view: SandboxView } | { homeOf: string };

export interface SignOptions {
  /** Unix seconds; override to send a stale timestamp with an otherwise valid signature. */
  timestamp?: number;
}

const VERIFICATION_TOKEN = 'sandbox-verification-token';
const STATELESS_ELEMENTS = new Set(['button', 'overflow', 'workflow_button', 'image']);

export class SlackDriver {
  readonly transport: DriverTransport;
  private readonly botUrl: string | undefined;
  private readonly signingSecret: string | undefined;
  private readonly sandbox: SlackSandbox;
  private readonly teamId: string;
  private readonly apiAppId: string;
  private readonly now: () => number;
  private readonly ackTimeoutMs: number;

  constructor(opts: SlackDriverOptions) {
    this.transport = opts.transport ?? 'http';
    if (this.transport === 'http' && (!opts.botUrl || !opts.signingSecret)) throw new Error('SlackDriver: the HTTP transport needs botUrl and signingSecret.');
    this.botUrl = opts.botUrl;
    this.signingSecret = opts.signingSecret;
    this.sandbox = opts.sandbox;
    this.teamId = opts.teamId ?? opts.sandbox.teamId;
    this.apiAppId = opts.apiAppId ?? opts.sandbox.appId;
    this.now = opts.now ?? Date.now;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 3000;
  }

  /** Slack's request signing headers: v0 HMAC-SHA256 over `v0:<timestamp>:<raw body>`. */
  sign(rawBody: string, opts: SignOptions = {}): Record<string, string> {
    if (!this.signingSecret) throw new Error('SlackDriver: signing needs signingSecret.');
    const timestamp = opts.timestamp ?? Math.floor(this.now() / 1000);
    const signature = createHmac('sha256', this.signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
    return {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Slack-Request-Timestamp': String(timestamp),
      'X-Slack-Signature': `v0=${signature}`,
    };
  }

  /** Sends a raw body with exactly these headers (for bad-signature tests). */
  async post(rawBody: string, headers: Record<string, string>): Promise<DriverResponse> {
    if (!this.botUrl) throw new Error('SlackDriver: posting needs botUrl.');
    const hasContentType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
    let response: Response;
    try {
      response = await fetch(this.botUrl, {
        method: 'POST',
        headers: hasContentType ? headers : { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
        body: rawBody,
        signal: AbortSignal.timeout(this.ackTimeoutMs),
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new Error(`The bot did not answer within ${this.ackTimeoutMs} ms; Slack would show the user an error.`);
      }
      throw error;
    }
    const body = await response.text();
    return { status: response.status, body, json: parseJson(body) };
  }

  async postSigned(rawBody: string, opts: SignOptions = {}): Promise<DriverResponse> {
    return this.post(rawBody, this.sign(rawBody, opts));
  }

  /**
   * Sends an envelope over the bot's Socket Mode connection and turns its ack into an HTTP-like answer: status
   * 200, the ack's payload as the body (empty when the ack had none or an empty one, as Bolt's bare `ack()` sends `{}`).
   * Rejects, as the HTTP path does, when no ack comes within the ack timeout.
   */
  async sendEnvelope(type: EnvelopeType, payload: SlackObject, opts: { retryAttempt?: number; retryReason?: string } = {}): Promise<DriverResponse> {
    const ack = await this.sandbox.socketMode.deliver(type, payload, { timeoutMs: this.ackTimeoutMs, ...opts });
    const answer = ack.payload && Object.keys(ack.payload).length > 0 ? ack.payload : undefined;
    return { status: 200, body: answer ? JSON.stringify(answer) : '', json: answer, envelopeId: ack.envelopeId };
  }

  /** Delivers an Events API callback (JSON, signed; or an events_api envelope), e.g. `{ type: 'app_home_opened', user, tab: 'home' }`. */
  async event(event: SlackObject, opts: { retryNum?: number } = {}): Promise<DriverResponse> {
    const callback = {
      token: VERIFICATION_TOKEN, team_id: this.teamId, api_app_id: this.apiAppId, type: 'event_callback',
      event_id: `Ev${Math.random().toString(36).slice(2, 12).toUpperCase()}`, event_time: Math.floor(this.now() / 1000),
      event: { event_ts: formatTs(this.now()), ...event },
    };
    if (this.transport === 'socket') {
      return this.sendEnvelope('events_api', callback, opts.retryNum ? { retryAttempt: opts.retryNum, retryReason: 'http_timeout' } : {});
    }
    const body = JSON.stringify(callback);
    const headers = { ...this.sign(body), 'Content-Type': 'application/json' };
    if (opts.retryNum) Object.assign(headers, { 'X-Slack-Retry-Num': String(opts.retryNum), 'X-Slack-Retry-Reason': 'http_timeout' });
    return this.post(body, headers);
  }

  /**
   * A workspace admin deactivates the user: the sandbox marks them deleted (as `users.info` then says), and Slack
   * sends the `user_change` event carrying the whole user object, `deleted: true`.
   */
  async deactivateUser(userId: string): Promise<DriverResponse> {
    this.sandbox.addUser({ ...this.userOf(userId), deleted: true });
    return this.event({ type: 'user_change', user: this.sandbox.slackUserOf(userId)! });
  }

  /** Types a slash command; an immediate ack body is shown to the user as Slack shows it (sandbox.ephemerals). */
  async slashCommand(
    userId: string,
    text: string,
    opts: { command?: string; channelId?: string; channelName?: string } = {},
  ): Promise<SlashCommandResponse> {
    const user = this.userOf(userId);
    const channelId = opts.channelId ?? this.sandbox.dmChannelOf(userId);
    const responseUrl = this.sandbox.newResponseUrl(userId, channelId);
    const triggerId = this.sandbox.issueTriggerId(userId);
    const form = new URLSearchParams({
      token: VERIFICATION_TOKEN,
      team_id: this.teamId,
      team_domain: this.sandbox.teamDomain,
      channel_id: channelId,
      channel_name: opts.channelName ?? (channelId.startsWith('D') ? 'directmessage' : 'general'),
      user_id: user.id,
      user_name: user.name,
      command: opts.command ?? '/access',
      text,
      api_app_id: this.apiAppId,
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId,
    });
    const response = this.transport === 'socket' ? await this.sendEnvelope('slash_commands', Object.fromEntries(form)) : await this.postSigned(form.toString());
    if (response.status === 200 && response.body !== '') {
      const ack = isObject(response.json) ? response.json : { text: response.body };
      this.sandbox.deliverResponse({ userId, channelId }, ack, 'command_ack');
    }
    return { ...response, triggerId, responseUrl };
  }

  /**
   * Submits a modal the bot opened. `values` is keyed by block_id (or `block_id/action_id` when a block holds
   * several inputs); each value is turned into Slack's state shape for that block's element. Throws when Slack's
   * client would not allow the submission (required field empty, option not offered, view not on top).
   */
  async submitView(userId: string, view: SandboxView | string, values: Record<string, FieldValue> = {}): Promise<ViewSubmissionResponse> {
    const target = this.openViewFor(userId, view);
    const topOfStack = this.sandbox.views.filter((v) => v.rootViewId === target.rootViewId && v.status === 'open').at(-1);
    if (topOfStack !== target) throw new Error(`View ${target.id} is covered by pushed view ${topOfStack?.id}; only the top view can be submitted.`);
    const payload = this.viewSubmissionPayload(userId, target, values, this.sandbox.issueTriggerId(userId, { viewId: target.id }));
    target.errors = undefined;
    const response = await this.sendInteraction(payload);
    let ack: SlackObject | undefined;
    if (response.status !== 200) return { ...response, outcome: 'rejected', problems: [`the bot answered HTTP ${response.status}`], payload };
    if (response.body !== '') {
      if (!isObject(response.json)) return { ...response, outcome: 'rejected', problems: ['the ack body is not JSON'], payload };
      ack = response.json;
    }
    const { outcome, problems } = this.sandbox.applyViewSubmissionAck(target.id, ack);
    return { ...response, outcome, problems, payload };
  }

  /** A `view_submission` as Slack sends it: `userId` submits `view` with these field values. */
  private viewSubmissionPayload(userId: string, view: SandboxView, values: Record<string, FieldValue>, triggerId: string): SlackObject {
    return {
      type: 'view_submission',
      team: { id: this.teamId, domain: this.sandbox.teamDomain },
      user: this.userPayload(userId),
      api_app_id: this.apiAppId,
      token: VERIFICATION_TOKEN,
      trigger_id: triggerId,
      view: { ...view.view, state: this.viewState(view.view, values, { forSubmission: true }) },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
  }

  /**
   * A submission Slack itself would never send: `userId` submits a modal that another user has open (a replayed
   * or forged payload). The bot's answer is returned as is and not applied to the view, which stays its owner's.
   */
  async forgeViewSubmission(userId: string, view: SandboxView, values: Record<string, FieldValue> = {}): Promise<DriverResponse> {
    const payload = this.viewSubmissionPayload(userId, view, values, this.sandbox.issueTriggerId(userId));
    return this.sendInteraction(payload);
  }

  /** The user dismisses a modal; Slack tells the bot only when the view asked for notify_on_close. */
  async closeView(userId: string, view: SandboxView | string): Promise<DriverResponse | undefined> {
    const target = this.openViewFor(userId, view);
    target.status = 'closed';
    if (target.view.notify_on_close !== true) return undefined;
    const payload = {
      type: 'view_closed',
      team: { id: this.teamId, domain: this.sandbox.teamDomain },
      user: this.userPayload(userId),
      api_app_id: this.apiAppId,
      token: VERIFICATION_TOKEN,
      view: { ...target.view, state: this.viewState(target.view) },
      is_cleared: false,
      is_enterprise_install: false,
      enterprise: null,
    };
    return this.sendInteraction(payload);
  }

  /**
   * Clicks the first button whose label starts with (string) or matches (RegExp) `buttonText`, in the current
   * version of a message, modal or home tab. `opts.values` fills the surface's other inputs, as for submitView.
   */
  async clickButton(
    userId: string,
    where: ButtonLocation,
    buttonText: string | RegExp,
    opts: { values?: Record<string, FieldValue> } = {},
  ): Promise<ButtonClickResponse> {
    const user = this.userPayload(userId);
    const actionTs = formatTs(this.now());
    let payload: SlackObject;
    if ('ts' in where) {
      const message = where;
      if (message.deleted) throw new Error(`Message ${message.ts} in ${message.channel} was deleted.`);
      const dmOwner = this.sandbox.dmUserOf(message.channel);
      if (dmOwner && dmOwner !== userId) throw new Error(`Message ${message.ts} is in ${dmOwner}'s DM; ${userId} cannot see it.`);
      const { block, button } = findButton(message.blocks, buttonText, `message ${message.ts} in ${message.channel}`);
      payload = {
        type: 'block_actions',
        user,
        api_app_id: this.apiAppId,
        token: VERIFICATION_TOKEN,
        container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
        trigger_id: this.sandbox.issueTriggerId(userId),
        team: { id: this.teamId, domain: this.sandbox.teamDomain },
        enterprise: null,
        is_enterprise_install: false,
        channel: { id: message.channel, name: dmOwner ? 'directmessage' : 'general' },
        message: this.sandbox.toSlackMessage(message),
        state: this.viewState({ blocks: message.blocks }, opts.values ?? {}),
        response_url: this.sandbox.newResponseUrl(userId, message.channel, { messageTs: message.ts }),
        actions: [buttonAction(block, button, actionTs)],
      };
    } else {
      const view = 'view' in where ? where.view : this.sandbox.homeViews.get(where.homeOf);
      if (!view) throw new Error(`User ${'homeOf' in where ? where.homeOf : '?'} has no published home tab.`);
      if (view.status !== 'open') throw new Error(`View ${view.id} is closed.`);
      if (view.userId !== userId) throw new Error(`View ${view.id} belongs to ${view.userId}, not ${userId}.`);
      const { block, button } = findButton(view.view.blocks, buttonText, `${view.kind} ${view.id} (${view.view.callback_id || 'no callback_id'})`);
      payload = {
        type: 'block_actions',
        user,
        api_app_id: this.apiAppId,
        token: VERIFICATION_TOKEN,
        container: { type: 'view', view_id: view.id },
        trigger_id: this.sandbox.issueTriggerId(userId, { viewId: view.id }),
        team: { id: this.teamId, domain: this.sandbox.teamDomain },
        enterprise: null,
        is_enterprise_install: false,
        view: { ...view.view, state: this.viewState(view.view, opts.values ?? {}) },
        actions: [buttonAction(block, button, actionTs)],
      };
    }
    const response = await this.sendInteraction(payload);
    return { ...response, payload };
  }

  /** Picks an option of an overflow (⋯) menu in a message, as a person would. */
  async chooseOverflow(userId: string, message: SandboxMessage, optionText: string | RegExp): Promise<ButtonClickResponse> {
    const dmOwner = this.sandbox.dmUserOf(message.channel);
    if (dmOwner && dmOwner !== userId) throw new Error(`Message ${message.ts} is in ${dmOwner}'s DM; ${userId} cannot see it.`);
    const matches = (label: string) => (typeof optionText === 'string' ? label.startsWith(optionText) : optionText.test(label));
    for (const block of message.blocks) {
      for (const element of block.type === 'actions' && Array.isArray(block.elements) ? block.elements : []) {
        const option = element?.type === 'overflow' ? (element.options as SlackObject[]).find((o) => matches(String(o.text?.text ?? ''))) : undefined;
        if (!option) continue;
        const payload: SlackObject = {
          type: 'block_actions',
          user: this.userPayload(userId),
          api_app_id: this.apiAppId,
          token: VERIFICATION_TOKEN,
          container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
          trigger_id: this.sandbox.issueTriggerId(userId),
          team: { id: this.teamId, domain: this.sandbox.teamDomain },
          channel: { id: message.channel, name: dmOwner ? 'directmessage' : 'general' },
          message: this.sandbox.toSlackMessage(message),
          response_url: this.sandbox.newResponseUrl(userId, message.channel, { messageTs: message.ts }),
          actions: [{ type: 'overflow', action_id: element.action_id, block_id: block.block_id, selected_option: option, action_ts: formatTs(this.now()) }],
        };
        return { ...(await this.sendInteraction(payload)), payload };
      }
    }
    throw new Error(`No overflow option ${String(optionText)} in message ${message.ts} in ${message.channel}.`);
  }

  /**
   * Slack's `state` for a view (or message blocks): every stateful element, keyed block_id → action_id, holding
   * the given value, else its initial value, else its empty value.
   */
  viewState(view: { blocks?: SlackObject[] }, values: Record<string, FieldValue> = {}, opts: { forSubmission?: boolean } = {}): { values: Record<string, Record<string, SlackObject>> } {
    const inputs = statefulInputs(view.blocks ?? []);
    const isAlone = (input: StatefulInput) => inputs.filter((other) => other.blockId === input.blockId).length === 1;
    const keys = inputs.map((input) => (isAlone(input) ? input.blockId : `${input.blockId}/${input.actionId}`));
    const unknown = Object.keys(values).filter((key) => !keys.includes(key));
    if (unknown.length > 0) throw new Error(`No input for ${unknown.join(', ')}; inputs present: ${keys.join(', ') || 'none'}.`);
    const state: Record<string, Record<string, SlackObject>> = {};
    inputs.forEach((input, i) => {
      const key = keys[i] as string;
      const elementState = this.elementState(input.element, values[key], key);
      if (opts.forSubmission && input.required && isEmptyState(elementState)) {
        throw new Error(`Slack would not submit: required input "${input.label}" (block ${input.blockId}) is empty.`);
      }
      if (opts.forSubmission && typeof elementState.value === 'string') checkLength(input.element, elementState.value, input.label);
      state[input.blockId] = { ...state[input.blockId], [input.actionId]: elementState };
    });
    return { values: state };
  }

  // ---------------------------------------------------------------- internals

  /** An interaction payload: the `payload` form field over HTTP, an `interactive` envelope over the socket. */
  private sendInteraction(payload: SlackObject): Promise<DriverResponse> {
    if (this.transport === 'socket') return this.sendEnvelope('interactive', payload);
    return this.postSigned(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
  }

  private elementState(element: SlackObject, given: FieldValue | undefined, where: string): SlackObject {
    const type = element.type as string;
    const single = (): string | null => {
      if (Array.isArray(given)) throw new Error(`${where} (${type}) takes one value, got ${JSON.stringify(given)}.`);
      return given === undefined || given === null ? null : String(given);
    };
    const many = (): string[] | undefined => (given === undefined ? undefined : given === null ? [] : Array.isArray(given) ? given : [String(given)]);
    switch (type) {
      case 'plain_text_input':
      case 'email_text_input':
      case 'url_text_input':
      case 'number_input':
        return { type, value: given === undefined ? (element.initial_value ?? null) : single() };
      case 'static_select':
      case 'external_select':
      case 'radio_buttons': {
        const value = single();
        return { type, selected_option: given === undefined ? (element.initial_option ?? null) : value === null ? null : pickOption(element, value, where) };
      }
      case 'multi_static_select':
      case 'multi_external_select':
      case 'checkboxes': {
        const chosen = many();
        return { type, selected_options: chosen === undefined ? (element.initial_options ?? []) : chosen.map((v) => pickOption(element, v, where)) };
      }
      case 'users_select': {
        const user = given === undefined ? (element.initial_user ?? null) : single();
        if (given !== undefined && user !== null) this.userOf(user);
        return { type, selected_user: user };
      }
      case 'multi_users_select': {
        const users = many() ?? element.initial_users ?? [];
        if (given !== undefined) for (const user of users) this.userOf(user);
        return { type, selected_users: users };
      }
      case 'conversations_select':
        return { type, selected_conversation: given === undefined ? (element.initial_conversation ?? null) : single() };
      case 'multi_conversations_select':
        return { type, selected_conversations: many() ?? element.initial_conversations ?? [] };
      case 'channels_select':
        return { type, selected_channel: given === undefined ? (element.initial_channel ?? null) : single() };
      case 'multi_channels_select':
        return { type, selected_channels: many() ?? element.initial_channels ?? [] };
      case 'datepicker': {
        const date = given === undefined ? (element.initial_date ?? null) : single();
        if (date !== null && !/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`${where}: a datepicker date must be YYYY-MM-DD, got "${date}".`);
        return { type, selected_date: date };
      }
      case 'timepicker':
        return { type, selected_time: given === undefined ? (element.initial_time ?? null) : single() };
      case 'datetimepicker':
        return { type, selected_date_time: given === undefined ? (element.initial_date_time ?? null) : given === null ? null : Number(given) };
      case 'rich_text_input': {
        const text = single();
        if (given === undefined) return { type, rich_text_value: element.initial_value ?? null };
        return { type, rich_text_value: text === null ? null : { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }] } };
      }
      default:
        throw new Error(`${where}: the driver cannot fill a ${type} element.`);
    }
  }

  private openViewFor(userId: string, view: SandboxView | string): SandboxView {
    const target = typeof view === 'string' ? this.sandbox.viewById(view) : view;
    if (!target) throw new Error(`No view ${String(view)} was opened.`);
    if (target.kind !== 'modal') throw new Error(`View ${target.id} is a home tab, not a modal.`);
    if (target.status !== 'open') throw new Error(`View ${target.id} (${target.view.callback_id}) is already closed.`);
    if (target.userId !== userId) throw new Error(`View ${target.id} was opened for ${target.userId}, not ${userId}.`);
    return target;
  }

  private userOf(userId: string): SandboxUser {
    const user = this.sandbox.users.get(userId);
    if (!user) throw new Error(`Unknown Slack user ${userId}; add it with sandbox.addUser first.`);
    return user;
  }

  private userPayload(userId: string): SlackObject {
    const user = this.userOf(userId);
    return { id: user.id, username: user.name, name: user.name, team_id: this.teamId };
  }
}

// ---------------------------------------------------------------- helpers

interface StatefulInput {
  blockId: string;
  actionId: string;
  element: SlackObject;
  label: string;
  required: boolean;
}

function statefulInputs(blocks: SlackObject[]): StatefulInput[] {
  const inputs: StatefulInput[] = [];
  const add = (block: SlackObject, element: unknown, required: boolean) => {
    if (!isObject(element) || STATELESS_ELEMENTS.has(element.type)) return;
    inputs.push({ blockId: block.block_id, actionId: element.action_id, element, label: block.label?.text ?? block.block_id, required });
  };
  for (const block of blocks) {
    if (block.type === 'input') add(block, block.element, block.optional !== true);
    else if (block.type === 'actions' && Array.isArray(block.elements)) for (const element of block.elements) add(block, element, false);
    else if (block.type === 'section') add(block, block.accessory, false);
  }
  return inputs;
}

function isEmptyState(state: SlackObject): boolean {
  return Object.entries(state).every(([key, value]) => key === 'type' || value === null || value === '' || (Array.isArray(value) && value.length === 0));
}

function checkLength(element: SlackObject, value: string, label: string): void {
  if (typeof element.max_length === 'number' && value.length > element.max_length) {
    throw new Error(`Slack would not submit: "${label}" is longer than ${element.max_length} characters.`);
  }
  if (typeof element.min_length === 'number' && value.length > 0 && value.length < element.min_length) {
    throw new Error(`Slack would not submit: "${label}" is shorter than ${element.min_length} characters.`);
  }
}

/** The option the user picks, matched by value (or visible text), echoed as Slack echoes it. */
function pickOption(element: SlackObject, wanted: string, where: string): SlackObject {
  if (element.type === 'external_select' || element.type === 'multi_external_select') {
    return { text: { type: 'plain_text', text: wanted, emoji: true }, value: wanted };
  }
  const options: SlackObject[] = element.options ?? (element.option_groups ?? []).flatMap((g: SlackObject) => g.options ?? []);
  const option = options.find((o) => o.value === wanted) ?? options.find((o) => o.text?.text === wanted);
  if (!option) throw new Error(`${where} does not offer "${wanted}"; options: ${options.map((o) => `${o.value} (${o.text?.text})`).join(', ')}.`);
  const copy = structuredClone(option);
  if (copy.text?.type === 'plain_text' && copy.text.emoji === undefined) copy.text.emoji = true;
  return copy;
}

function findButton(blocks: SlackObject[], wanted: string | RegExp, where: string): { block: SlackObject; button: SlackObject } {
  const buttons: Array<{ block: SlackObject; button: SlackObject }> = [];
  for (const block of blocks) {
    if (block.type === 'actions' && Array.isArray(block.elements)) {
      for (const element of block.elements) if (element?.type === 'button') buttons.push({ block, button: element });
    } else if (block.type === 'section' && block.accessory?.type === 'button') buttons.push({ block, button: block.accessory });
  }
  const matches = (label: string) => (typeof wanted === 'string' ? label.startsWith(wanted) : wanted.test(label));
  const found = buttons.find(({ button }) => matches(String(button.text?.text ?? '')));
  if (!found) {
    const present = buttons.map(({ button }) => JSON.stringify(button.text?.text)).join(', ') || 'none';
    throw new Error(`No button ${typeof wanted === 'string' ? `starting with "${wanted}"` : `matching ${wanted}`} in ${where}; buttons present: ${present}.`);
  }
  return found;
}

function buttonAction(block: SlackObject, button: SlackObject, actionTs: string): SlackObject {
  return {
    action_id: button.action_id,
    block_id: block.block_id,
    text: { emoji: true, ...button.text },
    ...(button.value !== undefined ? { value: button.value } : {}),
    ...(button.style !== undefined ? { style: button.style } : {}),
    type: 'button',
    action_ts: actionTs,
  };
}

function formatTs(ms: number): string {
  const micros = Math.floor(ms * 1000);
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

function isObject(value: unknown): value is SlackObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
