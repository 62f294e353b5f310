/**
 * A local, stateful stand-in for Slack, served over real HTTP so the bot's own WebClient talks to it unchanged
 * (`slackApiUrl: sandbox.apiUrl`). This file is only the wiring: `/api/<method>` and `/response/<id>` go to the
 * Web API fake (`web-api.ts`, which checks Block Kit with `block-kit.ts`), and WebSocket upgrades go to the
 * Socket Mode link (`socket-mode.ts`). Imports run one way, from here down. Used by tests and `npm run demo`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isObject } from './block-kit.js';
import { SocketModeLink } from './socket-mode.js';
import type { SlackObject, SlackSandboxOptions } from './types.js';
import { SlackWebApi } from './web-api.js';

// Tests and the demo import the sandbox's types and the validator from here, as they did before the split.
export type * from './types.js';
export { validateBlocks, validateView } from './block-kit.js';
export type { ApiAnswer } from './web-api.js';

/** JSON-valued arguments of form-encoded calls, as Slack decodes them. */
const JSON_ARGS = new Set(['blocks', 'attachments', 'view', 'metadata']);

export class SlackSandbox extends SlackWebApi {
  /** Socket Mode: the bot's connections, the envelopes sent to it and its acks. */
  readonly socketMode: SocketModeLink;

  private readonly server: Server;

  private constructor(opts: SlackSandboxOptions) {
    super(opts);
    this.socketMode = new SocketModeLink({ appId: this.appId, now: this.now, onChange: () => this.changed(), pingIntervalMs: opts.socketPingIntervalMs });
    this.handlers['apps.connections.open'] = () => ({ url: this.socketMode.issueUrl(this.baseUrl.replace(/^http/, 'ws')) });
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

  /** Clears recorded state and pending failures (Socket Mode's too); users and DM channel ids stay. */
  override reset(): void {
    super.reset();
    this.socketMode.reset();
  }

  async close(): Promise<void> {
    this.abortWaits();
    await this.socketMode.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const raw = await readBody(req);
    const latencyMs = this.latencyOf(decodeURIComponent(url.pathname.slice('/api/'.length)));
    if (latencyMs) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (url.pathname.startsWith('/api/')) return this.handleApi(decodeURIComponent(url.pathname.slice('/api/'.length)), req, url, raw, res);
    if (url.pathname.startsWith('/response/') && req.method === 'POST') {
      const answer = this.answerResponseUrl(url.pathname.slice('/response/'.length), raw);
      return sendJson(res, answer.status, answer.body, answer.headers);
    }
    sendJson(res, 404, { ok: false, error: 'not_found' });
  }

  private handleApi(method: string, req: IncomingMessage, url: URL, raw: string, res: ServerResponse): void {
    let args: SlackObject = Object.fromEntries(url.searchParams);
    const parsed = parseApiBody(req.headers['content-type'], raw);
    let token: string | undefined;
    if (parsed !== undefined) {
      args = { ...args, ...parsed };
      const bearer = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1];
      token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
      delete args.token;
    }
    const answer = this.answerCall(method, args, parsed, token);
    // A hung call gets no answer at all: the client's own timeout has to end it.
    if (answer) sendJson(res, answer.status, answer.body, answer.headers);
  }
}

export async function startSlackSandbox(opts: SlackSandboxOptions = {}): Promise<SlackSandbox> {
  return SlackSandbox.start(opts);
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
