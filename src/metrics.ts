/**
 * `GET /metrics` in Prometheus text format, from a registry of this bot's own (never prom-client's global one,
 * so two bots in one process, as in tests, do not mix). What the database knows (requests, items, jobs, a
 * connector's budget) is read from SQLite at scrape time, so it is right after a restart and costs nothing
 * between scrapes. What only the wire knows (Slack and connector calls and how they ended) is counted as it
 * happens:
 * - Slack: the WebClient's `requestInterceptor` counts every HTTP attempt and reads each answer (Slack says
 *   `ok:false` with HTTP 200); attempts that got no answer at all (timeouts, refused connections) come from
 *   Node's `http.client.request.error` diagnostics channel, matched on the Slack API's host.
 * - Connectors: each plugin adds its own series through its `metrics` hook (src/connectors/autodesk/metrics.ts).
 * The diagnostics channels are process-wide: two bots in one process talking to the same host would both
 * count each other's failures (tests only; production runs one bot per process).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { WebClientOptions } from '@slack/web-api';
import { Counter, Gauge, Registry } from 'prom-client';
import { pluginsOf, settingsOf, type Config } from './config.js';
import type { Db } from './db/connection.js';
import { jobHealth, OVERDUE_AFTER_MS, type JobHealth } from './health.js';
import { TERMINAL_STATES } from './requests/model.js';
import type { Clock } from './util/time.js';

/** Listed even at zero, so a dashboard's series exist before the first item reaches them. */
const ITEM_STATES = ['awaiting_approval', 'approved', 'in_progress', ...TERMINAL_STATES];

type RequestInterceptor = NonNullable<WebClientOptions['requestInterceptor']>;
type RequestConfig = Parameters<RequestInterceptor>[0];
type ResponseTransformer = (this: unknown, data: unknown, headers: unknown, status?: number) => unknown;

export interface Metrics {
  readonly registry: Registry;
  /** Give these to every WebClient of the bot (Bolt passes `clientOptions` on to the clients it makes). */
  readonly slackClientOptions: Pick<WebClientOptions, 'requestInterceptor'>;
  /** The exposition text and its content type. */
  scrape(): Promise<{ contentType: string; text: string }>;
  /** Stops listening to the diagnostics channels. */
  close(): void;
}

export interface MetricsOptions {
  db: Db;
  clock: Clock;
  settings: Pick<Config, 'env' | 'access' | 'connectors'>;
}

/** Why a Slack call failed, as a bounded label: Slack's own error code, or what went wrong on the way. */
function slackOutcome(status: number | undefined, data: unknown): string | undefined {
  if (status === 429) return 'ratelimited';
  if (status !== 200) return `http_${status ?? 'unknown'}`;
  if (data && typeof data === 'object' && (data as { ok?: unknown }).ok === false) {
    const error = (data as { error?: unknown }).error;
    return typeof error === 'string' && /^[a-z0-9_]{1,64}$/.test(error) ? error : 'unknown_error';
  }
  return undefined;
}

/** The Web API method of a request URL relative to slackApiUrl ("chat.postMessage"), or "other". */
function slackMethodOf(url: string | undefined): string {
  const method = (url ?? '').replace(/^.*\//, '').replace(/\?.*$/, '');
  return /^[a-zA-Z]+(\.[a-zA-Z]+)+$/.test(method) ? method : 'other';
}

function networkReason(error: Error & { code?: unknown }): string {
  const code = String(error?.code ?? '');
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || (code.startsWith('UND_ERR_') && code.includes('TIMEOUT')) || /timeout/i.test(error?.message ?? '')) return 'timeout';
  return 'network';
}

