import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { harnessPerTest, listCalls, movableClock, userCalls, type Harness } from './context.js';
import { wordsText } from '../../src/requests/words.js';

const harness = harnessPerTest();

const auditOf = (h: Harness, action: string) =>
  h.bot.db.prepare('SELECT item_id, detail FROM audit WHERE action = ? ORDER BY id').all(action) as { item_id: number; detail: string }[];

describe('Autodesk offboarding', () => {
  test('an active user is deactivated with PATCH status inactive, confirmed, and audited with the time', async () => {
    const h = await harness();
    const user = h.sandbox.addUser({ email: 'carol@Example.COM' });
    const { itemIds } = h.submit('offboard', ['CAROL@example.com']);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'deactivated');
    assert.equal(h.sandbox.userByEmail('carol@example.com')!.status, 'inactive');
    assert.equal(userCalls(h.sandbox, user.id, 'PATCH'), 1);
    const audit = auditOf(h, 'autodesk.deactivated');
    assert.equal(audit.length, 1);
    const detail = JSON.parse(audit[0]!.detail) as { userId: string; email: string; at: string };
    assert.equal(detail.userId, user.id);
    assert.equal(detail.email, 'carol@Example.COM', 'the e-mail as Autodesk returns it');
    assert.ok(Date.parse(detail.at) > 0);
  });

  test('not found completes as "no Autodesk account"; already inactive completes without a call', async () => {
    const h = await harness();
    const inactive = h.sandbox.addUser({ email: 'Old.Timer@example.com', status: 'inactive' });
    h.sandbox.seedUsers(5);
    const { itemIds } = h.submit('offboard', ['nobody@example.com', 'old.timer@EXAMPLE.com']);
    const items = await h.settle(itemIds);
    assert.deepEqual(items.map((i) => [i.state, i.detail]), [['completed', 'no Autodesk account'], ['completed', 'already deactivated']]);
    assert.equal(h.sandbox.countRequests({ method: 'PATCH' }), 0);
    assert.equal(userCalls(h.sandbox, inactive.id, 'PATCH'), 0);
    assert.equal(auditOf(h, 'autodesk.deactivated').length, 0);
  });

  test('a protected e-mail (any casing) is never touched: the item fails naming the reason', async () => {
    const h = await harness({ protectedEmails: ['breakglass@example.com'] });
    h.sandbox.addUser({ email: 'BreakGlass@Example.com' });
    const { itemIds } = h.submit('offboard', ['BREAKGLASS@example.com']);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'failed');
    assert.match(wordsText(item!.detail!), /protected account/);
    assert.equal(h.sandbox.requests.length, 0, 'not even a lookup');
    assert.equal(h.sandbox.userByEmail('breakglass@example.com')!.status, 'active');
  });

  test('an account deleted and made again since an older listing: the new account is deactivated, the old id never called', async () => {
    const clock = movableClock();
    const h = await harness({ clock });
    const old = h.sandbox.addUser({ email: 'reborn@example.com' });
    await h.bot.connector.directory.refresh();
    clock.advance(1000);
    const token = await h.bot.connector.client.tokens.get();
    const deleted = await fetch(`${h.sandbox.baseUrl}/users/${old.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(deleted.status, 200);
    const reborn = h.sandbox.addUser({ email: 'Reborn@example.com' });
    const { itemIds } = h.submit('offboard', ['reborn@example.com']);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'deactivated');
    // The listing from before the approval is not trusted for an irreversible call: a new one names the account.
    assert.equal(userCalls(h.sandbox, old.id, 'PATCH'), 0);
    assert.equal(userCalls(h.sandbox, reborn.id, 'PATCH', 200), 1);
    assert.equal(h.sandbox.userByEmail('reborn@example.com')!.status, 'inactive');
  });

  test('offboardAction delete sends DELETE and audits autodesk.deleted', async () => {
    const h = await harness({ app: { offboardAction: 'delete' } });
    const user = h.sandbox.addUser({ email: 'dave@example.com' });
    const { itemIds } = h.submit('offboard', ['dave@example.com']);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'deleted');
    assert.equal(h.sandbox.userByEmail('dave@example.com'), undefined);
    assert.equal(userCalls(h.sandbox, user.id, 'DELETE'), 1);
    assert.equal(auditOf(h, 'autodesk.deleted').length, 1);
  });

  test('5xx answers are retried until the item completes', async () => {
    const h = await harness();
    h.sandbox.seedUsers(3);
    h.sandbox.injectFailures(3, 503);
    const { itemIds } = h.submit('offboard', ['user0001@example.com', 'user0002@example.com', 'user0003@example.com']);
    const items = await h.settle(itemIds);
    assert.deepEqual(items.map((i) => i.state), ['completed', 'completed', 'completed']);
    assert.equal(h.sandbox.countRequests({ status: 503 }), 3);
    assert.ok(h.sandbox.users().every((u) => u.status === 'inactive'));
  });

  test('a 429 storm with expiring tokens is obeyed and loses no item (no rate-limit headers)', async () => {
    const h = await harness({
      sandbox: { requestsPerWindow: 5, windowMs: 1000, rateLimitHeaders: false, tokenTtlSeconds: 1 },
      maxConcurrent: 3,
    });
    const users = h.sandbox.seedUsers(12);
    const { itemIds } = h.submit('offboard', users.map((u) => u.email.toUpperCase()));
    const items = await h.settle(itemIds, 30_000);
    assert.ok(items.every((i) => i.state === 'completed' && i.detail === 'deactivated'), JSON.stringify(items.map((i) => i.detail)));
    for (const user of users) assert.equal(userCalls(h.sandbox, user.id, 'PATCH', 200), 1);
    const refused = h.sandbox.countRequests({ status: 429 });
    assert.ok(refused > 0, 'the storm happened');
    // Obeyed: after a refusal the whole connector waits, so refusals stay near one per concurrent call per window.
    assert.ok(refused <= 3 * 6, `too many 429s: ${refused}`);
    assert.ok(h.sandbox.tokenRequests >= 2, 'the token expired and was renewed mid-run');
    assert.equal(h.sandbox.countRequests({ status: 401 }), 0, 'renewed before expiry, not after a refusal');
  });

  test('a bulk run over a 260-user directory lists 3 pages, not one traversal per person', async () => {
    const h = await harness({ sandbox: { latencyMs: 5 } });
    const users = h.sandbox.seedUsers(260);
    const targets = users.filter((_, index) => index % 9 === 0).slice(0, 25);
    const { itemIds } = h.submit('offboard', targets.map((u) => u.email));
    const items = await h.settle(itemIds);
    assert.ok(items.every((i) => i.state === 'completed' && i.detail === 'deactivated'));
    assert.equal(listCalls(h.sandbox), 3);
    assert.equal(h.sandbox.countRequests({ method: 'PATCH' }), targets.length);
  });

  test('a bulk run that outlasts the budget window sends one PATCH per person and no extra GET', async () => {
    // 6 calls per 1.5 s: the first listing and 5 PATCHes fill the window, the other jobs are rescheduled past it
    // (a wait longer than longWaitMs) after writing their intent; a call never sent must not cost a GET later.
    const h = await harness({ perHour: 6, maxConcurrent: 2, connector: { longWaitMs: 100, client: { budgetWindowMs: 1500 } } });
    const users = h.sandbox.seedUsers(12);
    const { itemIds } = h.submit('offboard', users.map((user) => user.email));
    const items = await h.settle(itemIds, 20_000);
    assert.ok(items.every((item) => item.state === 'completed' && item.detail === 'deactivated'), JSON.stringify(items.map((i) => i.detail)));
    assert.equal(h.sandbox.countRequests({ method: 'PATCH' }), 12);
    assert.equal(h.sandbox.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/users/')).length, 0, 'no GET of one user');
    assert.equal(listCalls(h.sandbox), 1);
  });

  test('a bulk offboarding killed mid-way finishes after restart without any PATCH sent twice', async () => {
    const h = await harness({ sandbox: { latencyMs: 40 }, maxConcurrent: 4 });
    const users = h.sandbox.seedUsers(260);
    const targets = users.slice(100, 130);
    const { itemIds } = h.submit('offboard', targets.map((u) => u.email));

    await h.sandbox.waitFor((s) => s.countRequests({ method: 'PATCH' }) >= 10, { timeoutMs: 15_000, message: '10 PATCHes' });
    const dying = h.bot;
    await dying.crash();

    const restarted = h.restart();
    const unconfirmed = restarted.db.prepare('SELECT COUNT(*) AS n FROM autodesk_intents WHERE confirmed_at IS NULL').get() as { n: number };
    const completedBefore = h.items(itemIds).filter((i) => i.state === 'completed').length;
    assert.ok(completedBefore < targets.length, 'the crash came before the end');

    const items = await h.settle(itemIds, 20_000);
    assert.ok(items.every((i) => i.state === 'completed' && i.detail === 'deactivated'), JSON.stringify(items.map((i) => [i.state, i.detail])));
    for (const user of targets) assert.equal(userCalls(h.sandbox, user.id, 'PATCH'), 1, `${user.email} was PATCHed more than once`);
    assert.ok(h.sandbox.users().filter((u) => u.status === 'inactive').length === targets.length);
    const audit = auditOf(h, 'autodesk.deactivated');
    assert.deepEqual(audit.map((row) => row.item_id).sort((a, b) => a - b), [...itemIds].sort((a, b) => a - b), 'one audit row per item');
    assert.equal(listCalls(h.sandbox), 3, 'the restarted bot reused the persisted directory');
    assert.ok(unconfirmed.n >= 1, 'some calls were in flight when the bot died: the intent path was exercised');
  });
});
