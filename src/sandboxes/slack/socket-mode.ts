/**
 * Slack's side of Socket Mode, served by the Slack sandbox on its own HTTP server. `apps.connections.open`
 * (handled by the sandbox) hands out a single-use ticket URL, `ws://127.0.0.1:<port>/link/?ticket=…`; the
 * bot's @slack/socket-mode client connects there, receives Slack's `hello`, then gets envelopes
 * (`slash_commands`, `interactive`, `events_api`) that it acknowledges with `{ envelope_id, payload? }`.
 * The link pings like Slack does (the client disconnects when server pings stop), answers the client's pings,
 * and can ask the client to reconnect with a `disconnect` message, as Slack does when it recycles a link.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { SlackObject } from './types.js';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** Slack's reasons in `disconnect` messages: a refresh is coming, a refresh now, or the app's link was disabled. */
export type DisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled';

/** One message from Slack to the app, exactly as sent over the socket. */
export interface SocketModeEnvelope {
  envelope_id: string;
  payload: SlackObject;
  type: EnvelopeType;
  accepts_response_payload: boolean;
  /** events_api only: 0 on the first delivery. */
  retry_attempt?: number;
  /** events_api only: '' on the first delivery. */
  retry_reason?: string;
}

export interface SocketModeConnection {
  id: string;
  openedAt: number;
  closedAt?: number;
  /** The WebSocket close code (1000 when the bot disconnected cleanly, 1006 when the link just dropped). */
  closeCode?: number;
}

/** What the app sent back for an envelope. */
export interface SocketModeAck {
  envelopeId: string;
  /** The ack's `payload` as the app sent it; undefined when it sent none. */
  payload?: SlackObject;
  connectionId: string;
  at: number;
  /** Set when Slack would not count this as the ack of a waiting envelope (late, unknown, malformed). */
  problem?: string;
}

export interface SocketModeDelivery {
  envelope: SocketModeEnvelope;
  connectionId: string;
  sentAt: number;
  ack?: SocketModeAck;
  /** Why no ack counted (timed out, the link closed first). */
  failure?: string;
}

export interface DeliverOptions {
  /** Slack stops waiting for the ack after 3000 ms. */
  timeoutMs?: number;
  /** events_api redeliveries: the attempt number and why (e.g. 'http_timeout'). */
  retryAttempt?: number;
  retryReason?: string;
}

export interface SocketModeLinkOptions {
  appId: string;
  now: () => number;
  /** Called after anything is recorded, so the sandbox's waitFor wakes up. */
  onChange: () => void;
  /** How often the link pings each connection; must stay under the client's 30 s server-ping timeout. */
  pingIntervalMs?: number;
}

interface PendingAck {
  delivery: SocketModeDelivery;
  resolve: (ack: SocketModeAck) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const DEBUG_HOST = 'applink-sandbox';

/** Whether `type` lets the app answer with a payload, as Slack sets `accepts_response_payload`. */
export function acceptsResponsePayload(type: EnvelopeType, payload: SlackObject): boolean {
  if (type === 'slash_commands') return true;
  if (type === 'interactive') return payload.type === 'view_submission' || payload.type === 'block_suggestion';
  return false;
}

export class SocketModeLink {
  /** Every connection made, oldest first; open ones have no `closedAt`. */
  readonly connections: SocketModeConnection[] = [];
  /** Every envelope sent, with its ack once it arrives. */
  readonly deliveries: SocketModeDelivery[] = [];
  /** Every ack received, including ones that did not count (see `problem`). */
  readonly acks: SocketModeAck[] = [];

  private readonly server = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly tickets = new Set<string>();
  private readonly sockets = new Map<string, WebSocket>();
  private readonly pending = new Map<string, PendingAck>();
  private readonly pingIntervalMs: number;
  private connectionCounter = 0;
  private nextPick = 0;

  constructor(private readonly opts: SocketModeLinkOptions) {
    this.pingIntervalMs = opts.pingIntervalMs ?? 10_000;
  }

  /** Connections that are open now, oldest first. */
  get openConnections(): SocketModeConnection[] {
    return this.connections.filter((c) => c.closedAt === undefined && this.sockets.get(c.id)?.readyState === WebSocket.OPEN);
  }

  /** A new single-use WebSocket URL, as apps.connections.open returns it. `wsBase` is e.g. ws://127.0.0.1:1234 */
  issueUrl(wsBase: string): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `${wsBase}/link/?ticket=${ticket}&app_id=${encodeURIComponent(this.opts.appId)}`;
  }

