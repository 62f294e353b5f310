/**
 * `npm run bench`: numbers measured against a baseline in the same run, never asserted anywhere.
 *
 * 1. Bulk Autodesk offboarding through the real connector (real SQLite file, job runner, request service) and
 *    the real Autodesk sandbox over HTTP, versus a naive baseline that pages through `GET /users` for every
 *    person through the same client. Standard plan: 10 concurrent, 1000 calls/hour.
 * 2. A bulk offboarding against a budget the run has to wait for (1000 people against 600 calls per 60 s, or 300
 *    against 100 per 10 s with `--quick`; the sandbox's fixed window, the bot's sliding window set the same), fault-free and with 20% 503s (API and token) and 3-second tokens:
 *    elapsed against the lower bound the budget allows, utilisation, calls per person, 429s.
 * 3. The job runner's throughput with concurrency 1 versus 8, for no-op jobs and for jobs waiting 5 ms on I/O.
 *
 * Runs in about six minutes on two cores (`--quick`: about three) and leaves no server or temp file behind. `--json` prints one JSON
 * object instead of the tables.
 */
import { z } from 'zod';
import { createRestApi, type AutodeskApi } from '../../src/connectors/autodesk/api.js';
import { AutodeskClient } from '../../src/connectors/autodesk/client.js';
import { defineJob } from '../../src/jobs/kinds.js';
import { enqueue } from '../../src/jobs/queue.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { startAutodeskSandbox, type AutodeskSandbox, type AutodeskSandboxOptions } from '../../src/sandboxes/autodesk/server.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock } from '../../src/util/time.js';
import { listCalls, startHarness, tempDatabase } from '../autodesk/context.js';
import { ackBench, ackTables } from './ack.js';
import { storeBench } from './store.js';

/** `--json`: the tables go to stderr and stdout gets one JSON object, for machines. */
const JSON_OUTPUT = process.argv.includes('--json');
if (JSON_OUTPUT) console.log = (...parts: unknown[]) => console.error(...parts);

const DIRECTORY_SIZE = 1000;
const PEOPLE = 200;
const LATENCY_MS = 20;
/** The Standard plan. */
const PLAN = { perHour: 1000, maxConcurrent: 10 };
/** The sandbox enforces the concurrency cap but not the hourly budget, so the baseline can be measured at all. */
const SANDBOX: AutodeskSandboxOptions = { latencyMs: LATENCY_MS, maxConcurrent: PLAN.maxConcurrent, requestsPerWindow: 1_000_000 };
const PAGE = 100;

interface OffboardingRun {
  label: string;
  wallMs: number;
  listCalls: number;
  patches: number;
  other: number;
  maxInFlight: number;
  refused: number;
  deactivated: number;
}

/** Every 5th user of the directory, so the people are spread over all its pages. */
const targetsOf = (sandbox: AutodeskSandbox) =>
  sandbox.users().filter((_, index) => index % (DIRECTORY_SIZE / PEOPLE) === 2).map((user) => user.email);

function measured(label: string, sandbox: AutodeskSandbox, targets: string[], wallMs: number): OffboardingRun {
  const lists = listCalls(sandbox);
  const patches = sandbox.countRequests({ method: 'PATCH' });
  const wanted = new Set(targets.map((email) => email.toLowerCase()));
  return {
    label, wallMs, listCalls: lists, patches,
    other: sandbox.requests.length - lists - patches,
    maxInFlight: sandbox.maxInFlightSeen,
    refused: sandbox.countRequests({ status: 429 }),
    deactivated: sandbox.users().filter((user) => wanted.has(user.email.toLowerCase()) && user.status === 'inactive').length,
  };
}

