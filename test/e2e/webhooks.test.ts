/** Autodesk webhooks through the running bot, with AUTODESK_WEBHOOK_SECRET set: signed deliveries only. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signatureOf } from '../../src/connectors/autodesk/index.js';
import { Harness, PEOPLE, baseConfig } from '../support/harness.js';
import { cardFor, itemStates, requestAccess } from '../support/flows.js';

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
