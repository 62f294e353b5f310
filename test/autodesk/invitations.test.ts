import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { awaitActivationKey, INVITED_DETAIL } from '../../src/connectors/autodesk/index.js';
import { harnessPerTest, listCalls, movableClock, type Harness } from './context.js';

const harness = harnessPerTest();

const pollRunAt = (h: Harness, itemId: number) =>
  (h.bot.db.prepare("SELECT run_at FROM jobs WHERE key = ? AND state = 'queued'").get(awaitActivationKey(itemId)) as { run_at: number } | undefined)?.run_at;

describe('pending invitations are checked together', () => {
  test('30 pending invitations in a directory of 100 cost one listing per poll round, not 30 GETs; an accepted one still completes with its team', async () => {
    const h = await harness({ app: { pendingPollEvery: '1s' } });
    h.sandbox.seedUsers(100);
    const emails = Array.from({ length: 30 }, (_, n) => `hire${n}@example.com`);
    const { itemIds } = h.submit('onboard', emails, { teams: ['team-789'] });
    await h.waitForItems(itemIds, (items) => items.every((item) => item.detail === INVITED_DETAIL));
    const invited = emails.map((email) => h.sandbox.userByEmail(email)!.id);
    const pollGets = () => h.sandbox.requests.filter((r) => r.method === 'GET' && invited.some((id) => r.path === `/users/${id}`)).length;

    // Two rounds: the 130-user directory is two pages, so one listing per round is 2 list calls.
    const before = h.sandbox.requests.length;
    const listsBefore = listCalls(h.sandbox);
    await h.sandbox.waitFor((s) => listCalls(s) >= listsBefore + 4, { timeoutMs: 5_000, message: 'two poll rounds' });
    const during = h.sandbox.requests.slice(before);
    assert.equal(pollGets(), 0, 'no invitation was polled with its own GET');
    assert.ok(during.length <= 6, `two rounds took ${during.length} calls: ${during.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    assert.ok(h.items(itemIds).every((item) => item.state === 'in_progress'), 'still waiting while pending');

    h.sandbox.accept(invited[7]!);
    const [accepted] = await h.waitForItems([itemIds[7]!], ([item]) => item!.state === 'completed');
    assert.equal(accepted!.detail, 'active, teams assigned: Design Team');
    assert.deepEqual(h.sandbox.userByEmail(emails[7]!)!.teams.map((t) => t.id), ['team-789']);
    assert.ok(h.items(itemIds).filter((item) => item.state === 'in_progress').length === 29, 'the others keep waiting');
  });

  test('a single invitation is polled with its own GET (cheaper than a listing)', async () => {
    const h = await harness({ app: { pendingPollEvery: '200ms' } });
    h.sandbox.seedUsers(100);
    const { itemIds } = h.submit('onboard', ['solo@example.com']);
    await h.waitForItems(itemIds, ([item]) => item!.detail === INVITED_DETAIL);
    const id = h.sandbox.userByEmail('solo@example.com')!.id;
    const listsBefore = listCalls(h.sandbox);
    await h.sandbox.waitFor((s) => s.countRequests({ method: 'GET', pathPrefix: `/users/${id}` }) >= 2, { message: 'two polls' });
    assert.equal(listCalls(h.sandbox), listsBefore, 'no listing for one invitation');
  });

  for (const webhooks of [false, true]) {
    test(`with webhooks ${webhooks ? 'on, polls keep pendingPollEvery' : 'off, polls come twice as often'} (10m configured)`, async () => {
      const clock = movableClock();
      const h = await harness({ clock, app: { pendingPollEvery: '10m' }, ...(webhooks ? { webhookSecret: 'whsec-test-123456' } : {}) });
      const { itemIds } = h.submit('onboard', ['later@example.com']);
      const itemId = itemIds[0]!;
      await h.waitForItems(itemIds, ([item]) => item!.detail === INVITED_DETAIL);
      const id = h.sandbox.userByEmail('later@example.com')!.id;
      const first = pollRunAt(h, itemId)!;
      clock.advance(first - clock.now() + 1);
      h.bot.runner.wake();
      await h.sandbox.waitFor((s) => s.countRequests({ method: 'GET', pathPrefix: `/users/${id}` }) >= 1, { message: 'the first poll' });
      await h.waitForItems(itemIds, () => (pollRunAt(h, itemId) ?? 0) > first, 5_000);
      assert.equal(pollRunAt(h, itemId)! - first, webhooks ? 600_000 : 300_000);
    });
  }
});
