/**
 * Trust boundaries of the Autodesk connector: what it acts on comes from Autodesk after the approval, never
 * from a webhook payload nor from a listing that moved under it; onboarding never removes access.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { INVITED_DETAIL, MAX_DELIVERY_AGE_MS, signatureOf } from '../../src/connectors/autodesk/index.js';
import { awaitActivationKey } from '../../src/connectors/autodesk/index.js';
import { harnessPerTest, listCalls, movableClock, userCalls, type Harness } from './context.js';
import { wordsText } from '../../src/requests/words.js';

const harness = harnessPerTest();
const SECRET = 'whsec-trust-test';

/** Delivers a signed webhook straight to the connector, as the route would; answers its status. */
async function deliver(h: Harness, event: string, data: Record<string, unknown>, options: { id?: string; sentAt?: number } = {}): Promise<number> {
  const body = JSON.stringify({
    id: options.id ?? `evt-${Math.random().toString(36).slice(2)}`, event, createdAt: new Date(options.sentAt ?? h.bot.ctx.clock.now()).toISOString(), data,
  });
  const answer = await h.bot.connector.handleWebhook(body, { 'x-autodesk-signature': signatureOf(SECRET, body) });
  return answer.status;
}

const auditOf = (h: Harness, action: string) =>
  (h.bot.db.prepare('SELECT detail FROM audit WHERE action = ? ORDER BY id').all(action) as { detail: string }[]).map((row) => JSON.parse(row.detail) as Record<string, unknown>);

/** A harness whose directory was listed before the attack, so a stale or forged local copy is there to be believed. */
async function listedBeforeApproval(options: Parameters<typeof harness>[0] = {}) {
  const clock = movableClock();
  const h = await harness({ webhookSecret: SECRET, clock, ...options });
  return { h, clock, listNow: async () => { await h.bot.connector.directory.refresh(); clock.advance(1000); } };
}

