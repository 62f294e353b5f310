/**
 * The bench's Slack-side numbers, measured through the real bot process on loopback:
 * - ack latency of `/access help`, `/access` (the modal) and an Approve click, against a bare Bolt app
 *   (`bare-bolt.ts`) started the same way, interleaved in chunks so both see the same machine;
 * - approval click → first Autodesk call;
 * - ack latency while a bulk offboarding (1000 people, 300 with `--quick`) runs, and the bot's peak RSS (VmHWM) over that run.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { BotProcess } from '../../src/sandboxes/bot-process.js';
import { freePort, Harness, PEOPLE, SIGNING_SECRET, IT_CHANNEL, APPROVALS_CHANNEL, type HarnessOptions } from '../../src/sandboxes/stack.js';

const PER_SCENARIO = 1000;
const IN_FLIGHT = 20;
const CHUNK = 100;
const WARM_UP = 100;
const CLICK_TO_CALL_SAMPLES = 100;
/** Request ids with this mark make bare Bolt only ack (see `bare-bolt.ts`). */
export const QUIET_CLICK = 'QUIET';

export interface Latency { p50: number; p99: number; n: number; errors: number }
export interface AckRow { scenario: string; bot: Latency; bare: Latency }
/** A ratio bot ÷ bare over the runs: its median and range. */
export interface RatioSpread { median: number; min: number; max: number }
export interface AckSummary { scenario: string; p50: RatioSpread; p99: RatioSpread }
export interface AckReport {
  /** One list of rows per run of the ack rounds (`--runs`), in order. */
  runs?: AckRow[][];
  summary?: AckSummary[];
  clickToCall?: Latency;
  duringBulk?: Latency & { bulkMs: number; completed: number; people: number };
  peakRssMb?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarise(samples: number[], errors: number): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), n: samples.length, errors };
}

/** One app to fire signed Slack requests at, the way Slack does: keep-alive connections, signed bodies. */
export class Target {
  private readonly agent = new Agent({ connections: IN_FLIGHT, keepAliveTimeout: 30_000 });
  readonly samples = new Map<string, number[]>();
  readonly errors = new Map<string, number>();
  constructor(readonly name: string, readonly url: string) {}

  async send(scenario: string | undefined, body: string): Promise<string | undefined> {
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest('hex');
    const started = performance.now();
    try {
      const answer = await request(this.url, {
        method: 'POST', dispatcher: this.agent, body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': `v0=${signature}` },
      });
      const text = await answer.body.text();
      if (answer.statusCode !== 200) throw new Error(`HTTP ${answer.statusCode}`);
      if (scenario) this.record(scenario, performance.now() - started);
      return text;
    } catch (error) {
      if (process.env.BENCH_DEBUG) console.error(error);
      if (scenario) this.errors.set(scenario, (this.errors.get(scenario) ?? 0) + 1);
      return undefined;
    }
  }

  record(scenario: string, ms: number): void {
    const list = this.samples.get(scenario) ?? [];
    list.push(ms);
    this.samples.set(scenario, list);
  }

  latency(scenario: string): Latency {
    return summarise(this.samples.get(scenario) ?? [], this.errors.get(scenario) ?? 0);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Runs `count` requests with `IN_FLIGHT` at once; `body(i)` builds the i-th. */
export async function burst(target: Target, scenario: string | undefined, count: number, body: (i: number) => string): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    for (let i = next++; i < count; i = next++) await target.send(scenario, body(i));
  }));
}

function benchConfig(): Record<string, unknown> {
  return {
    itChannel: IT_CHANNEL, approvalsChannel: APPROVALS_CHANNEL, timezone: 'UTC', itAdmins: [PEOPLE.admin],
    apps: [
      { id: 'autodesk', name: 'Autodesk', connector: 'autodesk', approvers: [PEOPLE.manager], offboardAction: 'deactivate' },
      { id: 'axure', name: 'Axure RP', connector: 'manual', approvers: [PEOPLE.axureOwner], assignees: [PEOPLE.it1, PEOPLE.it2] },
    ],
  };
}

/** The bot runs as `npm start` runs it: the bundle built from the current source, on plain node. */
export const BOT_BUNDLE = 'dist/main.mjs';
/** The baseline is bundled and run the same way, so neither side pays the TypeScript loader the other does not. */
const BARE_BUNDLE = 'dist/bench-bare-bolt.mjs';

