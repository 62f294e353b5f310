/**
 * Builds the running bot from its configuration: database, job runner, connectors, Bolt app and its HTTP
 * routes. `src/main.ts` starts and stops what this returns.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, type Receiver } from '@slack/bolt';
import type { Logger as BoltLogger } from '@slack/logger';
import { ConfigError, isProtectedEmail, settingsOf, type Config } from './config.js';
import type { AppContext } from './context.js';
import { shippedPlugins } from './connectors/plugins.js';
import type { AnyConnectorPlugin, Connector, ConnectorDeps, ItemPort } from './connectors/types.js';
import { writeAudit } from './db/audit.js';
import { openDatabase, type Db } from './db/connection.js';
import { acquireProcessLock } from './db/process-lock.js';
import { checkHealth } from './health.js';
import { enqueue } from './jobs/queue.js';
import { JobRunner, type RunnerOptions } from './jobs/runner.js';
import { createApproverEntries } from './requests/approver-entries.js';
import { createItAdmins } from './requests/it-admins.js';
import { createMetrics } from './metrics.js';
import { registerDelegationJobs } from './requests/delegation.js';
import { registerFulfillment } from './requests/fulfillment.js';
import { registerExpiryJobs } from './requests/expiry.js';
import { refreshHomes } from './requests/notices.js';
import { storedPreviewOf } from './requests/previews.js';
import { registerPreviewJob } from './requests/preview-jobs.js';
import { registerApprovalReminders } from './slack/approval-reminders.js';
import { getItem, markSeen } from './requests/repository.js';
import { createItemProgress, fulfillmentItemOf } from './requests/service.js';
import { DIRECTORY_REFRESH_MS, refreshDirectory, resolveApproverEmails } from './slack/directory.js';
import { registerSlackJobs } from './slack/jobs.js';
import { registerLeaverJob } from './slack/leavers.js';
import { registerPersonReportJobs } from './slack/person-report.js';
import { registerListeners } from './slack/listeners/index.js';
import { knownPeopleIn, PeopleDirectory } from './slack/people.js';
import { registerTaskJobs } from './slack/tasks/jobs.js';
import { taskHomeBlocks } from './slack/tasks/home.js';
import { createTaskPort } from './tasks/service.js';
import { limitBodies } from './util/http-body.js';
import type { Logger } from './util/log.js';
import { systemClock, type Clock } from './util/time.js';

export interface RunningBot {
  ctx: AppContext;
  db: Db;
  bolt: App;
  runner: JobRunner;
  /** One connector per plugin kind the config uses, by kind. */
  connectorsByKind: ReadonlyMap<string, Connector>;
  /**
   * Starts everything. `{ slack: false }` starts only the job runner: for in-process test harnesses that drive the
   * core directly and serve no Slack requests.
   */
  start(options?: { slack?: boolean }): Promise<void>;
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
  /** The connector kinds apps may name; the shipped list unless a test adds a plugin of its own. */
  plugins?: readonly AnyConnectorPlugin[];
  /** Per plugin kind, what its `create` takes beside its deps (tests tune the Autodesk client with it). */
  connectorOptions?: Readonly<Record<string, unknown>>;
  /** Runner tuning beyond the config's `jobs` (tests poll faster). */
  runner?: Partial<RunnerOptions>;
  /** Called whenever work is enqueued or an item moves, after the runner is woken (tests await it). */
  onWake?: () => void;
  /** Web API client options beside the bot's own (tests turn Bolt's retries off). */
  slackClient?: { retryConfig?: { retries: number } };
  /**
   * Bolt checks the bot token (auth.test) as the app is built; false skips it, for harnesses that serve no Slack
   * requests and close their Slack sandbox while that check could still be under way. @default true
   */
  verifySlackToken?: boolean;
}

/**
 * The plugin of every app, by app id: an app naming a kind no plugin has stops start-up with one line naming its
 * JSON path (the config parser already refuses it; this guards a config parsed with other plugins).
 */
function pluginsOfApps(settings: Config, plugins: readonly AnyConnectorPlugin[]): Map<string, AnyConnectorPlugin> {
  const byKind = new Map(plugins.map((plugin) => [plugin.kind, plugin]));
  const problems: string[] = [];
  const byApp = new Map<string, AnyConnectorPlugin>();
  settings.access.apps.forEach((app, index) => {
    const plugin = byKind.get(app.connector);
    if (plugin) byApp.set(app.id, plugin);
    else problems.push(`apps[${index}].connector: no connector plugin "${app.connector}" (known: ${[...byKind.keys()].join(', ')})`);
  });
  if (problems.length) throw new ConfigError('access.config.json', problems);
  return byApp;
}

