/** Autodesk webhooks through the running bot, with AUTODESK_WEBHOOK_SECRET set: signed deliveries only, as hints. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signatureOf } from '../../src/connectors/autodesk/index.js';
import { Harness, PEOPLE, baseConfig } from '../support/harness.js';
import { cardFor, itemStates, requestAccess } from '../support/flows.js';
import { readWords } from '../../src/requests/words.js';

const SECRET = 'whsec-test-0123456789';
let h: Harness;
before(async () => {
  // A long poll interval: only the signed webhook can finish the onboarding within the test.
  const config = baseConfig();
  config.apps[0].pendingPollEvery = '1h';
  h = await Harness.start({ config, autodesk: { webhookSecret: SECRET }, env: { AUTODESK_WEBHOOK_SECRET: SECRET } });
});
after(async () => {
  await h.close();
});

test('unsigned and wrongly signed deliveries are answered 401; a signed acceptance finishes a waiting onboarding', async () => {
  const body = JSON.stringify({ id: 'evt-forged', event: 'user.accepted_invitation', createdAt: new Date().toISOString(), data: { id: 'x', email: 'x@example.com', status: 'active' } });
  const post = (headers: Record<string, string>) => fetch(`${h.botUrl}/webhooks/autodesk`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  assert.equal((await post({})).status, 401);
  assert.equal((await post({ 'X-Autodesk-Signature': signatureOf('not-the-secret', body) })).status, 401);
  assert.equal((await post({ 'X-Autodesk-Signature': signatureOf(SECRET, body) })).status, 200, 'the documented scheme is accepted');

  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['autodesk'], subjects: [PEOPLE.dave], autodesk_teams: ['team-789'] });
  await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
  await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
  const invited = await h.autodesk.waitFor(() => h.autodesk.userByEmail('dave@example.com'), { timeoutMs: 10_000 });
  h.autodesk.accept(invited.id);
  await h.autodesk.flushWebhooks();
  assert.ok(h.autodesk.webhookDeliveries.every((delivery) => delivery.status === 200), 'the sandbox signs like the README says');
  await h.slack.waitFor(() => itemStates(h, id)[0] === 'completed', { timeoutMs: 10_000, description: 'onboarding finished by the webhook' });
  assert.ok(h.autodesk.userByEmail('dave@example.com')!.teams.some((team) => team.id === 'team-789'));
});

test('a signed delivery claiming a leaver is deactivated changes nothing: the offboarding deactivates the real account', async () => {
  const carol = h.autodesk.addUser({ email: 'carol@example.com', firstName: 'Carol', status: 'active' });
  const lie = JSON.stringify({ id: 'evt-lie', event: 'user.deactivated', createdAt: new Date().toISOString(), data: { ...carol, status: 'inactive' } });
  const answer = await fetch(`${h.botUrl}/webhooks/autodesk`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Autodesk-Signature': signatureOf(SECRET, lie) }, body: lie });
  assert.equal(answer.status, 200, 'well signed, so accepted as a hint');
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.carol] });
  await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
  await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
  await h.slack.waitFor(() => itemStates(h, id)[0] === 'completed', { timeoutMs: 10_000, description: 'offboarding completed' });
  assert.equal(h.autodesk.userByEmail('carol@example.com')!.status, 'inactive');
  assert.deepEqual(h.query<{ detail: string }>('SELECT detail FROM items WHERE request_id = ?', id).map((row) => readWords(row.detail)), ['deactivated']);
});

test('a replayed delivery older than five minutes is refused with 400; a body over 1 MiB with 413 before it is read', async () => {
  const old = JSON.stringify({ id: 'evt-replayed', event: 'user.accepted_invitation', createdAt: new Date(Date.now() - 10 * 60_000).toISOString(), data: { id: 'x' } });
  const stale = await fetch(`${h.botUrl}/webhooks/autodesk`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Autodesk-Signature': signatureOf(SECRET, old) }, body: old });
  assert.equal(stale.status, 400);
  assert.match(((await stale.json()) as { error: string }).error, /stale delivery/);
  const huge = await fetch(`${h.botUrl}/webhooks/autodesk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(1024 * 1024 + 1) });
  assert.equal(huge.status, 413);
  const alive = await fetch(`${h.botUrl}/healthz`);
  assert.equal(alive.status, 200, 'the bot is still serving');
});