/** (a) The connector's way: one request for all the people, items run by the job runner through the shared limiter. */
async function connectorOffboarding(): Promise<OffboardingRun> {
  // Runner concurrency at the plan's cap so the limiter, not the runner, is what bounds the calls in flight.
  const h = await startHarness({ sandbox: SANDBOX, perHour: PLAN.perHour, maxConcurrent: PLAN.maxConcurrent, runner: { concurrency: PLAN.maxConcurrent } });
  try {
    h.sandbox.seedUsers(DIRECTORY_SIZE);
    const targets = targetsOf(h.sandbox);
    const started = performance.now();
    const { requestId } = h.submit('offboard', targets.map((email) => email.toUpperCase()));
    // One cheap count now and then: the harness's settle() reads every item on every change, which at 200
    // items costs more CPU than the connector itself and would be measured along with it.
    const unfinished = h.bot.db.prepare("SELECT COUNT(*) AS n FROM items WHERE request_id = ? AND state NOT IN ('completed', 'failed', 'denied')");
    const deadline = Date.now() + 90_000;
    while ((unfinished.get(requestId) as { n: number }).n > 0) {
      if (Date.now() > deadline) throw new Error('connector run: items still unfinished after 90 s');
      await sleep(10);
    }
    const wallMs = performance.now() - started;
    const notDone = h.bot.db.prepare("SELECT COUNT(*) AS n, MIN(detail) AS detail FROM items WHERE request_id = ? AND state <> 'completed'").get(requestId) as { n: number; detail: string | null };
    if (notDone.n) throw new Error(`connector run: ${notDone.n} items not completed, e.g. ${notDone.detail}`);
    return measured('connector: local directory, one traversal', h.sandbox, targets, wallMs);
  } finally {
    await h.close();
  }
}

/** (b) The naive way: for every person, page through `GET /users` until the e-mail shows up, then PATCH. */
async function naiveOffboarding(): Promise<OffboardingRun> {
  const sandbox = await startAutodeskSandbox(SANDBOX);
  const database = tempDatabase();
  // The same client and limiter, with the hourly budget lifted: the naive way would not fit in it (see the table).
  const client = new AutodeskClient({
    baseUrl: sandbox.baseUrl, tokenUrl: sandbox.tokenUrl, clientId: sandbox.clientId, clientSecret: sandbox.clientSecret,
    perHour: 1_000_000, maxConcurrent: PLAN.maxConcurrent, db: database.db, clock: systemClock, log: silentLogger,
  });
  try {
    sandbox.seedUsers(DIRECTORY_SIZE);
    const targets = targetsOf(sandbox);
    const api = createRestApi(client);
    const queue = targets.map((email) => email.toUpperCase());
    const started = performance.now();
    // As many people at once as the plan has concurrent calls.
    await Promise.all(Array.from({ length: PLAN.maxConcurrent }, async () => {
      for (let email = queue.shift(); email !== undefined; email = queue.shift()) await naiveDeactivate(api, email);
    }));
    const wallMs = performance.now() - started;
    return measured('naive: GET /users pages per person', sandbox, targets, wallMs);
  } finally {
    await client.close();
    await sandbox.close();
    database.cleanup();
  }
}

async function naiveDeactivate(api: AutodeskApi, email: string): Promise<void> {
  const wanted = email.toLowerCase();
  for (let offset = 0; ; offset += PAGE) {
    const page = await api.listUsersPage(offset, PAGE);
    const user = page.users.find((candidate) => candidate.email.toLowerCase() === wanted);
    if (user) {
      if (user.status === 'active') await api.deactivateUser(user.id);
      return;
    }
    if (page.users.length < PAGE) return;
  }
}

/** `--name=value` or `--name value`. */
function option(name: string): string | undefined {
  const args = process.argv;
  const index = args.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
  if (index < 0) return undefined;
  return args[index] === `--${name}` ? args[index + 1] : args[index]!.slice(name.length + 3);
}

/**
 * The scale: 1000 people in one request against 600 calls per 60 s. `--quick` runs the earlier, smaller
 * run (300 people against 100 per 10 s), about a minute shorter in all.
 */