export function createMetrics({ db, clock, settings }: MetricsOptions): Metrics {
  const registry = new Registry();
  const subscriptions: [string, (message: unknown) => void][] = [];
  // Each channel's publisher (node:http, undici) documents its message shape; diagnostics_channel itself types none.
  const listen = <Message>(channel: string, listener: (message: Message) => void) => {
    const untyped = listener as (message: unknown) => void;
    subscribe(channel, untyped);
    subscriptions.push([channel, untyped]);
  };

  // ---------------------------------------------------------------- from the database, at scrape time
  // Each reading is taken once per scrape (scrape() clears them) and shared by the gauges that need it. A scrape
  // runs on the event loop, so every query is an index search except the items count (one pass over an index).
  let itemsThisScrape: Map<string, number> | undefined;
  const itemsByState = () =>
    (itemsThisScrape ??= new Map((db.prepare('SELECT state, COUNT(*) AS n FROM items GROUP BY state').all() as { state: string; n: number }[]).map((row) => [row.state, row.n])));
  let jobsThisScrape: JobHealth | undefined;
  const jobs = () => (jobsThisScrape ??= jobHealth(db, clock.now()));

  new Gauge({
    name: 'accessbot_requests', help: 'Requests by state: open while any item is not completed, failed or denied', labelNames: ['state'], registers: [registry],
    collect() {
      const total = (db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n;
      // The states actually present, so a state added later counts as open without a change here.
      const openStates = [...itemsByState().keys()].filter((state) => !(TERMINAL_STATES as readonly string[]).includes(state));
      const open = openStates.length === 0 ? 0
        : (db.prepare(`SELECT COUNT(DISTINCT request_id) AS n FROM items WHERE state IN (${openStates.map(() => '?').join(', ')})`).get(...openStates) as { n: number }).n;
      this.set({ state: 'open' }, open);
      this.set({ state: 'finished' }, total - open);
    },
  });
  new Gauge({
    name: 'accessbot_items', help: 'Items (one per person and app) by state', labelNames: ['state'], registers: [registry],
    collect() {
      this.reset();
      for (const state of ITEM_STATES) this.set({ state }, 0);
      for (const [state, n] of itemsByState()) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'accessbot_jobs', help: 'Durable jobs queued, running, and failed for good (until housekeeping removes them)', labelNames: ['state'], registers: [registry],
    collect() {
      const { queued, running, failed } = jobs();
      this.set({ state: 'queued' }, queued);
      this.set({ state: 'running' }, running);
      this.set({ state: 'failed' }, failed);
    },
  });
  new Gauge({
    name: 'accessbot_jobs_overdue', help: `Queued jobs due more than ${OVERDUE_AFTER_MS / 60_000} minutes ago (the runner is stuck or far behind)`, registers: [registry],
    collect() {
      this.set(jobs().overdue);
    },
  });
  new Gauge({
    name: 'accessbot_jobs_oldest_due_seconds', help: 'How long the oldest due, still queued job has waited (0 when none is due)', registers: [registry],
    collect() {
      this.set((jobs().oldestOverdueMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'accessbot_jobs_failed_last_hour', help: 'Jobs that failed for good in the last hour (each is an item or a message given up on)', registers: [registry],
    collect() {
      this.set(jobs().failedLastHour);
    },
  });

  // ---------------------------------------------------------------- Slack, as the calls happen
  const slackCalls = new Counter({ name: 'accessbot_slack_calls_total', help: 'Slack Web API HTTP requests (retries included) by method', labelNames: ['method'], registers: [registry] });
  const slackFailures = new Counter({
    name: 'accessbot_slack_call_failures_total', help: "Slack Web API requests that failed, by method and reason: Slack's error code, ratelimited, http_<status>, timeout or network",
    labelNames: ['method', 'reason'], registers: [registry],
  });
  const requestInterceptor: RequestInterceptor = (config: RequestConfig) => {
    const method = slackMethodOf(config.url);
    slackCalls.inc({ method });
    const countAnswer: ResponseTransformer = (data, _headers, status) => {
      const reason = slackOutcome(status, data);
      if (reason) slackFailures.inc({ method, reason });
      return data;
    };
    // Appended after axios's own transformers, so it sees the parsed body; it changes nothing.
    const existing = config.transformResponse;
    config.transformResponse = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), countAnswer] as RequestConfig['transformResponse'];
    return config;
  };
  const slackApi = new URL(settings.env.SLACK_API_URL ?? 'https://slack.com/api/');
  listen('http.client.request.error', ({ request, error }: { request: ClientRequest; error: Error }) => {
    if (request.getHeader('host') !== slackApi.host || !request.path.startsWith(slackApi.pathname)) return;
    slackFailures.inc({ method: slackMethodOf(request.path), reason: networkReason(error) });
  });

  // ---------------------------------------------------------------- the connector plugins' own
  const scrapeResets: (() => void)[] = [];
  for (const plugin of pluginsOf(settings.access)) {
    if (!plugin.metrics || !settings.access.apps.some((app) => app.connector === plugin.kind)) continue;
    plugin.metrics({ registry, db, clock, settings: settingsOf(settings, plugin), listen, networkReason, beforeScrape: (reset) => scrapeResets.push(reset) });
  }

  return {
    registry,
    slackClientOptions: { requestInterceptor },
    async scrape() {
      itemsThisScrape = undefined;
      jobsThisScrape = undefined;
      for (const reset of scrapeResets) reset();
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
    close() {
      for (const [channel, listener] of subscriptions.splice(0)) unsubscribe(channel, listener);
    },
  };
}
