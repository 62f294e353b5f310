/**
 * The one directory of Slack users: what the users.list listing writes is what a click is judged on and what
 * opens a step, with no users.info call in between; against the real Slack sandbox and a real SQLite file.
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
import { createItAdmins } from '../../src/requests/it-admins.js';
import { checkDecision, submitRequest } from '../../src/requests/service.js';
import { startSlackSandbox, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { PEOPLE, USERS } from '../../src/sandboxes/stack.js';
import { learnClicker } from '../../src/slack/directory.js';
import { knownPeopleIn, PeopleDirectory } from '../../src/slack/people.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock } from '../../src/util/time.js';

let dir: string;
let slack: SlackSandbox;
let ctx: AppContext;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accessbot-directory-'));
  slack = await startSlackSandbox({ users: USERS });
  const config = parseAccessConfig({
    itChannel: 'C0ITOPS', itAdmins: [PEOPLE.admin],
    apps: [
      { id: 'axure', name: 'Axure RP', connector: 'manual', approvers: [PEOPLE.bob, PEOPLE.manager], assignees: [PEOPLE.it1] },
      { id: 'miro', name: 'Miro', connector: 'manual', approvers: [PEOPLE.owner1, PEOPLE.owner2], assignees: [PEOPLE.it1] },
      { id: 'figma', name: 'Figma', connector: 'manual', approvers: [PEOPLE.carol], assignees: [PEOPLE.it1] },
    ],
  });
  const db = openDatabase(join(dir, 'bot.db'));
  const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  ctx = {
    db, config, clock: systemClock, log: silentLogger, connectors: new Map(), settings: {} as Config, itAdmins: createItAdmins(config.itAdmins),
    knownEmails: knownPeopleIn(db), people: new PeopleDirectory(db, client, systemClock, silentLogger), slack: client, wake: () => undefined,
  } as Omit<AppContext, 'runner' | 'progress' | 'tasks'> as AppContext;
});
after(async () => {
  await slack.close();
  ctx.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const usersInfoCalls = () => slack.calls.filter((call) => call.method === 'users.info').length;
const request = (appIds: string[], subject: { slackId: string | null; email: string; firstName: string | null; lastName: string | null }) =>
  submitRequest(ctx, {
    kind: 'onboard', requesterId: PEOPLE.requester, subjects: [subject], appIds, effectiveDate: new Date().toISOString().slice(0, 10), justification: 'project', options: {},
  }).requestId;

test('a clicker listed by users.list is judged without a users.info call, their e-mail compared case-insensitively', async () => {
  await ctx.people.refresh();
  const before = usersInfoCalls();
  // Bob's Slack e-mail is Bob.Builder@Example.com; the new hire is typed in another case: still Bob's own access.
  const requestId = request(['axure'], { slackId: null, email: 'bob.builder@EXAMPLE.COM', firstName: 'Bob', lastName: 'Builder' });
  assert.equal(await learnClicker(ctx, PEOPLE.bob), true, 'the listed row serves');
  assert.deepEqual(checkDecision(ctx, requestId, PEOPLE.bob), { ok: false, reason: 'own_access' });
  assert.equal(checkDecision(ctx, requestId, PEOPLE.manager).ok, true, 'the other approver decides');
  assert.equal(usersInfoCalls(), before, 'nobody was asked of Slack one by one');
});

test('an approver the listing shows deactivated is skipped when a step opens; a step of only such approvers goes to IT', async () => {
  slack.addUser({ ...USERS.find((user) => user.id === PEOPLE.owner1)!, deleted: true });
  slack.addUser({ ...USERS.find((user) => user.id === PEOPLE.carol)!, deleted: true });
  await ctx.people.refresh();
  const before = usersInfoCalls();
  const requestId = request(['miro', 'figma'], { slackId: PEOPLE.dave, email: 'dave@example.com', firstName: 'Dave', lastName: 'Drafter' });
  assert.equal(checkDecision(ctx, requestId, PEOPLE.owner1).ok, false, 'the deactivated approver decides nothing');
  const owner2 = checkDecision(ctx, requestId, PEOPLE.owner2);
  assert.deepEqual(owner2.ok && owner2.decided.map((approval) => approval.appId), ['miro'], 'the active approver decides Miro alone');
  const admin = checkDecision(ctx, requestId, PEOPLE.admin);
  assert.deepEqual(admin.ok && admin.decided.map((approval) => [approval.appId, approval.fallbackToIt]), [['figma', true]], 'Figma went to IT');
  assert.equal(usersInfoCalls(), before);
});

test('someone Slack reports changed (user_change) is read again before their next click is judged', async () => {
  await ctx.people.refresh();
  assert.equal(await learnClicker(ctx, PEOPLE.dave), true);
  const before = usersInfoCalls();
  ctx.people.markChanged(PEOPLE.dave);
  assert.equal(await learnClicker(ctx, PEOPLE.dave), true);
  assert.equal(usersInfoCalls(), before + 1, 'one users.info for the changed person');
  assert.equal(await learnClicker(ctx, PEOPLE.dave), true);
  assert.equal(usersInfoCalls(), before + 1, 'and the row read then serves again');
});
