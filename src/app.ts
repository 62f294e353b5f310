/**
 * Builds the running bot from its configuration: database, job runner, connectors, Bolt app and its HTTP
 * routes. `src/main.ts` starts and stops what this returns.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, type Receiver } from '@slack/bolt';
import type { Logger as BoltLogger } from '@slack/logger';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { createAutodeskConnector, WEBHOOKS_OFF, type AutodeskConnector } from './connectors/autodesk/index.js';
import { createManualConnector } from './connectors/manual/index.js';
import type { Connector } from './connectors/types.js';
import { openDatabase, type Db } from './db/connection.js';
import { queueHealth } from './jobs/queue.js';
import { JobRunner } from './jobs/runner.js';
import { createItAdmins } from './requests/it-admins.js';
import { registerFulfillment } from './requests/fulfillment.js';
import { createItemProgress } from './requests/service.js';
import { registerSlackJobs } from './slack/jobs.js';
import { registerListeners } from './slack/listeners/index.js';
import { registerTaskListeners, taskHomeBlocks, tasksCommandText } from './slack/tasks/listeners.js';
import type { Logger } from './util/log.js';
import { systemClock, type Clock } from './util/time.js';

export interface RunningBot {
  ctx: AppContext;
  db: Db;
  bolt: App;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const bolt = log.child({ component: 'bolt' });
  const text = (parts: unknown[]) => parts.map((part) => (part instanceof Error ? part.message : typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  return {
    debug: (...parts) => bolt.debug(text(parts)),
    info: (...parts) => bolt.info(text(parts)),
    warn: (...parts) => bolt.warn(text(parts)),
    error: (...parts) => bolt.error(text(parts)),
    setLevel: (next) => { level = next; },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** Request bodies larger than this are refused with 413, from their Content-Length or as soon as they pass it. */
const MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export interface BuildOptions {
  clock?: Clock;
}

export function buildBot(settings: Config, log: Logger, options: BuildOptions = {}): RunningBot {
  const clock = options.clock ?? systemClock;
  const db = openDatabase(settings.env.DATABASE_PATH);
  const jobs = settings.access.jobs;
  const runner = new JobRunner(db, clock, log.child({ component: 'jobs' }), { concurrency: jobs.concurrency, retryBaseMs: jobs.retryBase, retryMaxMs: jobs.retryMax, maxAttempts: jobs.maxAttempts });
  const connectors = new Map<string, Connector>();

  const routes = [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req: IncomingMessage, res: ServerResponse) => {
        try {
          db.prepare('SELECT 1').get();
          sendJson(res, 200, { ok: true, jobs: queueHealth(db, clock.now()) });
        } catch (error) {
          sendJson(res, 503, { ok: false, error: 'database unavailable' });
          log.error('health check failed', { error });
        }
      },
    },
    {
      path: '/webhooks/autodesk',
      method: ['POST'],
      handler: async (req: IncomingMessage, res: ServerResponse) => {
        try {
          // Off without a secret: an unsigned delivery must not even be read, let alone believed.
          if (!settings.autodesk.webhookSecret) return sendJson(res, WEBHOOKS_OFF.status, JSON.parse(WEBHOOKS_OFF.body));
          if (!autodesk) return sendJson(res, 404, { error: 'no app uses the autodesk connector' });
          const body = await readBody(req);
          const answer = await autodesk.handleWebhook(body, req.headers);
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(answer.body);
        } catch (error) {
          if (error instanceof BodyTooLarge) {
            // Close the connection: the rest of an oversized body is not worth receiving.
            res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
            res.end(JSON.stringify({ error: `request body over ${MAX_BODY_BYTES} bytes` }));
            return;
          }
          log.error('autodesk webhook failed', { error });
          sendJson(res, 500, { error: 'internal error' });
        }
      },
    },
  ];
  let autodesk: AutodeskConnector | undefined;

  const logger = boltLogger(log);
  const receiver: Receiver =
    settings.mode === 'socket'
      ? new SocketModeReceiver({
          appToken: settings.env.SLACK_APP_TOKEN!,
          customRoutes: routes,
          // Bolt serves custom routes on installerOptions.port in Socket Mode (not on app.start's port), and
          // passes installerOptions.clientOptions to the socket client: the sandboxes need both.
          installerOptions: { port: settings.env.PORT, clientOptions: settings.env.SLACK_API_URL ? { slackApiUrl: settings.env.SLACK_API_URL } : {} },
          logger,
        })
      : new HTTPReceiver({ signingSecret: settings.env.SLACK_SIGNING_SECRET!, endpoints: '/slack/events', customRoutes: routes, port: settings.env.PORT, logger });
  const bolt = new App({
    token: settings.env.SLACK_BOT_TOKEN,
    receiver,
    logger,
    clientOptions: {
      ...(settings.env.SLACK_API_URL ? { slackApiUrl: settings.env.SLACK_API_URL } : {}),
      // The job runner owns retries and backoff; a rate limit surfaces as an error carrying retryAfter.
      retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 500 },
      rejectRateLimitedCalls: true,
    },
  });
  bolt.error(async (error) => {
    log.error('slack listener failed', { error: error.message, code: (error as { code?: string }).code });
  });

  const ctx: AppContext = {
    db, config: settings.access, settings, clock, log, connectors, runner, slack: bolt.client, itAdmins: createItAdmins(settings.access.itAdmins),
    wake: () => runner.wake(),
    progress: undefined as never,
  };
  ctx.progress = createItemProgress(ctx);

  // One connector instance per kind: every Autodesk app shares one token, limiter and directory.
  let manual: Connector | undefined;
  for (const app of settings.access.apps) {
    if (app.connector === 'autodesk') connectors.set(app.id, (autodesk ??= createAutodeskConnector(ctx)));
    else connectors.set(app.id, (manual ??= createManualConnector(ctx)));
  }
  registerFulfillment(runner, ctx);
  registerSlackJobs(ctx, taskHomeBlocks);
  registerListeners(bolt, ctx, tasksCommandText);
  registerTaskListeners(bolt, ctx);
  for (const connector of new Set(connectors.values())) connector.registerJobs?.(runner);

  return {
    ctx, db, bolt,
    async start() {
      await bolt.start(settings.env.PORT);
      runner.start();
      // Bad credentials should show at start-up, not at the first approved request; never blocks start-up.
      for (const connector of new Set(connectors.values())) {
        connector.verify?.().then(
          () => log.info(`${connector.type} connector: credentials and API reachable`),
          (error: Error) => log.warn(`${connector.type} connector check failed; its items will retry until this is fixed`, { error: error.message }),
        );
      }
    },
    async stop() {
      await bolt.stop().catch((error: Error) => log.warn('slack receiver did not stop cleanly', { error: error.message }));
      await runner.stop();
      await autodesk?.close();
      db.close();
    },
  };
}
