/**
 * Who the IT team is, read from Slack: `itAdmins` user groups are expanded through usergroups.users.list at
 * every refresh (someone who left the group stops being an IT admin), a failed read keeps what was known, and
 * the deciders' e-mails are learnt for matching new hires known only by e-mail.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import type { AppContext } from '../../src/context.js';
import { openDatabase } from '../../src/db/connection.js';
import { createItAdmins } from '../../src/requests/it-admins.js';
import { startSlackSandbox, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { USERS } from '../../src/sandboxes/stack.js';
import { learnClicker, refreshDirectory } from '../../src/slack/directory.js';
import { knownPeopleIn, PeopleDirectory } from '../../src/slack/people.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock } from '../../src/util/time.js';

let dir: string;
let slack: SlackSandbox;
let ctx: AppContext;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accessbot-it-admins-'));
  slack = await startSlackSandbox({ users: USERS, userGroups: { S0ITTEAM: ['U0IT2'] } });
  const config = { itAdmins: ['U0ADMIN', 'S0ITTEAM'], apps: [{ id: 'axure', approvers: ['U0OWNER3'] }] };
  const db = openDatabase(join(dir, 'bot.db'));
  const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  ctx = {
    db, slack: client, people: new PeopleDirectory(db, client, systemClock, silentLogger),
    itAdmins: createItAdmins(config.itAdmins), knownEmails: knownPeopleIn(db), config, clock: systemClock, log: silentLogger,
  } as unknown as AppContext;
});
after(async () => {
  await slack.close();
  ctx.db.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a group's members are IT admins once read, and stop being so once they leave it; a failed read keeps the last known", async () => {
  assert.equal(ctx.itAdmins.has('U0IT2'), false, 'not before Slack was asked');
  await refreshDirectory(ctx);
  assert.equal(ctx.itAdmins.has('U0IT2'), true);
  assert.equal(ctx.itAdmins.has('U0ADMIN'), true);
  assert.deepEqual(ctx.itAdmins.members().sort(), ['U0ADMIN', 'U0IT2']);

  slack.userGroups.set('S0ITTEAM', ['U0IT1']);
  await refreshDirectory(ctx);
  assert.equal(ctx.itAdmins.has('U0IT2'), false, 'left the group');
  assert.equal(ctx.itAdmins.has('U0IT1'), true, 'joined the group');

  slack.failNext('usergroups.users.list', 1, { status: 500 });
  await refreshDirectory(ctx);
  assert.equal(ctx.itAdmins.has('U0IT1'), true, 'an outage does not empty the IT team');
});

test("approvers' and IT admins' e-mails are learnt (lower-cased); a clicker Slack cannot describe is not judged", async () => {
  await refreshDirectory(ctx);
  assert.equal(ctx.knownEmails!.emailOf('U0OWNER3'), 'ada@example.com');
  assert.equal(ctx.knownEmails!.emailOf('U0ADMIN'), 'adam@example.com');
  assert.equal(await learnClicker(ctx, 'U0BOB'), true);
  assert.equal(ctx.knownEmails!.emailOf('U0BOB'), 'bob.builder@example.com');
  slack.failNext('users.info', 1, { status: 500 });
  assert.equal(await learnClicker(ctx, 'U0CAROL'), false, 'unknown and unreadable: the click is refused, not judged blind');
});
