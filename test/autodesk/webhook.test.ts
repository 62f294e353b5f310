import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { signatureOf } from '../../src/connectors/autodesk/index.js';
import { startHarness, type Harness, type HarnessOptions } from './context.js';

const SECRET = 'whsec-test-secret-123';
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});
async function harness(options: HarnessOptions = { webhookSecret: SECRET }): Promise<Harness> {
  const h = await startHarness(options);
  open.push(h);
  return h;
}

const event = (id: string, name: string, data: Record<string, unknown>) =>
  JSON.stringify({ id, event: name, createdAt: new Date().toISOString(), data });
const user = (overrides: Record<string, unknown> = {}) => ({
  id: 'user-123', email: 'Pat.Person@Example.com', firstName: 'Pat', lastName: 'Person', status: 'active', role: 'user', createdAt: '2024-01-15T10:30:00Z', ...overrides,
});
const signed = (body: string, secret = SECRET) => ({ 'x-autodesk-signature': signatureOf(secret, body), 'content-type': 'application/json' });

describe('Autodesk webhooks', () => {
  test('a signed delivery is accepted as a hint: nothing it claims is written to the directory', async () => {
    const h = await harness();
    const body = event('evt-1', 'user.deactivated', user({ status: 'inactive' }));
    const answer = await h.bot.connector.handleWebhook(Buffer.from(body), signed(body));
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { ok: true });
    assert.equal(h.bot.connector.directory.lookup('pat.person@example.com'), undefined);
    assert.equal(h.bot.connector.directory.byId('user-123'), undefined);
  });

  test('a wrong, missing or re-serialized signature is refused with 401 and changes nothing', async () => {
    const h = await harness();
    const body = event('evt-2', 'user.created', user());
    assert.equal((await h.bot.connector.handleWebhook(body, signed(body, 'another-secret'))).status, 401);
    assert.equal((await h.bot.connector.handleWebhook(body, {})).status, 401);
    assert.equal((await h.bot.connector.handleWebhook(body, { 'x-autodesk-signature': 'sha256=zz' })).status, 401);
    // The HMAC covers the exact bytes: the same JSON with other spacing does not match.
    const respaced = JSON.stringify(JSON.parse(body), null, 2);
    assert.equal((await h.bot.connector.handleWebhook(respaced, signed(body))).status, 401);
    assert.equal(h.bot.connector.directory.lookup('pat.person@example.com'), undefined);
    // Header names are case-insensitive, and an array value (repeated header) uses its first entry.
    assert.equal((await h.bot.connector.handleWebhook(body, { 'X-Autodesk-Signature': [signatureOf(SECRET, body)] })).status, 200);
  });

  test('malformed JSON is 400, an unknown event 200 and ignored, a repeated delivery is applied once', async () => {
    const h = await harness();
    const broken = '{"id": "evt-3", "event":';
    assert.equal((await h.bot.connector.handleWebhook(broken, signed(broken))).status, 400);
    const shapeless = JSON.stringify({ hello: 'world' });
    assert.equal((await h.bot.connector.handleWebhook(shapeless, signed(shapeless))).status, 400);
    const unknown = event('evt-4', 'user.promoted', user());
    const ignored = await h.bot.connector.handleWebhook(unknown, signed(unknown));
    assert.equal(ignored.status, 200);
    assert.equal(JSON.parse(ignored.body).ignored, 'user.promoted');

    const created = event('evt-5', 'user.created', user({ status: 'pending' }));
    assert.equal((await h.bot.connector.handleWebhook(created, signed(created))).status, 200);
    const deleted = event('evt-6', 'user.deleted', { id: 'user-123' });
    assert.equal((await h.bot.connector.handleWebhook(deleted, signed(deleted))).status, 200);
    const again = await h.bot.connector.handleWebhook(created, signed(created));
    assert.deepEqual(JSON.parse(again.body), { ok: true, duplicate: true });
  });

  test('without a secret configured, webhooks are off: 404 for signed and unsigned deliveries alike', async () => {
    const h = await harness({});
    const body = event('evt-7', 'user.invited', user({ status: 'pending' }));
    const answer = await h.bot.connector.handleWebhook(body, {});
    assert.equal(answer.status, 404);
    assert.match(JSON.parse(answer.body).error, /AUTODESK_WEBHOOK_SECRET is not set/);
    assert.equal((await h.bot.connector.handleWebhook(body, signed(body))).status, 404);
  });

  test('the sandbox signs real deliveries and the connector accepts them', async () => {
    const h = await harness();
    await h.listenForWebhooks();
    const created = h.sandbox.addUser({ email: 'Real.Delivery@example.com', status: 'pending' });
    h.sandbox.accept(created.id);
    await h.sandbox.flushWebhooks();
    assert.deepEqual(h.sandbox.webhookDeliveries.map((d) => [d.event, d.status]), [['user.accepted_invitation', 200]]);
  });
});
