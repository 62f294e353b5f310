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
import { acquireProcessLock } from './db/process-lock.js';
import { checkHealth } from './health.js';
import { JobRunner } from './jobs/runner.js';
import { createApproverEntries } from './requests/approver-entries.js';
import { createItAdmins } from './requests/it-admins.js';
import { createKnownEmails } from './requests/people.js';
import { createMetrics } from './metrics.js';
import { registerDelegationJobs } from './requests/delegation.js';
import { registerFulfillment } from './requests/fulfillment.js';
import { registerApprovalReminders } from './slack/approval-reminders.js';
import { createItemProgress } from './requests/service.js';
import { DIRECTORY_REFRESH_MS, refreshDirectory, resolveApproverEmails } from './slack/directory.js';
import { registerSlackJobs } from './slack/jobs.js';
import { registerListeners } from './slack/listeners/index.js';
import { PeopleDirectory } from './slack/people.js';
import { registerTaskJobs } from './slack/tasks/jobs.js';
import { registerTaskListeners, taskHomeBlocks, tasksCommandText } from './slack/tasks/listeners.js';
import { limitBodies, readBodyWithin } from './util/http-body.js';
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
  let lock;
  try {
    lock = acquireProcessLock(db, settings.env.DATABASE_PATH);
  } catch (error) {
    db.close();
    throw error;
  }
  const processLock = lock;
  const jobs = settings.access.jobs;
  const runner = new JobRunner(db, clock, log.child({ component: 'jobs' }), {
    concurrency: jobs.concurrency, retryBaseMs: jobs.retryBase, retryMaxMs: jobs.retryMax, giveUpAfterMs: jobs.giveUpAfter, maxAttempts: jobs.maxAttempts, housekeeping: { retentionMs: jobs.retention },
  });
  const connectors = new Map<string, Connector>();
  const metrics = createMetrics({ db, clock, settings });

  const routes = [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req: IncomingMessage, res: ServerResponse) => {
        const report = checkHealth(db, clock.now());
        if (report.body.status === 'down') log.error('health check failed: the database does not answer');
        sendJson(res, report.httpStatus, report.body);
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: async (_req: IncomingMessage, res: ServerResponse) => {
        try {
          const { contentType, text } = await metrics.scrape();
          res.writeHead(200, { 'content-type': contentType });
          res.end(text);
        } catch (error) {
          log.error('metrics scrape failed', { error: (error as Error).message });
          sendJson(res, 503, { error: 'metrics unavailable' });
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
          const body = await readBodyWithin(req, res);
          if (!body) return;
          const answer = await autodesk.handleWebhook(body, req.headers);
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(answer.body);
        } catch (error) {
          log.error('autodesk webhook failed', { error });
          sendJson(res, 500, { error: 'internal error' });
        }
      },
    },
  ];
  let autodesk: AutodeskConnector | undefined;

  const logger = boltLogger(log);
  // Without a timeout a hung Slack call would hold its job, and the serial queue behind it, for ever.
  const slackTimeout = { timeout: settings.env.SLACK_TIMEOUT_MS };
  const receiver: Receiver =
    settings.mode === 'socket'
      ? new SocketModeReceiver({
          appToken: settings.env.SLACK_APP_TOKEN!,
          customRoutes: routes,
          // Bolt serves custom routes on installerOptions.port in Socket Mode (not on app.start's port), and
          // passes installerOptions.clientOptions to the socket client: the sandboxes need both.
          installerOptions: { port: settings.env.PORT, clientOptions: { ...slackTimeout, ...(settings.env.SLACK_API_URL ? { slackApiUrl: settings.env.SLACK_API_URL } : {}) } },
          logger,
        })
      : new HTTPReceiver({ signingSecret: settings.env.SLACK_SIGNING_SECRET!, endpoints: '/slack/events', customRoutes: routes, port: settings.env.PORT, logger });
  if (receiver instanceof HTTPReceiver) receiver.requestListener = limitBodies(receiver.requestListener, ['/slack/events']);
  const bolt = new App({
    token: settings.env.SLACK_BOT_TOKEN,
    receiver,
    logger,
    clientOptions: {
      ...(settings.env.SLACK_API_URL ? { slackApiUrl: settings.env.SLACK_API_URL } : {}),
      // The job runner owns retries and backoff; a rate limit surfaces as an error carrying retryAfter.
      retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 500 },
      rejectRateLimitedCalls: true,
      ...slackTimeout,
      // Bolt hands these options to every client it makes (listeners get their own), so all Slack calls are counted.
      ...metrics.slackClientOptions,
    },
  });
  bolt.error(async (error) => {
    log.error('slack listener failed', { error: error.message, code: (error as { code?: string }).code });
  });

  // One copy of what groups and e-mails name, shared by the IT team and the approval steps.
  const approverEntries = createApproverEntries();
  const ctx: AppContext = {
    db, config: settings.access, settings, clock, log, connectors, runner, slack: bolt.client,
    itAdmins: createItAdmins(settings.access.itAdmins, approverEntries), approverEntries, knownEmails: createKnownEmails(),
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
  registerApprovalReminders(runner, ctx);
  registerDelegationJobs(runner, ctx);
  registerSlackJobs(ctx, taskHomeBlocks);
  registerTaskJobs(runner, ctx);
  const people = new PeopleDirectory(db, bolt.client, clock, log.child({ component: 'people' }));
  registerListeners(bolt, ctx, tasksCommandText, people);
  registerTaskListeners(bolt, ctx);
  for (const connector of new Set(connectors.values())) connector.registerJobs?.(runner);

  let directoryTimer: NodeJS.Timeout | undefined;
  return {
    ctx, db, bolt,
    async start() {
      // Before anything else: an approver e-mail nobody in Slack has stops start-up, naming it.
      await resolveApproverEmails(ctx);
      // Who the IT admins are and the deciders' e-mails are known before the first click is judged; an
      // unreachable Slack delays start-up a little, never blocks it (clicks then read the clicker themselves).
      await Promise.race([refreshDirectory(ctx), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      directoryTimer = setInterval(() => void refreshDirectory(ctx), DIRECTORY_REFRESH_MS);
      directoryTimer.unref();
      await bolt.start(settings.env.PORT);
      runner.start();
      people.start();
      // Bad credentials should show at start-up, not at the first approved request; never blocks start-up.
      for (const connector of new Set(connectors.values())) {
        connector.verify?.().then(
          () => log.info(`${connector.type} connector: credentials and API reachable`),
          (error: Error) => log.warn(`${connector.type} connector check failed; its items will retry until this is fixed`, { error: error.message }),
        );
      }
    },
    async stop() {
      clearInterval(directoryTimer);
      await bolt.stop().catch((error: Error) => log.warn('slack receiver did not stop cleanly', { error: error.message }));
      await runner.stop();
      await people.stop();
      await autodesk?.close();
      metrics.close();
      processLock.release();
      db.close();
    },
  };
}
