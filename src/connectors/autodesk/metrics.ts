/**
 * The Autodesk plugin's series on /metrics: its calls as undici reports them (matched on the Autodesk origins, so
 * the client needs no hook) and its hourly budget, read from the limiter's tables at scrape time.
 */
import { Counter, Gauge } from 'prom-client';
import type { PluginMetrics } from '../types.js';
import type { AutodeskSettings } from './config.js';

const HOUR_MS = 3_600_000;

export function autodeskMetrics({ registry, db, clock, settings, listen, networkReason, beforeScrape }: PluginMetrics<AutodeskSettings>): void {
  let budgetThisScrape: { used: number; remaining: number; pausedMs: number } | undefined;
  beforeScrape(() => {
    budgetThisScrape = undefined;
  });
  const { baseUrl, tokenUrl, perHour } = settings;
  const api = new URL(baseUrl);
  const token = new URL(tokenUrl);
  const endpointOf = (request: { origin?: unknown; path?: unknown }): 'api' | 'token' | undefined => {
    const origin = String(request.origin ?? '');
    const path = String(request.path ?? '');
    if (origin === token.origin && path.split('?')[0] === token.pathname) return 'token';
    return origin === api.origin ? 'api' : undefined;
  };
  const calls = new Counter({
    name: 'accessbot_autodesk_calls_total', help: 'Autodesk HTTP requests by endpoint (api or token) and status (HTTP status, timeout or network)',
    labelNames: ['endpoint', 'status'], registers: [registry],
  });
  const rateLimited = new Counter({ name: 'accessbot_autodesk_rate_limited_total', help: 'Autodesk answers 429 Too Many Requests', registers: [registry] });
  listen('undici:request:headers', ({ request, response }: { request: { origin?: unknown; path?: unknown }; response: { statusCode: number } }) => {
    const endpoint = endpointOf(request);
    if (!endpoint) return;
    calls.inc({ endpoint, status: String(response.statusCode) });
    if (response.statusCode === 429) rateLimited.inc();
  });
  listen('undici:request:error', ({ request, error }: { request: { origin?: unknown; path?: unknown }; error: Error }) => {
    const endpoint = endpointOf(request);
    if (endpoint) calls.inc({ endpoint, status: networkReason(error) });
  });

  /** The limiter's tables: our calls in the sliding hour, and the server's own count while its window lasts. */
  const budget = () => (budgetThisScrape ??= readBudget());
  const readBudget = () => {
    const now = clock.now();
    const used = (db.prepare('SELECT COALESCE(SUM(calls), 0) AS n FROM autodesk_calls WHERE second >= ?').get(Math.floor((now - HOUR_MS) / 1000)) as { n: number }).n;
    const row = db.prepare('SELECT window_end, used, server_limit, paused_until FROM autodesk_budget WHERE id = 1').get() as
      | { window_end: number; used: number; server_limit: number | null; paused_until: number }
      | undefined;
    let remaining = Math.max(0, perHour - used);
    if (row && row.window_end > now) remaining = Math.min(remaining, Math.max(0, (row.server_limit ?? perHour) - row.used));
    return { used, remaining, pausedMs: row && row.paused_until > now ? row.paused_until - now : 0 };
  };
  new Gauge({
    name: 'accessbot_autodesk_budget_limit', help: 'Autodesk calls allowed in any trailing hour (plan or AUTODESK_RATE_PER_HOUR)', registers: [registry],
    collect() {
      this.set(perHour);
    },
  });
  new Gauge({
    name: 'accessbot_autodesk_budget_used', help: 'Autodesk calls started in the trailing hour', registers: [registry],
    collect() {
      this.set(budget().used);
    },
  });
  new Gauge({
    name: 'accessbot_autodesk_budget_remaining', help: "Autodesk calls that may still start now: the sliding hour's room, or the server's, whichever is less", registers: [registry],
    collect() {
      this.set(budget().remaining);
    },
  });
  new Gauge({
    name: 'accessbot_autodesk_paused_seconds', help: 'How much longer every Autodesk call is held after a 429 (0 when not paused)', registers: [registry],
    collect() {
      this.set(budget().pausedMs / 1000);
    },
  });
}
