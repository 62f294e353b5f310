/**
 * Test harness for the Autodesk connector: the real Autodesk sandbox, a real SQLite file, the real job runner,
 * fulfillment job and request service, and a minimal AppContext around them. A "bot" can be crashed and a new
 * one started on the same file, as after a restart.
 */
import { EventEmitter } from 'node:events';
import { afterEach } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBot } from '../../src/app.js';
import { configFor, parseAccessConfig } from '../../src/config.js';
import type { AutodeskConnector, AutodeskConnectorOptions } from '../../src/connectors/autodesk/index.js';
import type { AppContext } from '../../src/context.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import type { JobRunner, RunnerOptions } from '../../src/jobs/runner.js';
import type { Item, RequestKind } from '../../src/requests/model.js';
import { getItem } from '../../src/requests/repository.js';
import { decide, submitRequest } from '../../src/requests/service.js';
import { startAutodeskSandbox, type AutodeskSandbox, type AutodeskSandboxOptions } from '../../src/sandboxes/autodesk/server.js';
import { startSlackSandbox, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { silentLogger } from '../../src/util/log.js';
import { dateInZone, systemClock, type Clock } from '../../src/util/time.js';
import { wordsText } from '../../src/requests/words.js';

export const REQUESTER = 'U0REQUESTER';
export const APPROVER = 'U0APPROVER';
export const APP_ID = 'autodesk';

export interface HarnessOptions {
  sandbox?: AutodeskSandboxOptions;
  /** Overrides of the autodesk app in access.config.json (raw JSON, durations as strings). */
  app?: Record<string, unknown>;
  protectedEmails?: string[];
  /** @default 360_000 (10 ms between calls) */
  perHour?: number;
  /** @default the sandbox's cap, 10 */
  maxConcurrent?: number;
  webhookSecret?: string;
  connector?: AutodeskConnectorOptions;
  runner?: RunnerOptions;
  clock?: Clock;
}

export interface Bot {
  db: Db;
  ctx: AppContext;
  connector: AutodeskConnector;
  runner: JobRunner;
  /** Graceful stop: running jobs finish, the pool closes. */
  stop(): Promise<void>;
  /** Like a killed process: no new work, connections dropped with calls in flight, database closed. */
  crash(): Promise<void>;
}

export interface Harness {
  sandbox: AutodeskSandbox;
  /** Where the bot's cards and DMs go: its Slack jobs run as in production. */
  slack: SlackSandbox;
  dbPath: string;
  bot: Bot;
  events: EventEmitter;
  /** Submits one request for these e-mails and approves it; fulfillment starts at once. */
  submit(kind: RequestKind, emails: string[], options?: { role?: string; teams?: string[]; effectiveDate?: string }): { requestId: string; itemIds: number[] };
  /** Runs every queued job now, as if their time had come. */
  runQueuedNow(): void;
  items(itemIds: number[]): Item[];
  /** Resolves with the items once `done` says so; checked whenever the bot reports a change. */
  waitForItems(itemIds: number[], done: (items: Item[]) => boolean, timeoutMs?: number): Promise<Item[]>;
  /** Resolves once every item is completed or failed. */
  settle(itemIds: number[], timeoutMs?: number): Promise<Item[]>;
  /** Starts a new bot on the same database file (after stop or crash). */
  restart(): Bot;
  /** Receives the sandbox's webhooks and hands them to the current bot's connector. */
  listenForWebhooks(): Promise<string>;
  close(): Promise<void>;
}

const TERMINAL = new Set(['completed', 'failed', 'denied']);

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sandbox = await startAutodeskSandbox({ ...(options.webhookSecret ? { webhookSecret: options.webhookSecret } : {}), ...options.sandbox });
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-autodesk-'));
  const dbPath = join(dir, 'accessbot.db');
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const clock = options.clock ?? systemClock;
  const slack = await startSlackSandbox({
    users: [REQUESTER, APPROVER, 'U0ADMIN'].map((id) => ({ id, name: id.toLowerCase(), email: `${id.toLowerCase()}@example.com` })),
  });

  const access = parseAccessConfig({
    itChannel: 'C0ITOPS',
    itAdmins: ['U0ADMIN'],
    timezone: 'UTC',
    protectedEmails: options.protectedEmails ?? ['breakglass@example.com'],
    apps: [
      {
        id: APP_ID, name: 'Autodesk', connector: 'autodesk', approvers: [APPROVER],
        roles: ['user', 'admin', 'viewer'], defaultRole: 'user',
        teams: [{ id: 'team-789', name: 'Design Team', role: 'member' }],
        offboardAction: 'deactivate', pendingPollEvery: '15m', pendingGiveUpAfter: '14d',
        ...options.app,
      },
    ],
  });
  const settings = configFor(access, {
    SLACK_BOT_TOKEN: slack.botToken, SLACK_SIGNING_SECRET: 'test-secret', SLACK_API_URL: slack.apiUrl, DATABASE_PATH: dbPath, PORT: '0',
    AUTODESK_BASE_URL: sandbox.baseUrl, AUTODESK_TOKEN_URL: sandbox.tokenUrl, AUTODESK_CLIENT_ID: sandbox.clientId, AUTODESK_CLIENT_SECRET: sandbox.clientSecret,
    AUTODESK_RATE_PER_HOUR: String(options.perHour ?? 360_000), AUTODESK_MAX_CONCURRENT: String(options.maxConcurrent ?? 10), AUTODESK_WEBHOOK_SECRET: options.webhookSecret,
  });

  function startBot(): Bot {
    // The same wiring as `npm start`, without serving Slack: the harness drives the request service itself.
    const running = buildBot(settings, silentLogger, {
      clock, verifySlackToken: false,
      connectorOptions: { autodesk: options.connector },
      runner: { retryBaseMs: 50, retryMaxMs: 400, pollMs: 25, stopGraceMs: 3000, ...options.runner },
      onWake: () => events.emit('change'),
    });
    const connector = running.connectorsByKind.get('autodesk') as AutodeskConnector;
    void running.start({ slack: false });
    return {
      db: running.db, ctx: running.ctx, connector, runner: running.runner,
      stop: () => running.stop(),
      async crash() {
        const stopping = running.runner.stop();
        await connector.client.destroy();
        await stopping;
        // What is left (the lock, the pool already gone) is let go as the next process would find it.
        await running.stop();
      },
    };
  }

  let bot = startBot();
  let webhookServer: Server | undefined;
  let closed = false;

  const harness: Harness = {
    sandbox, slack, dbPath, events,
    get bot() {
      return bot;
    },
    submit(kind, emails, opts = {}) {
      const ctx = bot.ctx;
      const { requestId } = submitRequest(ctx, {
        kind, requesterId: REQUESTER, appIds: [APP_ID], justification: 'test',
        effectiveDate: opts.effectiveDate ?? dateInZone(clock.now(), 'UTC'),
        subjects: emails.map((email) => ({ slackId: null, email, firstName: 'Test', lastName: 'Person' })),
        options: { role: opts.role, teams: opts.teams },
      });
      const decision = decide(ctx, requestId, APPROVER, 'approve');
      if (!decision.ok) throw new Error(`approval refused: ${decision.reason}`);
      const itemIds = (ctx.db.prepare('SELECT id FROM items WHERE request_id = ? ORDER BY id').all(requestId) as { id: number }[]).map((row) => row.id);
      return { requestId, itemIds };
    },
    runQueuedNow() {
      bot.db.prepare("UPDATE jobs SET run_at = 0 WHERE state = 'queued'").run();
      bot.runner.wake();
    },
    items(itemIds) {
      return itemIds.map((id) => getItem(bot.db, id)!);
    },
    waitForItems(itemIds, done, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (closed || !bot.db.open) return;
          const items = harness.items(itemIds);
          if (done(items)) {
            cleanup();
            resolve(items);
          }
        };
        // A fallback look now and then covers changes that wake nobody (a job picked up after a restart).
        const fallback = setInterval(check, 200);
        const timer = setTimeout(() => {
          cleanup();
          const states = bot.db.open ? harness.items(itemIds).map((item) => `${item.id}:${item.state}(${item.detail === null ? null : wordsText(item.detail)})`).join(', ') : 'db closed';
          reject(new Error(`items did not reach the expected state in ${timeoutMs} ms: ${states}`));
        }, timeoutMs);
        const cleanup = () => {
          clearInterval(fallback);
          clearTimeout(timer);
          events.off('change', check);
        };
        events.on('change', check);
        check();
      });
    },
    settle(itemIds, timeoutMs) {
      return harness.waitForItems(itemIds, (items) => items.every((item) => TERMINAL.has(item.state)), timeoutMs);
    },
    restart() {
      bot = startBot();
      return bot;
    },
    async listenForWebhooks() {
      webhookServer = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          bot.connector.handleWebhook(Buffer.concat(chunks), req.headers).then(
            (answer) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body),
            () => res.writeHead(500).end(),
          );
        });
      });
      await new Promise<void>((resolve) => webhookServer!.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}/webhooks/autodesk`;
      sandbox.setWebhookUrl(url);
      return url;
    },
    async close() {
      closed = true;
      if (bot.db.open) await bot.stop();
      await sandbox.close();
      await slack.close();
      if (webhookServer) await new Promise<void>((resolve) => webhookServer!.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A database file in a fresh temp folder, with every migration applied. */
export function tempDatabase(): { db: Db; path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-autodesk-'));
  const path = join(dir, 'test.db');
  const db = openDatabase(path);
  return { db, path, cleanup: () => { if (db.open) db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** Requests the sandbox answered for this user's own resource (`/users/<id>`), by method and status. */
export function userCalls(sandbox: AutodeskSandbox, userId: string, method: string, status?: number): number {
  return sandbox.requests.filter((r) => r.method === method && r.path === `/users/${userId}` && (status === undefined || r.status === status)).length;
}

export function listCalls(sandbox: AutodeskSandbox): number {
  return sandbox.requests.filter((r) => r.method === 'GET' && (r.path === '/users' || r.path.startsWith('/users?'))).length;
}

/** A fresh harness per call, all closed after each test of the file that calls this at its top level. */
export function harnessPerTest(): (options?: HarnessOptions) => Promise<Harness> {
  const open: Harness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });
  return async (options = {}) => {
    const h = await startHarness(options);
    open.push(h);
    return h;
  };
}

/**
 * The real time plus an offset a test moves forward, so "read before the approval" and "read after it" are
 * certain instead of depending on the milliseconds between two statements.
 */
export function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => { offset += ms; } };
}