describe('signed deliveries that lie', () => {
  test('a user.deactivated for a leaver who is still active: the offboarding still deactivates the account', async () => {
    const { h, listNow } = await listedBeforeApproval();
    const leaver = h.sandbox.addUser({ email: 'leaver@example.com' });
    await listNow();
    assert.equal(await deliver(h, 'user.deactivated', { id: leaver.id, email: leaver.email, status: 'inactive' }), 200);
    const { itemIds } = h.submit('offboard', ['leaver@example.com']);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.detail, 'deactivated');
    assert.equal(h.sandbox.userByEmail('leaver@example.com')!.status, 'inactive');
    assert.equal(userCalls(h.sandbox, leaver.id, 'PATCH', 200), 1);
  });

  test("a user.updated pairing a leaver's e-mail with another account's id: the other account is untouched", async () => {
    const { h, listNow } = await listedBeforeApproval({ app: { offboardAction: 'delete' } });
    const victim = h.sandbox.addUser({ email: 'victim@example.com', role: 'admin' });
    const leaver = h.sandbox.addUser({ email: 'leaver@example.com' });
    await listNow();
    assert.equal(await deliver(h, 'user.updated', { id: victim.id, email: 'leaver@example.com', status: 'active' }), 200);
    const { itemIds } = h.submit('offboard', ['LEAVER@example.com']);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.detail, 'deleted');
    assert.equal(h.sandbox.userByEmail('victim@example.com')?.status, 'active', 'the other account still exists, active');
    assert.equal(userCalls(h.sandbox, victim.id, 'DELETE') + userCalls(h.sandbox, victim.id, 'PATCH'), 0);
    assert.equal(userCalls(h.sandbox, leaver.id, 'DELETE', 200), 1);
    assert.equal(h.sandbox.userByEmail('leaver@example.com'), undefined);
  });

  test("a user.accepted_invitation pairing a new hire's e-mail with an existing account: that account gets nothing, the new hire is invited", async () => {
    const { h, listNow } = await listedBeforeApproval();
    const existing = h.sandbox.addUser({ email: 'existing@example.com', role: 'user' });
    await listNow();
    assert.equal(await deliver(h, 'user.accepted_invitation', { id: existing.id, email: 'new.hire@example.com', status: 'active' }), 200);
    const { itemIds } = h.submit('onboard', ['new.hire@example.com'], { role: 'admin', teams: ['team-789'] });
    await h.waitForItems(itemIds, ([item]) => item!.detail === INVITED_DETAIL || item!.state === 'completed' || item!.state === 'failed', 5000);
    assert.deepEqual(h.items(itemIds).map((item) => [item.state, item.detail]), [['in_progress', INVITED_DETAIL]]);
    const invited = h.sandbox.userByEmail('new.hire@example.com');
    assert.equal(invited?.status, 'pending');
    assert.equal(invited?.role, 'admin');
    const untouched = h.sandbox.userByEmail('existing@example.com')!;
    assert.equal(untouched.role, 'user');
    assert.deepEqual(untouched.teams, []);
    assert.equal(h.sandbox.requests.filter((r) => r.path.startsWith(`/users/${existing.id}`)).length, 0);
  });

  test('a delivery older than five minutes is refused with 400 and wakes nothing; a fresh one wakes the waiting item', async () => {
    const { h, clock } = await listedBeforeApproval({ app: { pendingPollEvery: '1h' } });
    const { itemIds } = h.submit('onboard', ['slow.accept@example.com'], { teams: ['team-789'] });
    await h.waitForItems(itemIds, ([item]) => item!.detail === INVITED_DETAIL);
    const invited = h.sandbox.accept('slow.accept@example.com');
    const nextPoll = () => (h.bot.db.prepare("SELECT run_at FROM jobs WHERE key = ? AND state = 'queued'").get(awaitActivationKey(itemIds[0]!)) as { run_at: number }).run_at;
    // Polls keep a timetable shared by all invitations, so the next one may be anywhere up to an hour away.
    const scheduled = nextPoll();
    assert.ok(scheduled > clock.now(), 'the next poll is still ahead');
    const stale = await deliver(h, 'user.accepted_invitation', { id: invited.id }, { sentAt: clock.now() - MAX_DELIVERY_AGE_MS - 1000 });
    assert.equal(stale, 400);
    assert.equal(nextPoll(), scheduled, 'the stale delivery did not bring the poll forward');
    assert.equal(await deliver(h, 'user.accepted_invitation', { id: invited.id }), 200);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.deepEqual(h.sandbox.userByEmail('slow.accept@example.com')!.teams.map((team) => team.id), ['team-789']);
  });

  test('seen delivery ids are pruned after a day; a repeat inside the day is answered as a duplicate', async () => {
    const { h } = await listedBeforeApproval();
    const now = h.bot.ctx.clock.now();
    h.bot.db.prepare('INSERT INTO seen_events (id, at) VALUES (?, ?)').run('autodesk:evt-ancient', now - 2 * 86_400_000);
    h.bot.db.prepare('INSERT INTO seen_events (id, at) VALUES (?, ?)').run('submission:keep-me', now - 2 * 86_400_000);
    assert.equal(await deliver(h, 'user.updated', { id: 'someone' }, { id: 'evt-recent' }), 200);
    const ids = (h.bot.db.prepare('SELECT id FROM seen_events ORDER BY id').all() as { id: string }[]).map((row) => row.id);
    assert.deepEqual(ids, ['autodesk:evt-recent', 'submission:keep-me']);
    const repeat = await h.bot.connector.handleWebhook(
      JSON.stringify({ id: 'evt-recent', event: 'user.updated', data: { id: 'someone' } }),
      { 'x-autodesk-signature': signatureOf(SECRET, JSON.stringify({ id: 'evt-recent', event: 'user.updated', data: { id: 'someone' } })) },
    );
    assert.deepEqual(JSON.parse(repeat.body), { ok: true, duplicate: true });
  });
});