export const stackOptions = (autodesk: HarnessOptions['autodesk']): HarnessOptions => ({
  config: benchConfig(),
  botScript: BOT_BUNDLE,
  autodesk: { requestsPerWindow: 1_000_000, ...autodesk },
  env: { AUTODESK_RATE_PER_HOUR: '1000000', AUTODESK_MAX_CONCURRENT: '10', LOG_LEVEL: 'info' },
});

/**
 * Pending requests written straight into the bot's database (the bot reads them like any other): one item and
 * one pending step each, so every click decides something real. Returns each request's button value.
 */
export function seedPending(h: Harness, prefix: string, app: 'autodesk' | 'axure', subjects: { slackId: string | null; email: string }[][]): string[] {
  const db = new Database(h.env.DATABASE_PATH);
  db.pragma('busy_timeout = 10000');
  const approver = app === 'autodesk' ? PEOPLE.manager : PEOPLE.axureOwner;
  const kind = app === 'autodesk' ? 'offboard' : 'onboard';
  const today = new Date().toISOString().slice(0, 10);
  const now = Date.now();
  const values: string[] = [];
  try {
    db.transaction(() => {
      subjects.forEach((people, i) => {
        const id = `AR-${prefix}${String(i).padStart(5, '0')}`;
        db.prepare("INSERT INTO requests (id, kind, requester_id, justification, effective_date, options, created_at, updated_at) VALUES (?, ?, ?, 'bench', ?, '{}', ?, ?)")
          .run(id, kind, PEOPLE.requester, today, now, now);
        for (const person of people) {
          db.prepare("INSERT INTO items (request_id, app_id, subject_slack_id, subject_email, state, step_index, updated_at) VALUES (?, ?, ?, ?, 'awaiting_approval', 0, ?)")
            .run(id, app, person.slackId, person.email, now);
        }
        const approval = db.prepare("INSERT INTO approvals (request_id, app_id, step_index, approvers, fallback_to_it, state, created_at) VALUES (?, ?, 0, ?, 0, 'pending', ?)")
          .run(id, app, JSON.stringify([approver]), now);
        values.push(`${id}|${approval.lastInsertRowid}`);
      });
    })();
  } finally {
    db.close();
  }
  return values;
}

export function slashBody(h: Harness, userId: string, text: string): string {
  const channelId = h.slack.dmChannelOf(userId);
  return new URLSearchParams({
    token: 'bench', team_id: h.slack.teamId, team_domain: h.slack.teamDomain, channel_id: channelId, channel_name: 'directmessage',
    user_id: userId, user_name: userId.toLowerCase(), command: '/access', text, api_app_id: h.slack.appId,
    response_url: h.slack.newResponseUrl(userId, channelId), trigger_id: h.slack.issueTriggerId(userId),
  }).toString();
}