  /** The HTTP server's 'upgrade' handler: accepts /link/ with a ticket not used yet, refuses anything else. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    if (url.pathname !== '/link/' && url.pathname !== '/link') return refuseUpgrade(socket, 404, 'Not Found');
    const ticket = url.searchParams.get('ticket');
    if (!ticket || !this.tickets.delete(ticket)) return refuseUpgrade(socket, 401, 'Unauthorized');
    this.server.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /**
   * Sends an envelope over one open connection (Slack spreads envelopes across an app's connections) and
   * resolves with the app's ack. Rejects when no connection is open, the link closes first, or no ack comes
   * within `timeoutMs`; Slack then shows the user an error (or, for events, redelivers later).
   */
  deliver(type: EnvelopeType, payload: SlackObject, opts: DeliverOptions = {}): Promise<SocketModeAck> {
    const open = this.openConnections;
    if (open.length === 0) {
      return Promise.reject(new Error(`Slack sandbox: no Socket Mode connection is open, so Slack cannot dispatch this ${type} envelope to the app.`));
    }
    const connection = open[this.nextPick++ % open.length] as SocketModeConnection;
    const ws = this.sockets.get(connection.id) as WebSocket;
    const envelope: SocketModeEnvelope = {
      envelope_id: randomUUID(),
      payload,
      type,
      accepts_response_payload: acceptsResponsePayload(type, payload),
      ...(type === 'events_api' ? { retry_attempt: opts.retryAttempt ?? 0, retry_reason: opts.retryReason ?? '' } : {}),
    };
    const delivery: SocketModeDelivery = { envelope, connectionId: connection.id, sentAt: this.opts.now() };
    this.deliveries.push(delivery);
    this.opts.onChange();
    const timeoutMs = opts.timeoutMs ?? 3000;
    return new Promise<SocketModeAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(envelope.envelope_id, `The bot did not acknowledge the ${type} envelope within ${timeoutMs} ms over Socket Mode; Slack would show the user an error.`);
      }, timeoutMs);
      this.pending.set(envelope.envelope_id, { delivery, resolve, reject, timer });
      ws.send(JSON.stringify(envelope), (error) => {
        if (error) this.fail(envelope.envelope_id, `Slack sandbox: sending the envelope failed: ${error.message}`);
      });
    });
  }

  /** Sends Slack's `disconnect` message on every open connection; the client closes and reconnects. Returns how many. */
  requestDisconnect(reason: DisconnectReason = 'refresh_requested'): number {
    const open = this.openConnections;
    for (const connection of open) {
      this.sockets.get(connection.id)?.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: DEBUG_HOST } }));
    }
    return open.length;
  }

  /** Drops every connection without a close handshake, as a network failure would. */
  dropConnections(): void {
    for (const ws of this.sockets.values()) ws.terminate();
  }

  /** Forgets recorded deliveries and acks; live connections stay. */
  reset(): void {
    this.deliveries.length = 0;
    this.acks.length = 0;
  }

  async close(): Promise<void> {
    for (const id of [...this.pending.keys()]) this.fail(id, 'Slack sandbox closed while waiting for an ack');
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- internals

  private accept(ws: WebSocket): void {
    const connection: SocketModeConnection = { id: `L${++this.connectionCounter}`, openedAt: this.opts.now() };
    this.connections.push(connection);
    this.sockets.set(connection.id, ws);
    const pinger = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.ping(`ping from sandbox (${this.opts.now()})`);
    }, this.pingIntervalMs);
    pinger.unref();
    ws.on('message', (data, isBinary) => this.receive(connection, data, isBinary));
    ws.on('error', () => undefined); // a broken link also emits 'close', which does the bookkeeping
    ws.on('close', (code) => {
      clearInterval(pinger);
      connection.closedAt = this.opts.now();
      connection.closeCode = code;
      this.sockets.delete(connection.id);
      for (const [id, pending] of this.pending) {
        if (pending.delivery.connectionId === connection.id) this.fail(id, `The Socket Mode connection closed (code ${code}) before the bot acknowledged the envelope.`);
      }
      this.opts.onChange();
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.openConnections.length,
        debug_info: { host: DEBUG_HOST, build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.opts.appId },
      }),
    );
    this.opts.onChange();
  }

  private receive(connection: SocketModeConnection, data: RawData, isBinary: boolean): void {
    const at = this.opts.now();
    const stray = (problem: string, envelopeId = '') => {
      this.acks.push({ envelopeId, connectionId: connection.id, at, problem });
      this.opts.onChange();
    };
    if (isBinary) return stray('binary message');
    let message: unknown;
    try {
      message = JSON.parse(rawText(data));
    } catch {
      return stray(`not JSON: ${rawText(data).slice(0, 200)}`);
    }
    if (!isObject(message) || typeof message.envelope_id !== 'string') return stray('a message without an envelope_id');
    const envelopeId = message.envelope_id;
    if (message.payload !== undefined && !isObject(message.payload)) return stray('payload must be an object', envelopeId);
    const ack: SocketModeAck = { envelopeId, connectionId: connection.id, at, ...(message.payload !== undefined ? { payload: message.payload } : {}) };
    const pending = this.pending.get(envelopeId);
    if (!pending) {
      const delivery = this.deliveries.find((d) => d.envelope.envelope_id === envelopeId);
      ack.problem = !delivery ? 'no envelope with this id was sent' : delivery.ack ? 'acknowledged twice' : `acknowledged after Slack stopped waiting (${delivery.failure ?? 'gave up'})`;
      this.acks.push(ack);
      this.opts.onChange();
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(envelopeId);
    pending.delivery.ack = ack;
    this.acks.push(ack);
    this.opts.onChange();
    pending.resolve(ack);
  }

  private fail(envelopeId: string, reason: string): void {
    const pending = this.pending.get(envelopeId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(envelopeId);
    pending.delivery.failure = reason;
    this.opts.onChange();
    pending.reject(new Error(reason));
  }
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function isObject(value: unknown): value is SlackObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
