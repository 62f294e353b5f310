/**
 * The Slack sandbox's data: what it records (calls, messages, ephemerals, views) and how tests configure it.
 * Shared by the Web API fake, the Block Kit validator, Socket Mode and the driver, so none of them imports another for a type.
 */
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