export function buildBot(settings: Config, log: Logger, options: BuildOptions = {}): RunningBot {
  const clock = options.clock ?? systemClock;
  const plugins: readonly AnyConnectorPlugin[] = options.plugins ?? shippedPlugins();
  const pluginOfApp = pluginsOfApps(settings, plugins);
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
    concurrency: jobs.concurrency, retryBaseMs: jobs.retryBase, retryMaxMs: jobs.retryMax, giveUpAfterMs: jobs.giveUpAfter, maxAttempts: jobs.maxAttempts, housekeeping: { retentionMs: jobs.retention, pruners: plugins.flatMap((plugin) => plugin.housekeeping ?? []) },
    ...options.runner,
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
  ];

  // One copy of what groups and e-mails name, shared by the IT team and the approval steps.
  const approverEntries = createApproverEntries();
  const ctx: AppContext = {
    db, config: settings.access, settings, clock, log, connectors, runner,
    // Set once the Bolt app exists below; nothing reads it while connectors are built.
    // eslint-disable-next-line no-restricted-syntax -- a construction-order placeholder, not listener wiring.
    slack: undefined as never,
    itAdmins: createItAdmins(settings.access.itAdmins, approverEntries), approverEntries, knownEmails: knownPeopleIn(db),
    wake: () => {
      runner.wake();
      options.onWake?.();
    },
    // eslint-disable-next-line no-restricted-syntax -- set on the next line: progress needs the finished context.
    progress: undefined as never,
    // eslint-disable-next-line no-restricted-syntax -- set with `slack` below: the directory reads Slack through the Bolt client.
    people: undefined as never,
    // eslint-disable-next-line no-restricted-syntax -- set below: tasks need the item port, which needs progress.
    tasks: undefined as never,
  };
  ctx.progress = createItemProgress(ctx);

  const items: ItemPort = {
    ...ctx.progress,
    get: (itemId) => getItem(db, itemId),
    fulfillmentItem: (itemId) => fulfillmentItemOf(ctx, itemId),
    storedPreview: (itemId) => storedPreviewOf(db, itemId),
  };
  ctx.tasks = {
    db, config: settings.access, clock, itAdmins: ctx.itAdmins, wake: ctx.wake, items, homesChanged: (userIds) => refreshHomes(ctx, userIds),
  };
  const tasks = createTaskPort(ctx.tasks);
  // One connector instance per kind: every app of a kind shares one token, limiter and directory.
  const connectorsByKind = new Map<string, Connector>();
  for (const app of settings.access.apps) {
    const plugin = pluginOfApp.get(app.id)!;
    let connector = connectorsByKind.get(plugin.kind);
    if (!connector) {
      const deps: ConnectorDeps<{ id: string; connector: string }, unknown> = {
        db, clock, log: log.child({ component: `connector:${plugin.kind}` }), settings: settingsOf(settings, plugin), items, timezone: settings.access.timezone,
        apps: settings.access.apps.filter((each) => each.connector === plugin.kind),
        enqueue: (kind, payload, enqueueOptions) => enqueue(db, clock.now(), kind, payload, enqueueOptions),
        registerJob: (kind, handler) => runner.register(kind, handler),
        wake: ctx.wake,
        audit: (entry) => writeAudit(db, clock.now(), entry),
        markSeen: (eventId) => markSeen(db, eventId, clock.now()),
        isProtectedEmail: (email) => isProtectedEmail(settings.access, email),
        tasks,
        // Connectors run only once the bot has started, after `people` below exists.
        slackUserIdOfEmail: (email) => people.activeUserIdOf(email),
      };
      connector = plugin.create(deps, options.connectorOptions?.[plugin.kind]);
      connectorsByKind.set(plugin.kind, connector);
      for (const route of connector.routes ?? []) routes.push(route);
    }
    connectors.set(app.id, connector);
  }
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
    ...(options.verifySlackToken === false ? { tokenVerificationEnabled: false } : {}),
    clientOptions: {
      ...(settings.env.SLACK_API_URL ? { slackApiUrl: settings.env.SLACK_API_URL } : {}),
      // The job runner owns retries and backoff; a rate limit surfaces as an error carrying retryAfter.
      retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 500 },
      rejectRateLimitedCalls: true,
      ...slackTimeout,
      // Bolt hands these options to every client it makes (listeners get their own), so all Slack calls are counted.
      ...metrics.slackClientOptions,
      ...options.slackClient,
    },
  });
  ctx.slack = bolt.client;
  const people = new PeopleDirectory(db, bolt.client, clock, log.child({ component: 'people' }));
  ctx.people = people;
  bolt.error(async (error) => {
    log.error('slack listener failed', { error: error.message, code: (error as { code?: string }).code });
  });

  registerFulfillment(runner, ctx);
  registerExpiryJobs(runner, ctx);
  registerPreviewJob(runner, ctx);
  registerApprovalReminders(runner, ctx);
  registerDelegationJobs(runner, ctx);
  registerSlackJobs(ctx, taskHomeBlocks);
  registerPersonReportJobs(ctx);
  registerLeaverJob(ctx);
  registerTaskJobs(runner, ctx);
  registerListeners(bolt, ctx);

  let directoryTimer: NodeJS.Timeout | undefined;
  return {
    ctx, db, bolt, runner, connectorsByKind,
    async start({ slack = true } = {}) {
      if (!slack) {
        runner.start();
        return;
      }
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
      // A connector that cannot close cleanly must not keep the lock and the database from being let go.
      for (const connector of connectorsByKind.values()) {
        await connector.close?.().catch((error: Error) => log.warn(`${connector.type} connector did not close cleanly`, { error: error.message }));
      }
      metrics.close();
      processLock.release();
      db.close();
    },
  };
}