const QUICK = process.argv.includes('--quick');
/** `--only=budget,ack`: just these sections (offboarding, budget, runner, ack, bulk, store), to measure one change. */
const ONLY = option('only')?.split(',');
const wants = (section: string) => !ONLY || ONLY.includes(section);
/** `--runs=N`: the ack rounds N times over, interleaved, with each ratio's median and range (p99s swing on two cores). */
const ACK_RUNS = Number(option('runs') ?? 3);
if (!Number.isInteger(ACK_RUNS) || ACK_RUNS < 1) throw new Error('--runs=N takes a whole number of runs, at least 1');
const BUDGET = QUICK ? { calls: 100, windowMs: 10_000 } : { calls: 600, windowMs: 60_000 };
const BUDGET_PEOPLE = QUICK ? 300 : 1000;
const BUDGET_DIRECTORY = QUICK ? 400 : 1300;
/** Enough for the run with faults at either scale (at least two windows more than its lower bound). */
const BUDGET_DEADLINE_MS = QUICK ? 150_000 : 420_000;

interface BudgetRun {
  label: string;
  people: number;
  elapsedMs: number;
  /**
   * The least time the budget allows for the calls the server counted: whole windows before the last one. The
   * sandbox, like a gateway failing before the API's limiter, counts neither its injected 5xx nor 401s nor 429s,
   * and answers them without rate-limit headers, so the bot gives their budget back too (see RateLimiter).
   */
  lowerBoundMs: number;
  /** Calls the server counted against the budget. */
  charged: number;
  /**
   * Of the windows before the last, the calls that spent budget over what those windows offered, counted in time
   * from the first window's start to the last window's: a late start of a window counts against it. The last
   * window is left out because the run ends in it whether or not it is full.
   */
  utilisation: number;
  apiCalls: number;
  answered2xx: number;
  faults: number;
  rateLimited: number;
  tokenRequests: number;
  /** Where the calls went: directory pages, PATCHes, and everything else (GETs of one user, mostly). */
  listCalls: number;
  patches: number;
}

/** BUDGET_PEOPLE offboarded in one request with the budget as the bottleneck; `faults` adds 20% 503s and 3 s tokens. */
async function budgetOffboarding(faults: boolean): Promise<BudgetRun> {
  const h = await startHarness({
    sandbox: { latencyMs: LATENCY_MS, maxConcurrent: PLAN.maxConcurrent, requestsPerWindow: BUDGET.calls, windowMs: BUDGET.windowMs, ...(faults ? { tokenTtlSeconds: 3 } : {}) },
    perHour: BUDGET.calls, maxConcurrent: PLAN.maxConcurrent,
    runner: { concurrency: PLAN.maxConcurrent },
    connector: { client: { budgetWindowMs: BUDGET.windowMs } },
  });
  try {
    const users = h.sandbox.seedUsers(BUDGET_DIRECTORY);
    const targets = users.filter((_, index) => index % 4 !== 3).slice(0, BUDGET_PEOPLE).map((user) => user.email);
    if (faults) h.sandbox.setFaults({ rate: 0.2, tokenRate: 0.2 });
    const started = performance.now();
    const { requestId } = h.submit('offboard', targets);
    const unfinished = h.bot.db.prepare("SELECT COUNT(*) AS n FROM items WHERE request_id = ? AND state NOT IN ('completed', 'failed', 'denied')");
    const deadline = Date.now() + BUDGET_DEADLINE_MS;
    while ((unfinished.get(requestId) as { n: number }).n > 0) {
      if (Date.now() > deadline) throw new Error(`budget run: items still unfinished after ${BUDGET_DEADLINE_MS / 1000} s`);
      await sleep(20);
    }
    const elapsedMs = performance.now() - started;
    const notDone = h.bot.db.prepare("SELECT COUNT(*) AS n, MIN(detail) AS detail FROM items WHERE request_id = ? AND state <> 'completed'").get(requestId) as { n: number; detail: string | null };
    if (notDone.n) throw new Error(`budget run: ${notDone.n} items not completed, e.g. ${notDone.detail}`);
    const requests = h.sandbox.requests;
    const answered2xx = requests.filter((r) => r.status < 300).length;
    const rateLimited = requests.filter((r) => r.status === 429).length;
    const charged = requests.filter((r) => r.status !== 429 && r.status !== 401 && r.status < 500);
    return {
      label: faults ? '20% 503s, 3 s tokens' : 'fault-free',
      people: targets.length,
      elapsedMs,
      lowerBoundMs: Math.floor((charged.length - 1) / BUDGET.calls) * BUDGET.windowMs,
      charged: charged.length,
      utilisation: windowUtilisation(charged.map((r) => r.receivedAt)),
      apiCalls: requests.length,
      answered2xx,
      faults: requests.filter((r) => r.status >= 500).length,
      rateLimited,
      tokenRequests: h.sandbox.tokenRequests,
      listCalls: listCalls(h.sandbox),
      patches: h.sandbox.countRequests({ method: 'PATCH' }),
    };
  } finally {
    await h.close();
  }
}

