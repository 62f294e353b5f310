/**
 * A delegation's period, with an injected clock: it covers the whole last day in the config's timezone (not UTC),
 * ends by itself the first instant after it (both people told, the audit says so), and a decision the
 * delegator's approvals need is theirs again from that instant, even before the expiry job has run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import { parseAccessConfig, type Config } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { openDatabase } from '../../src/db/connection.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { registerDelegationJobs, startDelegation } from '../../src/requests/delegation.js';
import { createItAdmins } from '../../src/requests/it-admins.js';
import { checkDecision, createItemProgress, submitRequest } from '../../src/requests/service.js';
import { startSlackSandbox, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { PEOPLE, USERS } from '../../src/sandboxes/stack.js';
import { registerSlackJobs } from '../../src/slack/jobs.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../manual/harness.js';
import { knownPeopleIn } from '../../src/slack/people.js';

let dir: string;
let slack: SlackSandbox;
let ctx: AppContext;
let runner: JobRunner;
// 11:00 in Berlin (UTC+1 in early March), a Monday.
const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accessbot-delegation-'));
  slack = await startSlackSandbox({ users: USERS });
  const config = parseAccessConfig({
    itChannel: 'C0ITOPS', itAdmins: [PEOPLE.admin], timezone: 'Europe/Berlin',
    apps: [{ id: 'axure', name: 'Axure RP', connector: 'manual', approvers: [PEOPLE.manager], assignees: [PEOPLE.it1] }],
  });
  const db = openDatabase(join(dir, 'bot.db'));
  runner = new JobRunner(db, clock, silentLogger, { pollMs: 15, retryBaseMs: 50, retryMaxMs: 200, stopGraceMs: 2000 });
  ctx = {
    db, config, clock, log: silentLogger, connectors: new Map(), settings: {} as Config, itAdmins: createItAdmins(config.itAdmins), knownEmails: knownPeopleIn(db),
    slack: new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }), runner, wake: () => runner.wake(),
  } as Omit<AppContext, 'progress' | 'tasks' | 'people'> as AppContext;
  ctx.progress = createItemProgress(ctx);
  registerSlackJobs(ctx, () => []);
  registerDelegationJobs(runner, ctx);
  runner.start();
});
after(async () => {
  await runner.stop();
  await slack.close();
  ctx.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const subject = { slackId: PEOPLE.dave, email: 'dave@example.com', firstName: 'Dave', lastName: 'Drafter' };

test('a delegation covers its whole last day in the config timezone and ends by itself right after it', async () => {
  const { requestId } = submitRequest(ctx, {
    kind: 'onboard', requesterId: PEOPLE.requester, subjects: [subject], appIds: ['axure'], effectiveDate: '2026-03-02', justification: 'project', options: {},
  });
  const started = startDelegation(ctx, { delegator: PEOPLE.manager, delegate: PEOPLE.bob, untilDate: '2026-03-04', delegatorName: 'mona' });
  assert.ok(started.ok);
  assert.equal(checkDecision(ctx, requestId, PEOPLE.bob).ok, true, 'the delegate decides');
  assert.deepEqual(checkDecision(ctx, requestId, PEOPLE.manager), { ok: false, reason: 'delegated', delegate: PEOPLE.bob });

  clock.t = Date.parse('2026-03-04T22:59:00Z'); // 23:59 in Berlin, still the last day (but already the 4th's evening in UTC)
  await runner.idle();
  assert.equal(checkDecision(ctx, requestId, PEOPLE.bob).ok, true, 'still in force on the last evening');
  assert.equal((ctx.db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'delegation.ended'").get() as { n: number }).n, 0, 'not ended on its last day');

  clock.t = Date.parse('2026-03-04T23:00:00Z'); // midnight in Berlin
  // The approvals are the delegator's again from this instant, whether or not the expiry job has run yet.
  assert.equal(checkDecision(ctx, requestId, PEOPLE.manager).ok, true, 'the approver decides again');
  assert.equal(checkDecision(ctx, requestId, PEOPLE.bob).ok, false, 'the delegate no longer does');
  runner.wake();
  await slack.waitForMessage((m) => m.channel === slack.dmChannelOf(PEOPLE.manager) && m.text.includes('has ended (its last day, 2026-03-04, is over)'), { description: 'the delegator told it ended' });
  await slack.waitForMessage((m) => m.channel === slack.dmChannelOf(PEOPLE.bob) && m.text.includes("delegation to you has ended"), { description: 'the delegate told it ended' });
  const ended = ctx.db.prepare("SELECT actor, detail FROM audit WHERE action = 'delegation.ended'").all() as { actor: string; detail: string }[];
  assert.equal(ended.length, 1);
  assert.equal(JSON.parse(ended[0]!.detail).why, 'expired');
  assert.equal((ctx.db.prepare('SELECT COUNT(*) AS n FROM delegations WHERE ended_at IS NULL').get() as { n: number }).n, 0);
});