describe('a directory that moves while it is listed', () => {
  test('users removed between two pages during a bulk offboarding: every leaver is still deactivated', async () => {
    const h = await harness();
    h.sandbox.seedUsers(100);
    const leavers = Array.from({ length: 10 }, (_, n) => h.sandbox.addUser({ email: `leaver${n}@example.com` }));
    h.sandbox.seedUsers(200);
    // Right after the first page, 20 early accounts disappear: every row moves up 20 places, over the page overlap.
    h.sandbox.moveBetweenPages({ remove: 20 });
    const { itemIds } = h.submit('offboard', leavers.map((leaver) => leaver.email));
    const items = await h.settle(itemIds);
    assert.deepEqual(items.map((item) => item.detail), leavers.map(() => 'deactivated'));
    for (const leaver of leavers) assert.equal(h.sandbox.userByEmail(leaver.email)!.status, 'inactive', leaver.email);
    // One page read before the move was noticed, then one complete listing (290 users) for the whole batch.
    assert.ok(listCalls(h.sandbox) <= 2 + 4, `list calls: ${listCalls(h.sandbox)}`);
  });

  test('a directory that never holds still is not believed: the item fails in words, never completes as "no account"', async () => {
    const h = await harness({ runner: { maxAttempts: 2 } });
    h.sandbox.seedUsers(100);
    const leaver = h.sandbox.addUser({ email: 'leaver@example.com' });
    h.sandbox.seedUsers(200);
    // Accounts keep being created while it is read: the total never matches from one page to the next.
    h.sandbox.moveBetweenPages({ insert: 10, pages: 1000 });
    const { itemIds } = h.submit('offboard', [leaver.email]);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'failed');
    assert.match(wordsText(item!.detail!), /kept changing while it was read/);
    assert.equal(h.sandbox.userByEmail('leaver@example.com')!.status, 'active');
  });
});

describe('the last check before an irreversible call', () => {
  test('an item taken out of progress while its account is being read is never acted on', async () => {
    const h = await harness();
    const leaver = h.sandbox.addUser({ email: 'leaver@example.com' });
    h.sandbox.setLatency(150);
    const { itemIds } = h.submit('offboard', [leaver.email]);
    await h.sandbox.waitFor((s) => [...s.inFlightPaths].some((path) => path.startsWith('GET /users')), { message: 'the listing in flight' });
    // What a cancellation (or IT finishing it by hand) does to the item while the connector waits on Autodesk.
    h.bot.db.prepare("UPDATE items SET state = 'failed', detail = 'stopped meanwhile' WHERE id = ?").run(itemIds[0]);
    const jobState = () => (h.bot.db.prepare("SELECT state FROM jobs WHERE kind = 'item.fulfill'").get() as { state: string }).state;
    await h.waitForItems(itemIds, () => jobState() === 'done' || jobState() === 'failed');
    assert.equal(h.sandbox.countRequests({ method: 'PATCH' }), 0);
    assert.equal(h.sandbox.userByEmail('leaver@example.com')!.status, 'active');
    assert.equal((h.bot.db.prepare('SELECT COUNT(*) AS n FROM autodesk_intents').get() as { n: number }).n, 0, 'no intent recorded');
  });
});

describe('onboarding never removes access', () => {
  test('an existing admin onboarded with role user keeps admin: no role call, nothing audited', async () => {
    const h = await harness();
    const admin = h.sandbox.addUser({ email: 'boss@example.com', role: 'admin' });
    const { itemIds } = h.submit('onboard', ['Boss@example.com'], { role: 'user', teams: ['team-789'] });
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'already active, kept role admin (asked: user), teams assigned: Design Team');
    assert.equal(h.sandbox.userByEmail('boss@example.com')!.role, 'admin');
    assert.deepEqual(h.sandbox.userByEmail('boss@example.com')!.teams.map((team) => team.id), ['team-789']);
    assert.equal(userCalls(h.sandbox, admin.id, 'PATCH'), 0);
    assert.equal(auditOf(h, 'autodesk.role_changed').length, 0);
  });

  test('a viewer asked to be user is raised, audited with from and to', async () => {
    const h = await harness();
    const viewer = h.sandbox.addUser({ email: 'watcher@example.com', role: 'viewer' });
    const { itemIds } = h.submit('onboard', ['watcher@example.com'], { role: 'user' });
    const [item] = await h.settle(itemIds);
    assert.equal(item!.detail, 'already active, role raised from viewer to user');
    assert.equal(h.sandbox.userByEmail('watcher@example.com')!.role, 'user');
    const [audit] = auditOf(h, 'autodesk.role_changed');
    assert.deepEqual([audit?.userId, audit?.from, audit?.to], [viewer.id, 'viewer', 'user']);
  });

  test('a protected e-mail is never onboarded: the item fails naming the reason, before any call', async () => {
    const h = await harness({ protectedEmails: ['breakglass@example.com'] });
    h.sandbox.addUser({ email: 'BreakGlass@example.com', role: 'admin' });
    const { itemIds } = h.submit('onboard', ['breakglass@EXAMPLE.com'], { role: 'viewer', teams: ['team-789'] });
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'failed');
    assert.match(wordsText(item!.detail!), /protected account/);
    assert.equal(h.sandbox.requests.length, 0);
  });
});