/** The sandbox's fixed windows: each starts with the first call at or after the previous one's end. */
function windowUtilisation(times: number[]): number {
  const starts: number[] = [];
  const counts: number[] = [];
  for (const at of [...times].sort((a, b) => a - b)) {
    if (starts.length === 0 || at >= starts.at(-1)! + BUDGET.windowMs) {
      starts.push(at);
      counts.push(0);
    }
    counts[counts.length - 1]!++;
  }
  if (starts.length < 2) return NaN;
  const spent = counts.slice(0, -1).reduce((sum, n) => sum + n, 0);
  return spent / (BUDGET.calls * ((starts.at(-1)! - starts[0]!) / BUDGET.windowMs));
}

interface RunnerRun {
  label: string;
  concurrency: number;
  jobs: number;
  wallMs: number;
}

const benchPayload = z.object({ i: z.number() });
declare module '../../src/jobs/kinds.js' {
  interface JobPayloads { 'bench.job': z.infer<typeof benchPayload> }
}
const BENCH_JOB = defineJob('bench.job', benchPayload);

/** Enqueues `jobs` jobs and times the runner until every one is done. */
async function runnerThroughput(label: string, concurrency: number, jobs: number, work: () => Promise<void>): Promise<RunnerRun> {
  const database = tempDatabase();
  const runner = new JobRunner(database.db, systemClock, silentLogger, { concurrency, pollMs: 200 });
  try {
    let done = 0;
    let allDone!: () => void;
    const finished = new Promise<void>((resolve) => (allDone = resolve));
    runner.register(BENCH_JOB, {
      async run() {
        await work();
        if (++done === jobs) allDone();
      },
    });
    const now = Date.now();
    database.db.transaction(() => {
      for (let i = 0; i < jobs; i++) enqueue(database.db, now, BENCH_JOB, { i });
    })();
    const started = performance.now();
    runner.start();
    await finished;
    await runner.idle();
    const wallMs = performance.now() - started;
    const left = (database.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE state <> 'done'").get() as { n: number }).n;
    if (left) throw new Error(`runner run: ${left} jobs not done`);
    return { label, concurrency, jobs, wallMs };
  } finally {
    await runner.stop();
    database.cleanup();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((width, column) => (column === 0 ? ':' : '-') + '-'.repeat(width) + (column === 0 ? '-' : ':')).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Tables for people: on stdout, or on stderr with `--json` (console.log is redirected above). */
const print = (...lines: string[]) => console.log(...lines);

async function main(): Promise<void> {
  const benchStarted = performance.now();
  let runs: OffboardingRun[] | undefined;
  if (wants('offboarding')) {
    print(`Bulk Autodesk offboarding: ${PEOPLE} people in a directory of ${DIRECTORY_SIZE}, sandbox latency ${LATENCY_MS} ms, ` +
      `Standard plan (${PLAN.maxConcurrent} concurrent, ${PLAN.perHour} calls/hour)\n`);
    const naive = await naiveOffboarding();
    const connector = await connectorOffboarding();
    runs = [naive, connector];
    print(table(
      ['way', 'wall time', 'list calls', 'PATCH', 'other', 'API calls', 'fits 1000/h', 'max in flight', '429s', 'deactivated'],
      runs.map((run) => {
        const total = run.listCalls + run.patches + run.other;
        return [run.label, seconds(run.wallMs), String(run.listCalls), String(run.patches), String(run.other), String(total),
          total <= PLAN.perHour ? 'yes' : 'no', String(run.maxInFlight), String(run.refused), `${run.deactivated}/${PEOPLE}`];
      }),
    ));
    const naiveCalls = naive.listCalls + naive.patches + naive.other;
    const connectorCalls = connector.listCalls + connector.patches + connector.other;
    print(`\nconnector vs naive: ${(naive.wallMs / connector.wallMs).toFixed(1)}x faster, ${(naiveCalls / connectorCalls).toFixed(1)}x fewer API calls.`);
    print(`(Before the sliding-hour limiter, calls were paced ${3600 / PLAN.perHour} s apart on this plan: ` +
      `${connectorCalls} calls would have taken at least ${Math.round((connectorCalls - 1) * 3600 / PLAN.perHour)} s.)`);
  }

  let budget: { clean: BudgetRun; faulty: BudgetRun; elapsedRatio: number } | undefined;
  if (wants('budget')) {

    print(`\nBulk offboarding against the budget: ${BUDGET_PEOPLE} people, directory of ${BUDGET_DIRECTORY}, ${BUDGET.calls} calls per ${BUDGET.windowMs / 1000} s ` +
      `(the sandbox's fixed window; the bot's sliding window set the same), ${PLAN.maxConcurrent} concurrent, latency ${LATENCY_MS} ms\n`);
    const clean = await budgetOffboarding(false);
    const faulty = await budgetOffboarding(true);
    print(table(
      ['run', 'elapsed', 'lower bound', 'elapsed ÷ bound', 'utilisation', 'API calls', 'counted', 'list / PATCH / other', 'calls/person', '5xx', '429s', '429 %', 'token requests'],
      [clean, faulty].map((run) => [run.label, seconds(run.elapsedMs), seconds(run.lowerBoundMs), (run.elapsedMs / run.lowerBoundMs).toFixed(2), run.utilisation.toFixed(2), String(run.apiCalls), String(run.charged),
        `${run.listCalls} / ${run.patches} / ${run.apiCalls - run.listCalls - run.patches}`,
        (run.apiCalls / run.people).toFixed(2), String(run.faults), String(run.rateLimited), `${((100 * run.rateLimited) / run.apiCalls).toFixed(2)} %`, String(run.tokenRequests)]),
    ));
    print(`\nwith faults vs fault-free: ${(faulty.elapsedMs / clean.elapsedMs).toFixed(2)}x the elapsed time.`);
    budget = { clean, faulty, elapsedRatio: faulty.elapsedMs / clean.elapsedMs };
  }

  const runnerRuns: RunnerRun[] = [];
  if (wants('runner')) {

    print('\nJob runner throughput (SQLite queue, real file)\n');
    for (const concurrency of [1, 8]) runnerRuns.push(await runnerThroughput('no-op', concurrency, 2000, async () => undefined));
    for (const concurrency of [1, 8]) runnerRuns.push(await runnerThroughput('waits 5 ms (I/O)', concurrency, 400, () => sleep(5)));
    print(table(
      ['job', 'concurrency', 'jobs', 'wall time', 'jobs/s'],
      runnerRuns.map((run) => [run.label, String(run.concurrency), String(run.jobs), seconds(run.wallMs), String(Math.round(run.jobs / (run.wallMs / 1000)))]),
    ));
  }
  // Slack side: ack latency against bare Bolt, click → first Autodesk call, peak RSS, the store at 100k requests.
  const ack = wants('ack') || wants('bulk') ? await ackBench({ acks: wants('ack'), bulk: wants('bulk'), bulkPeople: QUICK ? 300 : 1000, runs: ACK_RUNS }) : undefined;
  const store = wants('store') ? await storeBench() : undefined;
  if (ack || store) print(`
${ackTables(ack, store)}`);
  print(`
bench finished in ${seconds(performance.now() - benchStarted)}`);
  if (JSON_OUTPUT) {
    process.stdout.write(`${JSON.stringify({ offboarding: runs, budget, runner: runnerRuns, ack, store })}
`);
  }
}

await main();