export function clickBody(h: Harness, userId: string, value: string): string {
  const requestId = value.split('|')[0]!;
  const channelId = h.slack.dmChannelOf(userId);
  const payload = {
    type: 'block_actions', user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: h.slack.teamId },
    api_app_id: h.slack.appId, token: 'bench', trigger_id: h.slack.issueTriggerId(userId), team: { id: h.slack.teamId, domain: h.slack.teamDomain },
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: channelId, is_ephemeral: false },
    channel: { id: channelId, name: 'directmessage' },
    response_url: h.slack.newResponseUrl(userId, channelId),
    actions: [{ type: 'button', action_id: `approval_approve:${requestId}`, block_id: `decide:${requestId}`, value, text: { type: 'plain_text', text: 'Approve' }, action_ts: String(Date.now() / 1000) }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/**
 * The bare Bolt app, on its own port, against the same Slack sandbox. `same` carries what the bot answered in a
 * warm-up (its modal, its report), so the rows marked "bare does the same" compare like with like.
 */
async function startBare(h: Harness, same: { modal: unknown; report: string }): Promise<{ process: BotProcess; url: string }> {
  const port = await freePort();
  const bare = new BotProcess({
    ...h.env, PORT: String(port), BARE_REQUESTER_ID: PEOPLE.requester, BARE_MODAL_VIEW: JSON.stringify(same.modal), BARE_REPORT_ANSWER: same.report,
  }, false, BARE_BUNDLE);
  await bare.start();
  return { process: bare, url: `http://127.0.0.1:${port}/slack/events` };
}

/** The person `/access report` is timed on: 20 finished requests across both apps, none of the clicks' people. */
const REPORT_SUBJECT = { slackId: PEOPLE.dave, email: 'dave@example.com' };
const REPORT_REQUESTS = 20;

/** Finished requests naming REPORT_SUBJECT, half Autodesk offboardings, half Axure onboardings. */
function seedReportHistory(h: Harness): void {
  const db = new Database(h.env.DATABASE_PATH);
  db.pragma('busy_timeout = 10000');
  const now = Date.now();
  try {
    db.transaction(() => {
      for (let i = 0; i < REPORT_REQUESTS; i++) {
        const id = `AR-REPORT${String(i).padStart(3, '0')}`;
        const [app, kind] = i % 2 === 0 ? ['autodesk', 'offboard'] : ['axure', 'onboard'];
        const at = now - (REPORT_REQUESTS - i) * 86_400_000;
        db.prepare("INSERT INTO requests (id, kind, requester_id, justification, effective_date, options, created_at, updated_at) VALUES (?, ?, ?, 'bench', ?, '{}', ?, ?)")
          .run(id, kind, PEOPLE.requester, new Date(at).toISOString().slice(0, 10), at, at);
        db.prepare("INSERT INTO items (request_id, app_id, subject_slack_id, subject_email, state, step_index, updated_at) VALUES (?, ?, ?, ?, 'completed', 0, ?)")
          .run(id, app, REPORT_SUBJECT.slackId, REPORT_SUBJECT.email, at);
      }
    })();
  } finally {
    db.close();
  }
}

/** Median and range of `values`. */
export function spread(values: number[]): RatioSpread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

/**
 * Ack latency, bot against bare Bolt, interleaved by chunks, `runs` times over (the p99 ratio moves from run to
 * run on two cores, so one run says little); then click → first Autodesk call.
 */
async function ackAndClickToCall(runs: number): Promise<{ runs: AckRow[][]; summary: AckSummary[]; clickToCall: Latency }> {
  const h = await Harness.start(stackOptions({}));
  const bot = new Target('bot', `${h.botUrl}/slack/events`);
  seedReportHistory(h);
  const reportText = `report <@${REPORT_SUBJECT.slackId}|dave>`;
  // What the bot answers, handed to the bare app for the rows where it does the same work.
  const report = await bot.send(undefined, slashBody(h, PEOPLE.admin, reportText));
  await bot.send(undefined, slashBody(h, PEOPLE.requester, 'new'));
  const modal = (await h.slack.waitForCall('views.open')).args.view;
  if (!report?.includes('blocks') || !modal) throw new Error('the bot answered neither its report nor its modal in the warm-up');
  const bare = await startBare(h, { modal, report });
  const baseline = new Target('bare', bare.url);
  try {
    const clicksPerSet = PER_SCENARIO * runs + WARM_UP;
    const axureClicks = seedPending(h, 'CLICK', 'axure', Array.from({ length: clicksPerSet }, () => [{ slackId: PEOPLE.carol, email: 'carol@example.com' }]));
    const quietClicks = seedPending(h, QUIET_CLICK, 'axure', Array.from({ length: clicksPerSet }, () => [{ slackId: PEOPLE.carol, email: 'carol@example.com' }]));
    const scenarios: { name: string; body: (i: number) => string }[] = [
      { name: '/access help', body: () => slashBody(h, PEOPLE.requester, 'help') },
      { name: '/access (modal)', body: () => slashBody(h, PEOPLE.requester, '') },
      // `/access new` opens the bot's same modal; the bare app then opens that very view (14 blocks against its
      // own one), so the Slack call, its encoding and the sandbox's checks weigh the same on both sides.
      { name: '/access (modal), bare opens the same view', body: () => slashBody(h, PEOPLE.requester, 'new') },
      // An IT admin asks for the report of a person with 20 requests; the bare app acks with the same answer.
      { name: '/access report @person', body: () => slashBody(h, PEOPLE.admin, reportText) },
      { name: 'Approve click', body: (i) => clickBody(h, PEOPLE.axureOwner, axureClicks[i]!) },
      // The earlier baseline, kept for comparison: bare Bolt only acks, so the Slack sandbox in this process serves
      // the bot's calls alone (an upper bound of the bot's ratio, as the row above is close to a lower one).
      { name: 'Approve click, bare only acks', body: (i) => clickBody(h, PEOPLE.axureOwner, quietClicks[i]!) },
    ];
    for (const scenario of scenarios) {
      // Both processes warm up (JIT, connections) before anything is counted; the warm-up clicks come last.
      await burst(bot, undefined, WARM_UP, (i) => scenario.body(PER_SCENARIO * runs + i));
      await burst(baseline, undefined, WARM_UP, (i) => scenario.body(PER_SCENARIO * runs + i));
      await jobsSettled(h);
    }
    for (let run = 0; run < runs; run++) {
      for (const scenario of scenarios) {
        const key = `${scenario.name}#${run}`;
        const first = PER_SCENARIO * run;
        for (let offset = 0; offset < PER_SCENARIO; offset += CHUNK) {
          // Who goes first alternates by chunk and by run, so neither side always follows the other's work.
          const [one, other] = ((offset / CHUNK) + run) % 2 === 0 ? [bot, baseline] : [baseline, bot];
          await burst(one, key, CHUNK, (i) => scenario.body(first + offset + i));
          await burst(other, key, CHUNK, (i) => scenario.body(first + offset + i));
        }
        // The clicks' jobs (card updates, DMs) finish before the next scenario, which would otherwise be timed
        // while the bot works off the last one's backlog.
        await jobsSettled(h);
      }
    }
    const rowsByRun = Array.from({ length: runs }, (_, run) =>
      scenarios.map(({ name }) => ({ scenario: name, bot: bot.latency(`${name}#${run}`), bare: baseline.latency(`${name}#${run}`) })));
    const summary = scenarios.map(({ name }, index) => {
      const rows = rowsByRun.map((rowsOfRun) => rowsOfRun[index]!);
      return { scenario: name, p50: spread(rows.map((row) => row.bot.p50 / row.bare.p50)), p99: spread(rows.map((row) => row.bot.p99 / row.bare.p99)) };
    });

    // Click → first Autodesk call: one offboarding at a time, each waiting for the last to finish, so every
    // sample starts from an idle connector and its first call is its own.
    const users = h.autodesk.seedUsers(CLICK_TO_CALL_SAMPLES);
    const values = seedPending(h, 'CALL', 'autodesk', users.map((user) => [{ slackId: null, email: user.email }]));
    const waits: number[] = [];
    let errors = 0;
    for (const value of values) {
      const requestId = value.split('|')[0]!;
      const clickedAt = Date.now();
      await bot.send(undefined, clickBody(h, PEOPLE.manager, value));
      try {
        const first = await h.autodesk.waitFor((sandbox) => sandbox.requests.find((call) => call.receivedAt >= clickedAt), { timeoutMs: 10_000 });
        waits.push(first.receivedAt - clickedAt);
        await waitUntil(() => h.query<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE request_id = ? AND state IN ('completed', 'failed')", requestId)[0]!.n === 1, 20_000);
      } catch {
        errors++;
      }
    }
    return { runs: rowsByRun, summary, clickToCall: summarise(waits, errors) };
  } finally {
    await bot.close();
    await baseline.close();
    await bare.process.stop('SIGTERM');
    await h.close();
  }
}

/** Until the bot has no job running and none due. */
function jobsSettled(h: Harness): Promise<void> {
  return waitUntil(() => h.query<{ n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_at <= ?)", Date.now())[0]!.n === 0, 120_000);
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

function peakRssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(join('/proc', String(pid), 'status'), 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** A bulk offboarding approved at once; `/access help` acks measured while it runs; the bot's peak RSS after. */
async function duringBulk(people: number): Promise<{ duringBulk: AckReport['duringBulk']; peakRssMb: number }> {
  const h = await Harness.start(stackOptions({ latencyMs: 100 }));
  const bot = new Target('bot', `${h.botUrl}/slack/events`);
  try {
    const users = h.autodesk.seedUsers(people + 200);
    const [value] = seedPending(h, 'BULK', 'autodesk', [users.slice(0, people).map((user) => ({ slackId: null, email: user.email }))]);
    const open = () => h.query<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE request_id = ? AND state NOT IN ('completed', 'failed')", value!.split('|')[0])[0]!.n;
    const started = performance.now();
    await bot.send(undefined, clickBody(h, PEOPLE.manager, value!));
    let bulkMs = 0;
    const finished = waitUntil(() => open() === 0, 180_000).then(() => (bulkMs = performance.now() - started));
    let running = true;
    void finished.finally(() => (running = false));
    // As many acks as fit while the bulk run works, up to PER_SCENARIO, 20 in flight.
    let sent = 0;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (running && sent++ < PER_SCENARIO) {
        await bot.send('during bulk', slashBody(h, PEOPLE.requester, 'help'));
        await sleep(5);
      }
    }));
    await finished;
    const completed = h.query<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE state = 'completed'")[0]!.n;
    return { duringBulk: { ...bot.latency('during bulk'), bulkMs, completed, people }, peakRssMb: peakRssMb(h.bot.pid) };
  } finally {
    await bot.close();
    await h.close();
  }
}

export async function ackBench(options: { acks: boolean; bulk: boolean; bulkPeople: number; runs: number }): Promise<AckReport> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  execFileSync('npx', ['esbuild', 'test/bench/bare-bolt.ts', '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${BARE_BUNDLE}`, '--log-level=warning'], { cwd: root, stdio: 'inherit' });
  const acks = options.acks ? await ackAndClickToCall(options.runs) : {};
  const bulk = options.bulk ? await duringBulk(options.bulkPeople) : {};
  return { ...acks, ...bulk };
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : 'n/a');
const ratio = (bot: number, bare: number) => (bot / bare).toFixed(2);

/** The Slack side's rows for the bench's stdout table. */
export function ackTables(report: AckReport | undefined, store: { requests: number; status: Latency; home: Latency } | undefined): string {
  const lines: string[] = [];
  const { runs, summary, duringBulk: bulk, clickToCall } = report ?? {};
  if (runs || bulk) {
    lines.push(`Ack latency: ${PER_SCENARIO} of each, ${IN_FLIGHT} in flight, against a bare Bolt app started the same way, interleaved by ${CHUNK}` +
      (runs && runs.length > 1 ? `, ${runs.length} runs` : ''), '');
    const header = ['scenario', 'run', 'bot p50', 'bare p50', 'p50 ratio (goal ≤ 1.2)', 'bot p99', 'bare p99', 'p99 ratio (goal ≤ 1.5)', 'errors'];
    const rows = (runs ?? []).flatMap((rowsOfRun, run) => rowsOfRun.map((row) => [row.scenario, String(run + 1), ms(row.bot.p50), ms(row.bare.p50), ratio(row.bot.p50, row.bare.p50),
      ms(row.bot.p99), ms(row.bare.p99), ratio(row.bot.p99, row.bare.p99), String(row.bot.errors + row.bare.errors)]));
    if (bulk) rows.push([`/access help during a ${bulk.people}-person offboarding`, '', ms(bulk.p50), '', '', ms(bulk.p99), '', '', String(bulk.errors)]);
    lines.push(markdownTable(header, rows), '');
  }
  if (summary && runs && runs.length > 1) {
    const spreadText = (value: RatioSpread) => `${value.median.toFixed(2)} (${value.min.toFixed(2)}–${value.max.toFixed(2)})`;
    lines.push(`Ratios bot ÷ bare over the ${runs.length} runs: median (range)`, '');
    lines.push(markdownTable(['scenario', 'p50 ratio (goal ≤ 1.2)', 'p99 ratio (goal ≤ 1.5)'], summary.map((row) => [row.scenario, spreadText(row.p50), spreadText(row.p99)])), '');
  }
  const measures: string[][] = [];
  if (clickToCall) measures.push([`approval click → first Autodesk call, p50 / p99 (${clickToCall.n} clicks)`, `${ms(clickToCall.p50)} / ${ms(clickToCall.p99)}`, 'p99 < 1 s']);
  if (bulk && report?.peakRssMb !== undefined) {
    measures.push([`peak RSS of the bot over a ${bulk.people}-person offboarding (${bulk.completed} done in ${(bulk.bulkMs / 1000).toFixed(1)} s, sandbox latency 100 ms)`, `${report.peakRssMb.toFixed(0)} MB`, '< 150 MB']);
  }
  if (store) {
    measures.push(
      [`/access status, p50 / p99, ${store.requests} requests stored`, `${ms(store.status.p50)} / ${ms(store.status.p99)}`, 'p99 < 50 ms'],
      [`Home render, 50 open items, p50 / p99, ${store.requests} requests stored`, `${ms(store.home.p50)} / ${ms(store.home.p99)}`, 'p99 < 50 ms'],
    );
  }
  if (measures.length) lines.push(markdownTable(['measure', 'value', 'goal'], measures));
  return lines.join('\n');
}

function markdownTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((width, column) => (column === 0 ? ':' : '-') + '-'.repeat(width) + (column === 0 ? '-' : ':')).join('|')}|`, ...rows.map(line)].join('\n');
}
