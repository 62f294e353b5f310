/**
 * Approval reminders through the real request service, the real job runner on a SQLite file and the Slack
 * sandbox, with a clock the test moves: reminders in the card's thread inside working hours only, one
 * catch-up after downtime, the escalation to IT once, nothing after a decision or a cancel, and the
 * requester's "waiting on @x since 2 days".
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import { parseAccessConfig, ConfigError, type Config } from '../../src/config.js';
import type { Connector } from '../../src/connectors/types.js';
import type { AppContext } from '../../src/context.js';
import { openDatabase } from '../../src/db/connection.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { createItAdmins } from '../../src/requests/it-admins.js';
import { approvalRemindKey } from '../../src/requests/reminders.js';
import { registerApprovalReminders } from '../../src/slack/approval-reminders.js';
import { cancelRequest, createItemProgress, decide, submitRequest } from '../../src/requests/service.js';
import { startSlackSandbox, type SandboxMessage, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { registerSlackJobs } from '../../src/slack/jobs.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock, HOUR, MONDAY_10_UTC } from '../manual/harness.js';
import { knownPeopleIn } from '../../src/slack/people.js';

const REQUESTER = 'U0ALICE';
const MANAGER = 'U0MANAGER';
const OWNER = 'U0OWNER';
const OWNER2 = 'U0OWNER2';
const ADMIN = 'U0ADMIN';
const IT_CHANNEL = 'C0ITOPS';
const DAY = 24 * HOUR;

function configWith(reminders: Record<string, unknown>) {
  return parseAccessConfig({
    itChannel: IT_CHANNEL,
    itAdmins: [ADMIN],
    ...reminders,
    apps: [
      { id: 'axure', name: 'Axure RP', connector: 'manual', assignees: ['U0IT1'], approvalSteps: [{ name: 'Manager', approvers: [MANAGER] }, { name: 'Owner', approvers: [OWNER, OWNER2] }] },
      // Its only approver is the requester below, so its step falls back to the IT admins.
      { id: 'miro', name: 'Miro', connector: 'manual', assignees: ['U0IT1'], approvers: [REQUESTER] },
    ],
  });
}

interface Bot {
  ctx: AppContext;
  clock: FakeClock;
  slack: SlackSandbox;
  runner: JobRunner;
  restart(): Promise<void>;
  close(): Promise<void>;
}

let bot: Bot | undefined;
afterEach(async () => {
  await bot?.close();
  bot = undefined;
});

async function startBot(reminders: Record<string, unknown>): Promise<Bot> {
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-reminders-'));
  const db = openDatabase(join(dir, 'bot.db'));
  const slack = await startSlackSandbox({
    users: [REQUESTER, MANAGER, OWNER, OWNER2, ADMIN, 'U0IT1', 'U0BOB'].map((id) => ({ id, name: id.toLowerCase(), email: `${id.toLowerCase()}@example.com` })),
  });
  const clock = new FakeClock(MONDAY_10_UTC);
  const config = configWith(reminders);
  const ctx = {
    db, config, clock, log: silentLogger, connectors: new Map<string, Connector>(), settings: {} as Config, itAdmins: createItAdmins(config.itAdmins),
    knownEmails: knownPeopleIn(db), slack: new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }),
    wake: () => ctx.runner.wake(),
  } as Omit<AppContext, 'runner' | 'progress' | 'tasks' | 'people'> as AppContext;
  ctx.progress = createItemProgress(ctx);
  const makeRunner = () => {
    ctx.runner = new JobRunner(db, clock, silentLogger, { pollMs: 15, retryBaseMs: 50, retryMaxMs: 200, stopGraceMs: 2000 });
    registerSlackJobs(ctx, () => []);
    registerApprovalReminders(ctx.runner, ctx);
    ctx.runner.start();
  };
  makeRunner();
  return {
    ctx, clock, slack,
    get runner() {
      return ctx.runner;
    },
    async restart() {
      await ctx.runner.stop();
      makeRunner();
    },
    async close() {
      await ctx.runner.stop();
      await slack.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function ask(b: Bot, appId = 'axure'): string {
  return submitRequest(b.ctx, {
    kind: 'onboard', requesterId: REQUESTER, appIds: [appId], effectiveDate: '2026-03-10', justification: 'Q2 project',
    subjects: [{ slackId: 'U0BOB', email: 'u0bob@example.com', firstName: 'Bob', lastName: 'B' }], options: {},
  }).requestId;
}

/** The card, once posted and its ts stored (the runner is idle again), so a reminder finds it. */
async function cardTo(b: Bot, channel: string, requestId: string): Promise<SandboxMessage> {
  const card = await b.slack.waitForMessage((m) => m.channel === channel && !m.threadTs && m.text.includes(requestId) && m.text.includes('needs a decision'), { description: `the card of ${requestId} in ${channel}` });
  await b.runner.whenIdle();
  return card;
}
const repliesUnder = (b: Bot, card: SandboxMessage) => b.slack.messages.filter((m) => m.channel === card.channel && m.threadTs === card.ts);
const approvalId = (b: Bot, requestId: string, stepIndex = 0) =>
  (b.ctx.db.prepare('SELECT id FROM approvals WHERE request_id = ? AND step_index = ?').get(requestId, stepIndex) as { id: number }).id;
