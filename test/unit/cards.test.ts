/**
 * `npm run demo -- --cards`: each link carries exactly the blocks the bot sent (decoded back, equal to them, odd
 * characters included), stays within the length limit or says it is too long instead of printing a cut link,
 * and picks each kind of message from the calls the Slack sandbox recorded, whatever its blocks look like.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLOCK_KIT_BUILDER, MAX_URL_LENGTH, builderUrl, cardLink, cardsFromCalls, formatCardLinks, payloadOfUrl } from '../../src/demo/cards.js';
import { LEAVER_JUSTIFICATION } from '../../src/requests/leavers.js';
import type { RecordedCall } from '../../src/sandboxes/slack/server.js';

const awkward = [
  { type: 'section', text: { type: 'mrkdwn', text: '&lt;!channel&gt; 50% off #1 (a) ) ✅ "quoted" ?a=b&c=d <@U0ALICE> \\ / + ~' } },
  { type: 'actions', elements: [{ type: 'button', action_id: 'approval_approve:AR-1', text: { type: 'plain_text', text: 'Approve' }, value: 'AR-1|1,2' }] },
];

test('a link decodes to exactly the blocks it was made from', () => {
  const url = builderUrl({ blocks: awkward });
  assert.ok(url.startsWith(BLOCK_KIT_BUILDER));
  assert.doesNotMatch(url.slice(BLOCK_KIT_BUILDER.length), /[#\s"<>()]/, 'nothing in the hash that a browser, chat client or Markdown link would cut or reinterpret');
  assert.deepEqual(payloadOfUrl(url), { blocks: awkward });
  assert.deepEqual(payloadOfUrl(builderUrl({ type: 'home', blocks: awkward })), { type: 'home', blocks: awkward });
});

test('a card too long for one link says so, with its length, and prints no link', () => {
  const long = { blocks: Array.from({ length: 40 }, (_, i) => ({ type: 'section', text: { type: 'mrkdwn', text: `line ${i} ${'x'.repeat(200)}` } })) };
  const link = cardLink('approval card', long);
  assert.ok('tooLong' in link && link.tooLong > MAX_URL_LENGTH);
  const shortLink = cardLink('a task', { blocks: awkward });
  assert.ok('url' in shortLink && shortLink.url.length <= MAX_URL_LENGTH);
  const printed = formatCardLinks([link, shortLink]);
  assert.match(printed, /approval card: too long for one link \(\d+ characters, over 8000\)/);
  assert.equal(printed.match(/https:\/\//g)?.length, 1, 'only the card that fits has a link');
  // Right at the limit still fits; one character over does not.
  const exact = builderUrl({ blocks: awkward }).length;
  assert.ok('url' in cardLink('x', { blocks: awkward }, exact));
  assert.ok('tooLong' in cardLink('x', { blocks: awkward }, exact - 1));
});

const call = (method: string, args: Record<string, unknown>, ok = true): RecordedCall => ({ method, args, at: 0, ok, status: 200, response: {} });

test('each kind is taken from the recorded calls: its last version, Home from views.publish, failed calls ignored', () => {
  const first = [{ type: 'section', text: { type: 'mrkdwn', text: 'v1' } }, ...awkward];
  const second = [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'v2, a block shape never seen before' }] }, ...awkward];
  const calls = [
    call('chat.postMessage', { channel: 'D1', text: 'Onboarding request AR-1 from <@U0ALICE> needs a decision', blocks: first }),
    call('chat.update', { channel: 'D1', ts: '1', text: 'Onboarding request AR-1 from <@U0ALICE> needs a decision', blocks: second }),
    call('chat.update', { channel: 'D1', ts: '1', text: 'Onboarding request AR-1 from <@U0ALICE> needs a decision', blocks: [{ type: 'divider' }] }, false),
    call('chat.postMessage', { channel: 'D2', text: 'Your offboarding request AR-2', blocks: [{ type: 'divider' }] }),
    call('chat.postMessage', { channel: 'D3', text: 'Access report for Carol (carol@example.com): nothing open', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Access report' } }] }),
    call('views.publish', { user_id: 'U0ALICE', view: { type: 'home', blocks: awkward } }),
    call('chat.postMessage', { channel: 'D4', text: 'a plain DM' }),
  ];
  const cards = cardsFromCalls(calls);
  assert.deepEqual(cards.map((card) => card.kind), ['approval card', "the requester's status", 'the per-person report', 'Home']);
  assert.deepEqual(cards[0]!.payload, { blocks: second }, 'the last successful version of the card');
  assert.deepEqual(cards[3]!.payload, { type: 'home', blocks: awkward });
});

test("a leaver's approval card and a by-hand task are kinds of their own, not taken for any approval card or task", () => {
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const approve = { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Approve' } }] };
  const markDone = { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Mark done' } }] };
  const ordinaryCard = [section('*Why*\n>Contract ended'), approve];
  const leaverCard = [section(`*Why*\n>${LEAVER_JUSTIFICATION}`), approve];
  const ordinaryTask = [section('*Steps*\n1. Remove the seat'), markDone];
  const byHandTask = [section('*Tried:* the Autodesk connector could not finish it: deactivated'), markDone];
  // Each special one is sent last, so a general kind that took it in would show it instead of its own.
  const cards = cardsFromCalls([
    call('chat.postMessage', { channel: 'D1', text: 'Offboarding request AR-1 from <@U0ALICE> needs a decision', blocks: ordinaryCard }),
    call('chat.postMessage', { channel: 'D1', text: 'Offboarding request AR-2 from <@U0ADMIN> needs a decision', blocks: leaverCard }),
    call('chat.postMessage', { channel: 'D2', text: 'Task #1: Offboard <@U0BOB> from Axure RP', blocks: ordinaryTask }),
    call('chat.postMessage', { channel: 'D2', text: 'Task #2: Onboard <@U0DAVE> to Autodesk', blocks: byHandTask }),
  ]);
  assert.deepEqual(cards.map((card) => [card.kind, card.payload]), [
    ['approval card', { blocks: ordinaryCard }],
    ["a leaver's approval card", { blocks: leaverCard }],
    ['a task', { blocks: ordinaryTask }],
    ['a by-hand task', { blocks: byHandTask }],
  ]);
});
