import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { verifySlackRequest } from '@slack/bolt';
import { LogLevel, WebClient } from '@slack/web-api';
import { SlackDriver } from '../../src/sandboxes/slack/driver.js';
import { type SlackObject, type SlackSandbox, startSlackSandbox } from '../../src/sandboxes/slack/server.js';

const SIGNING_SECRET = 'sandbox-signing-secret';
const ALICE = { id: 'U0ALICE', name: 'alice', realName: 'Alice Doe', email: 'Alice@Example.com', firstName: 'Alice', lastName: 'Doe' };
const BOB = { id: 'U0BOB', name: 'bob', email: 'bob@example.com' };

interface BotRequest {
  headers: IncomingMessage['headers'];
  rawBody: string;
  payload?: SlackObject;
}

/** Stands in for the bot's HTTP endpoint: records what the driver sends and answers with `reply`. */
async function startFakeBot() {
  const requests: BotRequest[] = [];
  let reply: (request: BotRequest) => { status?: number; body?: unknown } = () => ({});
  // The handler's promise is voided: it answers every request itself, and a test fails on what it then sees.
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const payloadField = new URLSearchParams(rawBody).get('payload');
    const request: BotRequest = { headers: req.headers, rawBody, payload: payloadField ? (JSON.parse(payloadField) as SlackObject) : undefined };
    requests.push(request);
    const { status = 200, body } = reply(request);
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    requests,
    setReply(next: typeof reply) {
      reply = next;
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function webClient(sandbox: SlackSandbox, token = sandbox.botToken): WebClient {
  return new WebClient(token, { slackApiUrl: sandbox.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logLevel: LogLevel.ERROR });
}

async function callApi(sandbox: SlackSandbox, method: string, args: SlackObject, token = sandbox.botToken) {
  const response = await fetch(`${sandbox.apiUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
    body: JSON.stringify(args),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as SlackObject };
}

/** Matches a WebClient platform error by its Slack error code. */
const slackError = (code: string) => (error: { data?: { ok?: boolean; error?: string } }) => {
  assert.deepEqual([error.data?.ok, error.data?.error], [false, code]);
  return true;
};

const section = (text: string, blockId?: string) => ({ type: 'section', ...(blockId ? { block_id: blockId } : {}), text: { type: 'mrkdwn', text } });

describe('Slack sandbox', () => {
  let sandbox: SlackSandbox;
  let slack: WebClient;

  before(async () => {
    sandbox = await startSlackSandbox({ users: [ALICE, BOB] });
    slack = webClient(sandbox);
  });
  beforeEach(() => sandbox.reset());
  after(() => sandbox.close());

  test('the real WebClient posts to a user id, which lands in their DM channel, and updates keep history', async () => {
    const auth = await slack.auth.test();
    assert.equal(auth.user_id, 'U0ACCESSBOT');
    assert.equal(auth.team_id, 'T0SANDBOX');

    const posted = await slack.chat.postMessage({ channel: ALICE.id, text: 'Request #1 needs you', blocks: [section('*Approve?*', 'summary')] });
    const dm = sandbox.dmChannelOf(ALICE.id);
    assert.equal(posted.channel, dm);
    assert.match(posted.ts ?? '', /^\d{10}\.\d{6}$/);
    const opened = await slack.conversations.open({ users: ALICE.id });
    assert.equal(opened.channel?.id, dm, 'conversations.open returns the same DM');

    const second = await slack.chat.postMessage({ channel: dm, text: 'second' });
    assert.ok(Number(second.ts) > Number(posted.ts), 'ts values increase');

    const updated = await slack.chat.update({ channel: dm, ts: posted.ts as string, text: 'Request #1 approved', blocks: [section('Approved by bob')] });
    assert.equal(updated.ts, posted.ts);

    const [message] = sandbox.messagesTo(ALICE.id);
    assert.ok(message);
    assert.equal(message.text, 'Request #1 approved');
    assert.equal(message.blocks[0]?.text.text, 'Approved by bob');
    assert.deepEqual(
      message.history.map((v) => [v.text, v.blocks[0]?.text.text]),
      [['Request #1 needs you', '*Approve?*']],
    );
    assert.equal(sandbox.calls.find((c) => c.method === 'chat.postMessage')?.args.blocks[0].block_id, 'summary', 'form-encoded blocks are JSON-decoded');

    const permalink = await slack.chat.getPermalink({ channel: dm, message_ts: posted.ts as string });
    assert.equal(permalink.permalink, `https://sandbox.slack/archives/${dm}/p${(posted.ts as string).replace('.', '')}`);
    await assert.rejects(slack.chat.update({ channel: dm, ts: '1.000001', text: 'x' }), slackError('message_not_found'));
    await assert.rejects(slack.chat.postMessage({ channel: 'U0NOBODY', text: 'x' }), slackError('channel_not_found'));
    await assert.rejects(slack.chat.postMessage({ channel: ALICE.id } as never), slackError('no_text'));

    const found = await slack.users.lookupByEmail({ email: 'alice@EXAMPLE.com' });
    assert.equal(found.user?.id, ALICE.id);
    assert.equal(found.user?.profile?.email, ALICE.email);
    await assert.rejects(slack.users.info({ user: 'U0NOBODY' }), slackError('user_not_found'));
  });

  test('rejects a 3001-character section with invalid_blocks, as Slack does (still HTTP 200)', async () => {
    const tooLong = await callApi(sandbox, 'chat.postMessage', { channel: ALICE.id, text: 'x', blocks: [section('a'.repeat(3001))] });
    assert.equal(tooLong.status, 200);
    assert.equal(tooLong.body.ok, false);
    assert.equal(tooLong.body.error, 'invalid_blocks');
    assert.deepEqual(tooLong.body.response_metadata.messages, ['[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]']);
    assert.equal(sandbox.messages.length, 0, 'a rejected message is not posted');

    const atLimit = await callApi(sandbox, 'chat.postMessage', { channel: ALICE.id, text: 'x', blocks: [section('a'.repeat(3000))] });
    assert.equal(atLimit.body.ok, true);

    const duplicateActions = await callApi(sandbox, 'chat.postMessage', {
      channel: ALICE.id,
      text: 'x',
      blocks: [{ type: 'actions', elements: ['Approve', 'Deny'].map((label) => ({ type: 'button', action_id: 'decide', text: { type: 'plain_text', text: label } })) }],
    });
    assert.equal(duplicateActions.body.error, 'invalid_blocks');
    assert.equal((await callApi(sandbox, 'chat.postMessage', { channel: ALICE.id, text: 'x'.repeat(40_001) })).body.error, 'msg_too_long');
    assert.equal((await callApi(sandbox, 'chat.postMessage', { channel: ALICE.id, text: 'x' }, 'xoxb-wrong')).body.error, 'invalid_auth');
    assert.equal((await callApi(sandbox, 'chat.nonsense', {})).body.error, 'unknown_method');
  });

  test('views.open refuses unknown, expired and already used trigger ids', async () => {
    let clock = 1_732_530_000_000;
    const timed = await startSlackSandbox({ users: [ALICE], now: () => clock });
    try {
      const client = webClient(timed);
      const view = { type: 'modal' as const, callback_id: 'access_request', title: { type: 'plain_text' as const, text: 'Request access' }, blocks: [section('hi')] };
      await assert.rejects(client.views.open({ trigger_id: '123.456.nope', view }), slackError('invalid_trigger_id'));

      const stale = timed.issueTriggerId(ALICE.id);
      clock += 3001;
      await assert.rejects(client.views.open({ trigger_id: stale, view }), slackError('expired_trigger_id'));

      const fresh = timed.issueTriggerId(ALICE.id);
      clock += 2999;
      const opened = await client.views.open({ trigger_id: fresh, view });
      assert.equal(opened.view?.callback_id, 'access_request');
      assert.equal(timed.views[0]?.userId, ALICE.id, 'the view belongs to the user the trigger was issued for');
      await assert.rejects(client.views.open({ trigger_id: fresh, view }), slackError('exchanged_trigger_id'));

      const longTitle = await callApi(timed, 'views.open', { trigger_id: timed.issueTriggerId(ALICE.id), view: { ...view, title: { type: 'plain_text', text: 'x'.repeat(25) } } });
      assert.equal(longTitle.body.error, 'invalid_arguments');
      assert.match(longTitle.body.response_metadata.messages[0], /\/view\/title\/text/);
    } finally {
      await timed.close();
    }
  });

  test('failNext simulates an outage (500) and a rate limit (429 with Retry-After), then recovers', async () => {
    sandbox.failNext('chat.postMessage', 1, { status: 500 });
    sandbox.failNext('chat.postMessage', 1, { status: 429, retryAfter: 7 });

    const outage = await callApi(sandbox, 'chat.postMessage', { channel: ALICE.id, text: 'x' });
    assert.equal(outage.status, 500);
    assert.equal(outage.body.ok, false);

    await assert.rejects(slack.chat.postMessage({ channel: ALICE.id, text: 'x' }), { code: 'slack_webapi_rate_limited_error', retryAfter: 7 });
    assert.deepEqual(
      sandbox.calls.map((c) => [c.method, c.status, c.ok]),
      [
        ['chat.postMessage', 500, false],
        ['chat.postMessage', 429, false],
      ],
    );
    assert.equal(sandbox.messages.length, 0, 'failed calls take no effect');

    sandbox.failNext('users.info', 1, { status: 429 });
    const limited = await callApi(sandbox, 'users.info', { user: ALICE.id });
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal(limited.body.error, 'ratelimited');

    sandbox.failNext('chat.update', 1, { error: 'fatal_error' });
    assert.equal((await callApi(sandbox, 'chat.update', {})).status, 200, 'an ok:false failure is still HTTP 200');

    const recovered = await slack.chat.postMessage({ channel: ALICE.id, text: 'x' });
    assert.equal(recovered.ok, true);
  });

  test('waitFor resolves on a later event and times out with a readable message', async () => {
    const waiting = sandbox.waitFor(() => sandbox.messagesTo(BOB.id).find((m) => m.text.includes('task')), { description: 'the task DM to bob' });
    setImmediate(() => void slack.chat.postMessage({ channel: BOB.id, text: 'New task: grant Figma' }));
    const message = await waiting;
    assert.equal(message.channel, sandbox.dmChannelOf(BOB.id));

    const call = await sandbox.waitForCall('chat.postMessage', (c) => c.args.channel === BOB.id);
    assert.equal(call.ok, true);

    const started = Date.now();
    await assert.rejects(sandbox.waitFor(() => sandbox.messagesTo(ALICE.id)[0], { timeoutMs: 200, description: 'a DM to alice' }), (error: Error) => {
      assert.match(error.message, /timed out after 200 ms waiting for a DM to alice/);
      assert.match(error.message, /chat\.postMessage ok channel=U0BOB text="New task: grant Figma"/);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
  });
});

describe('Slack driver', () => {
  let sandbox: SlackSandbox;
  let bot: Awaited<ReturnType<typeof startFakeBot>>;
  let driver: SlackDriver;
  let slack: WebClient;

  before(async () => {
    sandbox = await startSlackSandbox({ users: [ALICE, BOB] });
    bot = await startFakeBot();
    driver = new SlackDriver({ botUrl: bot.url, signingSecret: SIGNING_SECRET, sandbox });
    slack = webClient(sandbox);
  });
  beforeEach(() => {
    sandbox.reset();
    bot.requests.length = 0;
    bot.setReply(() => ({}));
  });
  after(async () => {
    await bot.close();
    await sandbox.close();
  });

  test('signs requests the way Bolt verifies them, and can send a stale timestamp', async () => {
    const response = await driver.slashCommand(ALICE.id, 'figma');
    assert.equal(response.status, 200);
    const [request] = bot.requests;
    assert.ok(request);
    const timestamp = request.headers['x-slack-request-timestamp'] as string;
    const expected = `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${request.rawBody}`).digest('hex')}`;
    assert.equal(request.headers['x-slack-signature'], expected);
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    verifySlackRequest({ signingSecret: SIGNING_SECRET, body: request.rawBody, headers: { 'x-slack-signature': expected, 'x-slack-request-timestamp': Number(timestamp) } });

    const form = new URLSearchParams(request.rawBody);
    assert.equal(form.get('command'), '/access');
    assert.equal(form.get('user_id'), ALICE.id);
    assert.equal(form.get('channel_id'), sandbox.dmChannelOf(ALICE.id));
    assert.equal(form.get('trigger_id'), response.triggerId);
    assert.equal(form.get('response_url'), response.responseUrl);

    const staleTimestamp = Math.floor(Date.now() / 1000) - 6 * 60;
    await driver.postSigned('token=x', { timestamp: staleTimestamp });
    const stale = bot.requests[1];
    assert.equal(stale?.headers['x-slack-request-timestamp'], String(staleTimestamp));
    assert.throws(
      () => verifySlackRequest({ signingSecret: SIGNING_SECRET, body: 'token=x', headers: { 'x-slack-signature': stale?.headers['x-slack-signature'] as string, 'x-slack-request-timestamp': staleTimestamp } }),
      /stale/,
    );
  });

  test('submitView builds Slack state for every element type of a view the bot opened', async () => {
    const option = (value: string, text = value) => ({ text: { type: 'plain_text', text }, value });
    const input = (blockId: string, element: SlackObject, optional = false) => ({ type: 'input', block_id: blockId, optional, label: { type: 'plain_text', text: blockId }, element: { action_id: `${blockId}_action`, ...element } });
    const command = await driver.slashCommand(ALICE.id, '');
    await slack.views.open({
      trigger_id: command.triggerId,
      view: {
        type: 'modal',
        callback_id: 'access_request',
        private_metadata: '{"v":1}',
        title: { type: 'plain_text', text: 'Request access' },
        submit: { type: 'plain_text', text: 'Submit' },
        blocks: [
          input('app', { type: 'static_select', options: [option('figma', 'Figma'), option('github', 'GitHub')] }),
          input('roles', { type: 'multi_static_select', options: [option('viewer'), option('editor')] }),
          input('level', { type: 'radio_buttons', options: [option('read'), option('write')] }),
          input('approvers', { type: 'multi_users_select' }),
          input('manager', { type: 'users_select' }),
          input('reason', { type: 'plain_text_input', multiline: true }),
          input('until', { type: 'datepicker' }),
          input('flags', { type: 'checkboxes', options: [option('urgent'), option('temporary')] }, true),
          input('note', { type: 'plain_text_input' }, true),
          input('start', { type: 'datepicker', initial_date: '2025-01-06' }, true),
        ],
      } as never,
    });
    const view = sandbox.openViewOf(ALICE.id, 'access_request');
    assert.ok(view);

    const submitted = await driver.submitView(ALICE.id, view, {
      app: 'Figma',
      roles: ['editor'],
      level: 'write',
      approvers: [BOB.id],
      manager: BOB.id,
      reason: 'design review',
      until: '2025-02-01',
    });
    assert.equal(submitted.outcome, 'closed');
    assert.equal(view.status, 'closed');

    const payload = bot.requests.at(-1)?.payload;
    assert.ok(payload);
    assert.equal(payload.type, 'view_submission');
    assert.deepEqual(payload.user, { id: ALICE.id, username: 'alice', name: 'alice', team_id: 'T0SANDBOX' });
    assert.equal(payload.view.id, view.id);
    assert.equal(payload.view.callback_id, 'access_request');
    assert.equal(payload.view.private_metadata, '{"v":1}');
    assert.equal(payload.view.hash, view.hash);
    const values = payload.view.state.values;
    assert.deepEqual(values.app, { app_action: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Figma', emoji: true }, value: 'figma' } } });
    assert.deepEqual(values.roles.roles_action, { type: 'multi_static_select', selected_options: [{ text: { type: 'plain_text', text: 'editor', emoji: true }, value: 'editor' }] });
    assert.deepEqual(values.level.level_action.selected_option.value, 'write');
    assert.deepEqual(values.approvers.approvers_action, { type: 'multi_users_select', selected_users: [BOB.id] });
    assert.deepEqual(values.manager.manager_action, { type: 'users_select', selected_user: BOB.id });
    assert.deepEqual(values.reason.reason_action, { type: 'plain_text_input', value: 'design review' });
    assert.deepEqual(values.until.until_action, { type: 'datepicker', selected_date: '2025-02-01' });
    assert.deepEqual(values.flags.flags_action, { type: 'checkboxes', selected_options: [] }, 'untouched checkboxes are empty');
    assert.deepEqual(values.note.note_action, { type: 'plain_text_input', value: null }, 'untouched text input is null');
    assert.deepEqual(values.start.start_action, { type: 'datepicker', selected_date: '2025-01-06' }, 'an initial value is the state');
  });

  test('submitView refuses what the Slack client would refuse and applies response_action acks', async () => {
    const command = await driver.slashCommand(ALICE.id, '');
    await slack.views.open({
      trigger_id: command.triggerId,
      view: {
        type: 'modal',
        callback_id: 'access_request',
        title: { type: 'plain_text', text: 'Request access' },
        submit: { type: 'plain_text', text: 'Submit' },
        blocks: [{ type: 'input', block_id: 'app', label: { type: 'plain_text', text: 'App' }, element: { type: 'static_select', action_id: 'pick', options: [{ text: { type: 'plain_text', text: 'Figma' }, value: 'figma' }] } }],
      },
    });
    const view = sandbox.openViewOf(ALICE.id);
    assert.ok(view);
    await assert.rejects(driver.submitView(ALICE.id, view, {}), /required input "App"/);
    await assert.rejects(driver.submitView(ALICE.id, view, { app: 'notion' }), /does not offer "notion"; options: figma \(Figma\)/);
    await assert.rejects(driver.submitView(ALICE.id, view, { nope: 'x' }), /No input for nope; inputs present: app/);
    assert.equal(bot.requests.length, 1, 'nothing was sent for refused submissions');

    bot.setReply(() => ({ body: { response_action: 'errors', errors: { app: 'Figma is not available' } } }));
    const rejected = await driver.submitView(ALICE.id, view.id, { app: 'figma' });
    assert.equal(rejected.outcome, 'errors');
    assert.equal(view.status, 'open');
    assert.deepEqual(view.errors, { app: 'Figma is not available' });

    bot.setReply(() => ({ body: { response_action: 'update', view: { type: 'modal', title: { type: 'plain_text', text: 'Sent' }, blocks: [section('Your request was sent')] } } }));
    const updated = await driver.submitView(ALICE.id, view, { app: 'figma' });
    assert.equal(updated.outcome, 'updated');
    assert.equal(view.view.blocks[0].text.text, 'Your request was sent');
    assert.equal(view.history.length, 1);
  });

  test('clickButton sends block_actions for the current message, and replace_original via response_url updates it', async () => {
    const posted = await slack.chat.postMessage({
      channel: BOB.id,
      text: 'Alice requests Figma',
      blocks: [
        section('Alice requests *Figma*', 'request'),
        {
          type: 'actions',
          block_id: 'decision',
          elements: [
            { type: 'button', action_id: 'approve', style: 'primary', value: 'req-1', text: { type: 'plain_text', text: 'Approve' } },
            { type: 'button', action_id: 'deny', style: 'danger', value: 'req-1', text: { type: 'plain_text', text: 'Deny' } },
          ],
        },
      ],
    });
    const message = sandbox.messagesTo(BOB.id)[0];
    assert.ok(message);
    await assert.rejects(driver.clickButton(BOB.id, message, 'Escalate'), /buttons present: "Approve", "Deny"/);
    await assert.rejects(driver.clickButton(ALICE.id, message, 'Approve'), /cannot see it/);

    await driver.clickButton(BOB.id, message, /^deny$/i);
    const payload = bot.requests.at(-1)?.payload;
    assert.ok(payload);
    assert.equal(payload.type, 'block_actions');
    assert.deepEqual(payload.container, { type: 'message', message_ts: posted.ts, channel_id: posted.channel, is_ephemeral: false });
    assert.equal(payload.channel.id, posted.channel);
    assert.equal(payload.message.ts, posted.ts);
    assert.equal(payload.message.blocks.length, 2);
    assert.deepEqual(
      { ...payload.actions[0], action_ts: undefined },
      { action_id: 'deny', block_id: 'decision', text: { type: 'plain_text', text: 'Deny', emoji: true }, value: 'req-1', style: 'danger', type: 'button', action_ts: undefined },
    );

    const replaced = await fetch(payload.response_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replace_original: true, text: 'Denied by bob' }) });
    assert.equal(replaced.status, 200);
    assert.equal(message.text, 'Denied by bob');
    assert.equal(message.history[0]?.text, 'Alice requests Figma');
    assert.equal(sandbox.ephemerals.at(-1)?.replaceOriginal, true);
    await assert.rejects(driver.clickButton(BOB.id, message, 'Approve'), /buttons present: none/, 'the replaced message has no buttons left');
  });
});