const queuedReminder = (b: Bot, id: number) =>
  b.ctx.db.prepare("SELECT run_at FROM jobs WHERE key = ? AND state = 'queued'").get(approvalRemindKey(id)) as { run_at: number } | undefined;

/** Moves the clock and lets the runner see it. */
function at(b: Bot, time: number): void {
  b.clock.t = time;
  b.runner.wake();
}

/** Polls the database until the condition holds: for job rows, which the sandbox does not announce. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('reminders go in the thread under the card, only inside working hours, and after downtime once', async () => {
  const b = (bot = await startBot({ approvalRemindEvery: '4h', workingHours: '09:00-18:00 Mon-Fri', approvalEscalateAfter: 10 }));
  const id = ask(b);
  const card = await cardTo(b, b.slack.dmChannelOf(MANAGER), id);
  const step = approvalId(b, id);
  assert.equal(queuedReminder(b, step)?.run_at, MONDAY_10_UTC + 4 * HOUR, 'first reminder due at 14:00');

  at(b, MONDAY_10_UTC + 4 * HOUR);
  const first = await b.slack.waitFor(() => repliesUnder(b, card)[0], { description: 'the first reminder, threaded under the card' });
  assert.match(first.text, /Reminder 1: onboarding request AR-\w+ from <@U0ALICE> has waited about 4 hours for your decision on Axure RP step 1 \(Manager\)/);
  await b.runner.whenIdle();
  const tuesday9 = Date.parse('2026-03-03T09:00:00Z');
  assert.equal(queuedReminder(b, step)?.run_at, tuesday9, '18:00 is outside the hours: the next one waits for Tuesday 09:00');

  // Down from Monday evening until Wednesday 23:00: the overdue reminder waits for the morning, and is one.
  await b.runner.stop();
  const thursday9 = Date.parse('2026-03-05T09:00:00Z');
  b.clock.t = Date.parse('2026-03-04T23:00:00Z');
  await b.restart();
  await until('the overdue reminder to move itself to Thursday 09:00', () => queuedReminder(b, step)?.run_at === thursday9);
  assert.equal(repliesUnder(b, card).length, 1, 'nobody is reminded at night');
  at(b, thursday9);
  await b.slack.waitFor(() => repliesUnder(b, card).length === 2, { description: 'the one catch-up reminder' });
  await b.runner.whenIdle();
  assert.equal(repliesUnder(b, card).length, 2, 'one catch-up, not a burst for every missed interval');
  assert.equal(queuedReminder(b, step)?.run_at, thursday9 + 4 * HOUR, 'then the regular interval');
  const topLevel = b.slack.messagesTo(MANAGER).filter((m) => !m.threadTs && m.text.includes(id));
  assert.equal(topLevel.length, 1, 'reminders never post a new card');
});

test('IT is told once after approvalEscalateAfter reminders; a decision stops them and the next step is reminded; a cancel stops that', async () => {
  const b = (bot = await startBot({ approvalRemindEvery: '1h', approvalEscalateAfter: 2 }));
  const id = ask(b);
  const managerCard = await cardTo(b, b.slack.dmChannelOf(MANAGER), id);
  const escalations = () => b.slack.messagesTo(IT_CHANNEL).filter((m) => m.text.includes(':hourglass:') && m.text.includes(id));

  for (let n = 1; n <= 3; n++) {
    at(b, MONDAY_10_UTC + n * HOUR);
    await b.slack.waitFor(() => repliesUnder(b, managerCard).length === n, { description: `reminder ${n}` });
    await b.runner.whenIdle();
  }
  assert.equal(escalations().length, 1, 'the IT channel is told once, not at every later reminder');
  assert.match(escalations()[0]!.text, new RegExp(`<@${REQUESTER}> has been waiting on <@${MANAGER}> since <!date\\^\\d+\\^[^>]+> \\(about 2 hours\\) for Axure RP step 1 \\(Manager\\) of onboarding request ${id}; 2 reminders went unanswered`));

  const decided = decide(b.ctx, id, MANAGER, 'approve');
  assert.ok(decided.ok);
  const ownerCard = await cardTo(b, b.slack.dmChannelOf(OWNER), id);
  at(b, MONDAY_10_UTC + 4 * HOUR);
  await b.slack.waitFor(() => repliesUnder(b, ownerCard).length === 1, { description: "step 2's approver reminded under their own card" });
  await b.runner.whenIdle();
  assert.equal(repliesUnder(b, managerCard).length, 3, 'the decided step is reminded no more');
  assert.equal(queuedReminder(b, approvalId(b, id, 0)), undefined, "the decided step's chain has ended");

  const cancelled = cancelRequest(b.ctx, id, REQUESTER);
  assert.ok(cancelled.ok);
  const ownerStep = approvalId(b, id, 1);
  assert.ok(queuedReminder(b, ownerStep), 'a reminder of step 2 is still queued when the request is cancelled');
  at(b, MONDAY_10_UTC + 5 * HOUR);
  await until('the queued reminder of the cancelled step to have run', () => queuedReminder(b, ownerStep) === undefined);
  await b.runner.whenIdle();
  assert.equal(repliesUnder(b, ownerCard).length, 1, 'nobody is reminded about a cancelled request');
});

test('a step that fell back to IT is reminded in the IT card\'s thread, naming the IT admins', async () => {
  const b = (bot = await startBot({ approvalRemindEvery: '2h' }));
  const id = ask(b, 'miro');
  const itCard = await cardTo(b, IT_CHANNEL, id);
  at(b, MONDAY_10_UTC + 2 * HOUR);
  const reminder = await b.slack.waitFor(() => repliesUnder(b, itCard)[0], { description: 'the reminder under the IT card' });
  assert.match(reminder.text, new RegExp(`<@${ADMIN}>: an IT admin's decision on Miro step 1`));
});

test("the requester's status message and Home say whom a step waits on and since when, kept current by the reminders", async () => {
  const b = (bot = await startBot({ approvalRemindEvery: '2d' }));
  const id = ask(b);
  const status = await b.slack.waitForMessage((m) => m.channel === b.slack.dmChannelOf(REQUESTER) && m.text.includes(`Your onboarding request ${id}`), { description: "the requester's status" });
  const shows = (blocks: unknown, text: string) => JSON.stringify(blocks).includes(text);
  await b.slack.waitFor(() => shows(status.blocks, `waiting on <@${MANAGER}> since less than a minute`), { description: 'status names the approver from the start' });

  at(b, MONDAY_10_UTC + 2 * DAY);
  await b.slack.waitFor(() => shows(status.blocks, `Axure RP, step 1/2 (Manager): waiting on <@${MANAGER}> since 2 days`), { description: 'status updated in place to "since 2 days"' });
  await b.slack.waitFor(() => shows(b.slack.homeViews.get(REQUESTER)?.view.blocks, `waiting on <@${MANAGER}> since 2 days`), { description: "the requester's Home refreshed too" });
});

test('the reminder settings are checked at start-up, each problem named by its path', () => {
  const config = configWith({ approvalRemindEvery: '1d', workingHours: '09:00-17:30 Mon-Fri' });
  assert.equal(config.approvalRemindEvery, DAY);
  assert.equal(config.approvalEscalateAfter, 3, 'default');
  assert.equal(configWith({}).approvalRemindEvery, undefined, 'unset: no reminders');
  assert.throws(
    () => configWith({ approvalRemindEvery: 'daily', workingHours: '9-5', approvalEscalateAfter: 0 }),
    (error: unknown) => error instanceof ConfigError
      && ['approvalRemindEvery: must be a duration', 'workingHours: must look like "09:00-18:00 Mon-Fri"', 'approvalEscalateAfter:'].every((part) => error.problems.some((p) => p.startsWith(part))),
  );
});

test('a step opened while reminders were off is reminded once reminders are switched on and the bot restarted', async () => {
  const b = (bot = await startBot({}));
  const id = ask(b);
  const card = await cardTo(b, b.slack.dmChannelOf(MANAGER), id);
  const step = approvalId(b, id);
  assert.equal(queuedReminder(b, step), undefined, 'no reminders while approvalRemindEvery is unset');

  b.ctx.config.approvalRemindEvery = 6 * HOUR;
  await b.runner.stop();
  b.clock.t = MONDAY_10_UTC + DAY;
  await b.restart();
  await b.slack.waitFor(() => repliesUnder(b, card)[0], { description: 'the overdue step reminded at start-up' });
  await b.runner.whenIdle();
  assert.equal(repliesUnder(b, card).length, 1, 'one reminder for the day it waited, not four');
  assert.equal(queuedReminder(b, step)?.run_at, MONDAY_10_UTC + DAY + 6 * HOUR);
  await b.restart();
  assert.equal((b.ctx.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE key = ? AND state = 'queued'").get(approvalRemindKey(step)) as { n: number }).n, 1, 'a restart does not schedule it twice');
});

test('a reminder Slack refused for one approver is sent again to that one only', async () => {
  const b = (bot = await startBot({ approvalRemindEvery: '1h' }));
  const id = ask(b);
  await cardTo(b, b.slack.dmChannelOf(MANAGER), id);
  assert.ok(decide(b.ctx, id, MANAGER, 'approve').ok);
  const ownerCard = await cardTo(b, b.slack.dmChannelOf(OWNER), id);
  const owner2Card = await cardTo(b, b.slack.dmChannelOf(OWNER2), id);

  b.slack.failNext('chat.postMessage', 1, { error: 'internal_error' });
  at(b, MONDAY_10_UTC + HOUR);
  await b.slack.waitFor(() => repliesUnder(b, owner2Card).length === 1, { description: 'the second approver reminded despite the first failing' });
  await b.runner.whenIdle();
  assert.equal(repliesUnder(b, ownerCard).length, 0);
  at(b, MONDAY_10_UTC + HOUR + 60_000);
  await b.slack.waitFor(() => repliesUnder(b, ownerCard).length === 1, { description: 'the retry reaches the first approver' });
  await b.runner.whenIdle();
  assert.equal(repliesUnder(b, owner2Card).length, 1, 'the retry does not remind twice who was reminded already');
  const step = approvalId(b, id, 1);
  assert.equal((b.ctx.db.prepare('SELECT reminders_sent AS n FROM approvals WHERE id = ?').get(step) as { n: number }).n, 1, 'one reminder round counted');
});
