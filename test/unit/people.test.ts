/** The cached Slack directory against the real Slack sandbox and a real SQLite file. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { startSlackSandbox, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { PeopleDirectory } from '../../src/slack/people.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock } from '../../src/util/time.js';

const users = Array.from({ length: 450 }, (_, i) => ({ id: `U1P${String(i).padStart(4, '0')}`, name: `p${i}`, realName: `Person ${i}`, email: `P${i}@Example.com` }));
let slack: SlackSandbox;
let db: Db;
before(async () => {
  slack = await startSlackSandbox({ users });
  db = openDatabase(join(mkdtempSync(join(tmpdir(), 'accessbot-people-')), 'people.db'));
});
after(async () => {
  db.close();
  await slack.close();
});

const client = () => new WebClient('xoxb-sandbox', { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
const calls = (method: string) => slack.calls.filter((call) => call.method === method).length;

test('the listing pages through every user, waiting out a 429, and then answers without asking Slack', async () => {
  slack.failNext('users.list', 1, { status: 429, retryAfter: 0 });
  const people = new PeopleDirectory(db, client(), systemClock, silentLogger);
  await people.refresh();
  assert.equal(calls('users.list'), 1 + 3, 'one refused call, then 451 users in pages of 200');
  const info = calls('users.info');
  const found = await people.lookupUntil(Date.now() + 1000).byIds(users.map((user) => user.id));
  assert.ok([...found.values()].every((answer) => answer.status === 'found'));
  assert.equal(calls('users.info'), info, 'no users.info for people listed within the hour');
  const byEmail = await people.lookupUntil(Date.now() + 1000).byEmail('p7@example.COM');
  assert.equal(byEmail.status === 'found' && byEmail.person.id, 'U1P0007');
});

test('when Slack rate-limits, a stale row still answers and a person with no row is unavailable, not unknown', async () => {
  const stale = new PeopleDirectory(db, client(), systemClock, silentLogger, { freshFor: 0 });
  const joiners = Array.from({ length: 20 }, (_, i) => slack.addUser({ id: `U1PNEW${i}`, name: `new${i}`, email: `new${i}@example.com` }).id);
  slack.throttle('users.info', { perSecond: 0, retryAfter: 30 });
  try {
    const answers = await stale.lookupUntil(Date.now() + 1000).byIds(['U1P0001', ...joiners]);
    assert.equal(answers.get('U1P0001')?.status, 'found');
    assert.ok(joiners.every((id) => answers.get(id)?.status === 'unavailable'));
    const refused = slack.calls.filter((call) => call.method === 'users.info' && call.status === 429).length;
    assert.ok(refused <= 5, `after the first 429 it waits for Retry-After instead of asking 21 times (asked ${refused})`);
  } finally {
    slack.throttle('users.info', undefined);
  }
  const gone = await new PeopleDirectory(db, client(), systemClock, silentLogger).lookupUntil(Date.now() + 1000).byIds(['U1PGHOST']);
  assert.equal(gone.get('U1PGHOST')?.status, 'not_found', 'Slack saying user_not_found is believed');
});

test('typed e-mails: a deactivated account is found through the listing even when its row is stale (users.lookupByEmail does not answer it); an address that moved away is not', async () => {
  slack.addUser({ id: 'U1PLEFT', name: 'left', realName: 'Lee Left', email: 'lee.left@example.com', deleted: true });
  slack.addUser({ id: 'U1PMOVED', name: 'moved', realName: 'Mo Moved', email: 'old.mo@example.com', deleted: true });
  await new PeopleDirectory(db, client(), systemClock, silentLogger).refresh();
  slack.users.get('U1PMOVED')!.email = 'new.mo@example.com';
  const stale = new PeopleDirectory(db, client(), systemClock, silentLogger, { freshFor: 0 });
  const answers = await stale.lookupUntil(Date.now() + 2000).byEmails(['Lee.Left@example.com', 'old.mo@example.com', 'p8@example.com', 'nobody@example.com']);
  const idOf = (email: string) => { const answer = answers.get(email); return answer?.status === 'found' ? `${answer.person.id}${answer.person.deleted ? ' (deactivated)' : ''}` : answer?.status; };
  assert.equal(idOf('lee.left@example.com'), 'U1PLEFT (deactivated)');
  assert.equal(idOf('old.mo@example.com'), 'not_found', 'users.info shows the account has another e-mail now');
  assert.equal(idOf('p8@example.com'), 'U1P0008');
  assert.equal(idOf('nobody@example.com'), 'not_found');
});
