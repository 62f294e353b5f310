import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEACTIVATED_ON_ONBOARD, INVITED_DETAIL } from '../../src/connectors/autodesk/index.js';
import { harnessPerTest, type Harness } from './context.js';
import { wordsText } from '../../src/requests/words.js';

const harness = harnessPerTest();

const teamCalls = (h: Harness, userId: string, method: string) =>
  h.sandbox.requests.filter((r) => r.method === method && r.path === `/users/${userId}/teams`);

describe('Autodesk onboarding', () => {
  test('a new user is invited, waits while pending, and joins the team once a poll sees them active', async () => {
    const h = await harness({ app: { pendingPollEvery: '100ms' } });
    const { itemIds } = h.submit('onboard', ['New.Hire@Example.com'], { role: 'viewer', teams: ['team-789'] });
    const [invited] = await h.waitForItems(itemIds, ([item]) => item!.detail === INVITED_DETAIL);
    const created = h.sandbox.userByEmail('new.hire@example.com')!;
    assert.equal(created.email, 'New.Hire@Example.com', 'created in the casing asked for');
    assert.equal(created.status, 'pending');
    assert.equal(created.role, 'viewer');
    assert.equal(invited!.externalId, created.id);
    assert.equal(invited!.state, 'in_progress');

    // A few polls while pending; none tries a team assignment.
    await h.sandbox.waitFor((s) => s.countRequests({ method: 'GET', pathPrefix: `/users/${created.id}` }) >= 2, { message: 'two polls' });
    const acceptedAt = Date.now();
    h.sandbox.accept(created.id);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'active, teams assigned: Design Team');
    assert.deepEqual(h.sandbox.userByEmail('new.hire@example.com')!.teams.map((t) => t.id), ['team-789']);
    const posts = teamCalls(h, created.id, 'POST');
    assert.equal(posts.length, 1);
    assert.ok(posts[0]!.at >= acceptedAt, 'team assignment waited for the acceptance');
    assert.equal(teamCalls(h, created.id, 'GET').length, 1, 'membership verified');
    const milestones = h.bot.db.prepare("SELECT json_extract(detail, '$.detail') AS d FROM audit WHERE item_id = ? AND action LIKE 'item.%' ORDER BY id").all(itemIds[0]) as { d: string }[];
    assert.deepEqual(milestones.map((m) => m.d).filter((d) => d && d !== 'in progress' && !d.startsWith('approved')), [
      INVITED_DETAIL, 'active, assigning teams', 'active, teams assigned: Design Team',
    ]);
  });

  test('an accepted_invitation webhook finishes the item at once (polling is an hour away)', async () => {
    const h = await harness({ app: { pendingPollEvery: '1h' }, webhookSecret: 'whsec-test-123456' });
    await h.listenForWebhooks();
    const { itemIds } = h.submit('onboard', ['webhook.person@example.com'], { teams: ['team-789'] });
    await h.waitForItems(itemIds, ([item]) => item!.detail === INVITED_DETAIL);
    h.sandbox.accept('webhook.person@example.com');
    const [item] = await h.settle(itemIds, 5000);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'active, teams assigned: Design Team');
    await h.sandbox.flushWebhooks();
    assert.ok(h.sandbox.webhookDeliveries.every((d) => d.status === 200), JSON.stringify(h.sandbox.webhookDeliveries.map((d) => [d.event, d.status])));
  });

  test('an invitation never accepted fails after the give-up window', async () => {
    const h = await harness({ app: { pendingPollEvery: '100ms', pendingGiveUpAfter: '300ms' } });
    const { itemIds } = h.submit('onboard', ['slow.person@example.com'], { teams: ['team-789'] });
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'failed');
    assert.match(wordsText(item!.detail!), /not accepted within/);
    assert.equal(h.sandbox.countRequests({ method: 'POST', pathPrefix: '/users/' }), 0, 'no team assignment while pending');
  });

  test('a deactivated user is refused with the support-case words and nothing is created', async () => {
    const h = await harness();
    h.sandbox.addUser({ email: 'Gone.Person@Example.com', status: 'inactive' });
    const { itemIds } = h.submit('onboard', ['gone.person@example.com']);
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'failed');
    assert.equal(item!.detail, DEACTIVATED_ON_ONBOARD);
    assert.equal(h.sandbox.countRequests({ method: 'POST' }), 0);
    assert.equal(h.sandbox.countRequests({ method: 'PATCH' }), 0);
  });

  test('an active user in another casing is found: role and teams ensured, no new account', async () => {
    const h = await harness();
    const bob = h.sandbox.addUser({ email: 'Bob.Builder@Example.com', role: 'viewer' });
    const { itemIds } = h.submit('onboard', ['bob.builder@example.COM'], { role: 'admin', teams: ['team-789'] });
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'already active, role raised from viewer to admin, teams assigned: Design Team');
    const after = h.sandbox.userByEmail('bob.builder@example.com')!;
    assert.equal(after.role, 'admin');
    assert.deepEqual(after.teams.map((t) => t.id), ['team-789']);
    assert.equal(h.sandbox.countRequests({ method: 'POST', pathPrefix: '/users?' }) + h.sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/users').length, 0);
    assert.equal(h.sandbox.requests.filter((r) => r.method === 'PATCH' && r.path === `/users/${bob.id}`).length, 1);
  });

  test('already a team member (409) counts as assigned', async () => {
    const h = await harness();
    h.sandbox.addUser({ email: 'member@example.com', teams: [{ teamId: 'team-789' }] });
    const { itemIds } = h.submit('onboard', ['member@example.com'], { teams: ['team-789'] });
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'already active, teams assigned: Design Team');
    assert.equal(h.sandbox.countRequests({ status: 409 }), 1);
  });

  test('a 409 on create (account made after our listing) is looked up and used', async () => {
    const h = await harness();
    h.sandbox.seedUsers(3);
    // Approved now, carried out tomorrow: the listing below is newer than the approval, so its miss is trusted.
    const { itemIds } = h.submit('onboard', ['late.comer@example.com'], { effectiveDate: '2999-01-01' });
    await h.bot.connector.directory.refresh();
    const listed = h.sandbox.countRequests({ method: 'GET' });
    h.sandbox.addUser({ email: 'Late.Comer@example.com' });
    h.runQueuedNow();
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
    assert.equal(item!.detail, 'already active');
    assert.equal(h.sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/users' && r.status === 409).length, 1);
    assert.equal(h.sandbox.countRequests({ method: 'GET' }) - listed, 1, 'one fresh listing after the conflict');
  });

  test('a team that is not configured fails the item at once', async () => {
    const h = await harness();
    h.sandbox.addUser({ email: 'someone@example.com' });
    const { itemIds } = h.submit('onboard', ['someone@example.com'], { teams: ['team-unknown'] });
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'failed');
    assert.match(wordsText(item!.detail!), /team "team-unknown" is not configured/);
    assert.equal(h.sandbox.requests.length, 0);
  });
});
