/**
 * The bot in Socket Mode (SLACK_APP_TOKEN, no signing secret): it opens its link through apps.connections.open
 * on the Slack sandbox, and every command, submission and click reaches it as an envelope over that WebSocket.
 * The last block checks the sandbox's side of the protocol with a bare WebSocket client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { SlackDriver } from '../../src/sandboxes/slack/driver.js';
import { startSlackSandbox, type SlackObject, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { cardFor, hasButtons, itemStates, requestAccess } from '../support/flows.js';
import { Harness, PEOPLE } from '../support/harness.js';

describe('the bot in Socket Mode', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({ socketMode: true });
  });
  after(async () => {
    await h.close();
  });

  test('starts with its app token, says Socket Mode, and is connected once it says it started', async () => {
    assert.equal(h.env.SLACK_SIGNING_SECRET, undefined);
    assert.match(h.env.SLACK_APP_TOKEN ?? '', /^xapp-/);
    const started = await h.bot.waitForLine((line) => line.msg === 'accessbot started');
    assert.equal(started.mode, 'Socket Mode');
    const open = h.slack.calls.find((call) => call.method === 'apps.connections.open');
    assert.ok(open?.ok, 'apps.connections.open succeeded with the app token');
    assert.match(String(open.response.url), /^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=/);
    assert.equal(h.slack.socketMode.openConnections.length, 1);
    assert.equal(h.driver.transport, 'socket');
  });

  test('GET /healthz and /metrics still answer on PORT, and there is no HTTP events endpoint', async () => {
    const health = await fetch(`${h.botUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { ok: boolean }).ok, true);
    const metrics = await fetch(`${h.botUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^accessbot_jobs\{state="queued"\} \d+$/m);
    const events = await fetch(`${h.botUrl}/slack/events`, { method: 'POST', body: 'token=x' });
    assert.equal(events.status, 404, 'in Socket Mode Slack requests only come over the socket');
  });

  test('/access opens the modal, the request is submitted, and Approve over the socket updates the card', async () => {
    const since = h.slack.socketMode.deliveries.length;
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['axure'] });
    const card = await cardFor(h, PEOPLE.axureOwner, id);
    assert.ok(hasButtons(card));
    const click = await h.driver.clickButton(PEOPLE.axureOwner, card, 'Approve');
    assert.equal(click.status, 200);
    assert.ok(click.envelopeId);
    await h.slack.waitFor(() => !hasButtons(card) && JSON.stringify(card.blocks).includes('approved by'), { description: 'card updated after the approval' });
    // Approved, and already handed to the Axure task if its job ran: anything else (denied, still waiting) is wrong.
    assert.ok(['approved', 'in_progress'].includes(itemStates(h, id).join()), itemStates(h, id).join());

    const sent = h.slack.socketMode.deliveries.slice(since);
    assert.deepEqual(
      sent.map((d) => [d.envelope.type, d.envelope.payload.type ?? d.envelope.payload.command, d.envelope.accepts_response_payload]),
      [['slash_commands', '/access', true], ['interactive', 'view_submission', true], ['interactive', 'block_actions', false]],
    );
    assert.ok(sent.every((d) => d.ack && !d.ack.problem), 'every envelope acknowledged by its envelope_id');
    assert.equal(typeof sent[0]!.envelope.payload.trigger_id, 'string', 'the slash command payload has the form fields, as an object');
    assert.equal(h.slack.socketMode.acks.filter((a) => a.problem).length, 0, 'no stray or late acks');
  });

  test('a view_submission ack carrying response_action errors keeps the modal open with the field error', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['axure'] });
    const card = await cardFor(h, PEOPLE.axureOwner, id);
    await h.driver.clickButton(PEOPLE.axureOwner, card, 'Deny');
    const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.axureOwner, 'deny_reason'), { description: 'deny reason modal' });
    const blank = await h.driver.submitView(PEOPLE.axureOwner, modal, { reason: '   ' });
    assert.equal(blank.outcome, 'errors');
    assert.equal((blank.json as SlackObject).response_action, 'errors');
    const reasoned = await h.driver.submitView(PEOPLE.axureOwner, modal, { reason: 'No seats left' });
    assert.equal(reasoned.outcome, 'closed');
    assert.equal(reasoned.body, '', 'a bare ack() has an empty payload, which closes the modal');
    await h.slack.waitFor(() => itemStates(h, id).includes('denied'), { description: 'item denied' });
  });

  test('when Slack asks it to disconnect, the bot reconnects with a fresh ticket and keeps working', async () => {
    const connectionsBefore = h.slack.socketMode.connections.length;
    const opensBefore = h.slack.calls.filter((call) => call.method === 'apps.connections.open').length;
    assert.equal(h.slack.socketMode.requestDisconnect('refresh_requested'), 1);
    await h.slack.waitFor(() => h.slack.socketMode.connections.slice(connectionsBefore).find((c) => c.closedAt === undefined), {
      description: 'a new Socket Mode connection',
      timeoutMs: 15_000,
    });
    assert.equal(h.slack.socketMode.openConnections.length, 1, 'the old link closed');
    assert.equal(h.slack.calls.filter((call) => call.method === 'apps.connections.open').length, opensBefore + 1);
    const response = await h.driver.slashCommand(PEOPLE.requester, '');
    assert.equal(response.status, 200);
    await h.slack.waitFor(() => h.slack.views.some((v) => v.triggerId === response.triggerId), { description: 'modal opened over the new link' });
  });

  test('a restarted bot connects again before the harness hands it back', async () => {
    await h.restartBot('SIGKILL');
    assert.equal(h.slack.socketMode.openConnections.length, 1);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.bob], apps: ['axure'] });
    await cardFor(h, PEOPLE.axureOwner, id);
  });
});

describe("the sandbox's side of Socket Mode", () => {
  let sandbox: SlackSandbox;
  before(async () => {
    sandbox = await startSlackSandbox({ users: [{ id: 'U0ALICE', name: 'alice' }] });
  });
  after(() => sandbox.close());

  const open = async (token?: string) => {
    const response = await fetch(`${sandbox.apiUrl}apps.connections.open`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
    return (await response.json()) as SlackObject;
  };

  /** A bare client: connects, collects every message, answers envelopes with `reply` (undefined: no ack). */
  const connect = async (url: string, reply: (envelope: SlackObject) => SlackObject | undefined = () => ({ envelope_id: '' })) => {
    const messages: SlackObject[] = [];
    const ws = new WebSocket(url);
    const hello = new Promise<SlackObject>((resolve, reject) => {
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as SlackObject;
        messages.push(message);
        if (message.type === 'hello') resolve(message);
        else if (message.envelope_id) {
          const ack = reply(message);
          if (ack) ws.send(JSON.stringify(ack));
        }
      });
      ws.once('error', reject);
    });
    return { ws, messages, hello };
  };

  test('apps.connections.open wants the app token', async () => {
    assert.equal((await open()).error, 'not_authed');
    assert.equal((await open('xapp-wrong')).error, 'invalid_auth');
    assert.equal((await open(sandbox.botToken)).error, 'not_allowed_token_type');
    const ok = await open(sandbox.appToken);
    assert.equal(ok.ok, true);
    assert.match(ok.url, /^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f-]{36}&app_id=A0ACCESSBOT$/);
  });

  test('a ticket connects once; hello comes first; envelopes and acks round-trip; a missing ack times out', async () => {
    const url = String((await open(sandbox.appToken)).url);
    const client = await connect(url, (envelope) =>
      envelope.payload.text === 'silent' ? undefined : { envelope_id: envelope.envelope_id, payload: { text: `got ${envelope.payload.text}` } },
    );
    const hello = await client.hello;
    assert.deepEqual(Object.keys(hello).sort(), ['connection_info', 'debug_info', 'num_connections', 'type']);
    assert.equal(hello.num_connections, 1);
    assert.equal(hello.connection_info.app_id, sandbox.appId);

    await assert.rejects(
      new Promise((resolve, reject) => {
        const again = new WebSocket(url);
        again.once('open', resolve);
        again.once('error', reject);
      }),
      /401/,
      'a used ticket is refused',
    );

    const driver = new SlackDriver({ sandbox, transport: 'socket', ackTimeoutMs: 300 });
    const answered = await driver.slashCommand('U0ALICE', 'hi');
    assert.equal(answered.status, 200);
    assert.deepEqual(answered.json, { text: 'got hi' });
    assert.equal(sandbox.ephemerals.at(-1)?.text, 'got hi', 'the ack payload is shown as Slack shows a command ack');
    const envelope = client.messages.find((m) => m.envelope_id === answered.envelopeId) as SlackObject;
    assert.deepEqual(Object.keys(envelope).sort(), ['accepts_response_payload', 'envelope_id', 'payload', 'type']);
    assert.equal(envelope.payload.command, '/access');
    assert.equal(envelope.payload.is_enterprise_install, 'false', 'the form fields, strings as in the HTTP form');

    await assert.rejects(driver.slashCommand('U0ALICE', 'silent'), /did not acknowledge .* within 300 ms/);

    const event = await driver.event({ type: 'app_home_opened', user: 'U0ALICE', tab: 'home' });
    const eventEnvelope = client.messages.find((m) => m.envelope_id === event.envelopeId) as SlackObject;
    assert.equal(eventEnvelope.type, 'events_api');
    assert.equal(eventEnvelope.payload.type, 'event_callback');
    assert.equal(eventEnvelope.retry_attempt, 0);

    client.ws.close(1000);
    await sandbox.waitFor(() => sandbox.socketMode.openConnections.length === 0, { description: 'link closed' });
    await assert.rejects(driver.slashCommand('U0ALICE', 'hi'), /no Socket Mode connection is open/);
  });
});
