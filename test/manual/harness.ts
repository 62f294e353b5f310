/**
 * Real parts for manual-task tests: a SQLite file in a temp folder, the real job runner (restartable, so a
 * test can stop it, move the clock and start a new one), the Slack sandbox spoken to by a real WebClient,
 * and the real request service to approve items, so tasks are born the way the bot makes them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBot, type RunningBot } from '../../src/app.js';
import { configFor, parseAccessConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import type { Db } from '../../src/db/connection.js';
import type { JobRunner } from '../../src/jobs/runner.js';
import { decide, submitRequest } from '../../src/requests/service.js';
import type { RequestKind, Subject } from '../../src/requests/model.js';
import { startSlackSandbox, type SandboxMessage, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { taskOfItem, type Task } from '../../src/tasks/repository.js';
import { silentLogger } from '../../src/util/log.js';
import { dateInZone, type Clock } from '../../src/util/time.js';

export const IT = ['U0IT1', 'U0IT2', 'U0IT3'] as const;
export const OWNER = 'U0OWNER3';
export const REQUESTER = 'U0REQ';
export const STRANGER = 'U0STRANGER';
/** The configured IT admin (`itAdmins`): takes tasks no assignee may take, may act on any task. */
export const ADMIN = 'U0ADMIN';
export const IT_CHANNEL = 'C0ITOPS';

/** A clock tests move by hand; the runner and every timestamp read it. */
export class FakeClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface ManualAppOverrides {
  id?: string;
  name?: string;
  assignees?: string[];
  reminderEvery?: string;
  escalateAfter?: number;
  reminderHours?: string;
  roles?: string[];
  defaultRole?: string;
  steps?: { onboard?: string[]; offboard?: string[] };
}

export interface Harness {
  ctx: AppContext;
  db: Db;
  sandbox: SlackSandbox;
  clock: Clock;
  runner: JobRunner;
  /** Stops the bot and builds a fresh one on the same database (a process restart). */
  restart(): Promise<void>;
  /** Submits and approves a request for one new person; resolves with the item's task once its DM is posted. */
  approve(kind?: RequestKind, person?: number, appId?: string): Promise<{ requestId: string; itemId: number; task: Task; dm: SandboxMessage }>;
  /** Submits and approves a request about this subject; resolves at once (the task, if any, comes later). */
  approveFor(subject: Subject, kind?: RequestKind, appId?: string): { requestId: string; itemId: number };
  /** Resolves once every job due by the clock's now has run and none is running: then "nothing more happens" is the bot's decision. */
  settle(): Promise<void>;
  reminders(userId: string): SandboxMessage[];
  close(): Promise<void>;
}

const POLL_MS = 15;
let people = 0;

export async function startHarness(
  options: { clock?: Clock; app?: ManualAppOverrides; otherApps?: ManualAppOverrides[]; timezone?: string; protectedEmails?: string[] } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-manual-'));
  const sandbox = await startSlackSandbox({
    users: [...IT, OWNER, REQUESTER, STRANGER, ADMIN].map((id) => ({ id, name: id.toLowerCase(), email: `${id.toLowerCase()}@example.com` })),
  });
  const clock = options.clock ?? { now: () => Date.now() };
  const app = { id: 'axure', name: 'Axure RP', assignees: [...IT.slice(0, 2)], reminderEvery: '4h', escalateAfter: 3, ...options.app };
  const config = parseAccessConfig({
    itChannel: IT_CHANNEL,
    itAdmins: [ADMIN],
    timezone: options.timezone ?? 'UTC',
    protectedEmails: options.protectedEmails ?? [],
    apps: [app, ...(options.otherApps ?? [])].map((each) => ({ reminderEvery: '4h', ...each, connector: 'manual', approvers: [OWNER] })),
  });
  const settings = configFor(config, { SLACK_BOT_TOKEN: sandbox.botToken, SLACK_SIGNING_SECRET: 'test-secret', SLACK_API_URL: sandbox.apiUrl, DATABASE_PATH: join(dir, 'bot.db'), PORT: '0' });
  // The same wiring as `npm start`, without serving Slack: tests approve through the request service.
  const startBot = () => {
    const next = buildBot(settings, silentLogger, {
      clock, verifySlackToken: false, runner: { pollMs: POLL_MS, retryBaseMs: 50, retryMaxMs: 200, stopGraceMs: 2000 }, slackClient: { retryConfig: { retries: 0 } },
    });
    void next.start({ slack: false });
    return next;
  };
  let bot: RunningBot = startBot();

  const harness: Harness = {
    sandbox, clock,
    get ctx() {
      return bot.ctx;
    },
    get db() {
      return bot.db;
    },
    get runner() {
      return bot.runner;
    },
    async restart() {
      await bot.stop();
      bot = startBot();
    },
    approveFor(subject, kind = 'onboard', appId = app.id) {
      const { requestId } = submitRequest(bot.ctx, {
        kind, requesterId: REQUESTER, appIds: [appId], effectiveDate: dateInZone(clock.now(), config.timezone), justification: 'needs it for the project',
        subjects: [subject], options: {},
      });
      const decision = decide(bot.ctx, requestId, OWNER, 'approve');
      if (!decision.ok) throw new Error(`approval refused: ${decision.reason}`);
      return { requestId, itemId: decision.detail.items[0]!.id };
    },
    async approve(kind = 'onboard', person = ++people, appId = app.id) {
      const slackId = `U0NEW${person}`;
      sandbox.addUser({ id: slackId, name: `new${person}`, email: `new${person}@example.com` });
      const { requestId, itemId } = harness.approveFor({ slackId, email: `new${person}@example.com`, firstName: 'Pat', lastName: `Person${person}` }, kind, appId);
      const dm = await sandbox.waitForMessage((m) => m.text.startsWith('Task #') && m.text.includes(`<@${slackId}>`), { description: `the task DM for ${slackId}` });
      // The job stores the message's ts right after Slack answers.
      await bot.runner.whenIdle();
      const task = taskOfItem(bot.db, itemId)!;
      if (task.messageTs !== dm.ts) throw new Error(`task ${task.id} did not store its DM`);
      return { requestId, itemId, task, dm };
    },
    settle() {
      return bot.runner.whenIdle();
    },
    reminders(userId) {
      return sandbox.messagesTo(userId).filter((message) => message.text.includes('Reminder:'));
    },
    async close() {
      await bot.stop();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A Monday, 10:00 UTC: inside "09:00-18:00 Mon-Fri". */
export const MONDAY_10_UTC = Date.parse('2026-03-02T10:00:00Z');
export const HOUR = 3_600_000;
