/**
 * The one escaping helper and the Block Kit builders: what people typed and what an API answered is shown as
 * text, whole, in blocks Slack accepts (checked with the sandbox's copy of Slack's limits).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAccessConfig } from '../../src/config.js';
import { stepsFor } from '../../src/slack/tasks/card.js';
import type { Approval, Item, RequestDetail, Subject } from '../../src/requests/model.js';
import { subjectLabel, wordsMrkdwn } from '../../src/slack/words.js';
import { validateBlocks } from '../../src/sandboxes/slack/server.js';
import { approvalCard, failureAlert, requesterStatus } from '../../src/slack/blocks/request.js';
import { refusalText } from '../../src/slack/replies.js';
import { escalationMessage, reminderMessage, taskMessage, type TaskCard } from '../../src/slack/tasks/blocks.js';
import { escapeMrkdwn, link, mention, mrkdwn, splitMrkdwn } from '../../src/util/mrkdwn.js';
import { baseConfig } from '../support/harness.js';

const EVIL = '<!channel> <@U0ADMIN> <https://evil.example|looks-safe> & <!here>';
const EVIL_SHOWN = '&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|looks-safe&gt; &amp; &lt;!here&gt;';
const LIVE = ['<!channel>', '<!here>', '<@U0ADMIN>', '<https://evil'];

const config = parseAccessConfig(baseConfig());

function assertNoLiveMarkup(what: unknown): void {
  const text = typeof what === 'string' ? what : JSON.stringify(what);
  for (const live of LIVE) assert.ok(!text.includes(live), `live ${live} in ${text.slice(0, 500)}`);
}

const newHire: Subject = { slackId: null, email: 'nina&co@example.com', firstName: `Nina ${EVIL}`, lastName: 'New' };

function detail(over: { justification?: string; items?: Partial<Item>[]; approvals?: Partial<Approval>[] } = {}): RequestDetail {
  const request = {
    id: 'AR-TEST23', kind: 'onboard' as const, requesterId: 'U0ALICE', justification: over.justification ?? `Because ${EVIL}`, effectiveDate: '2026-03-02',
    options: {}, createdAt: 0, updatedAt: 0,
  };
  const items = (over.items ?? [{}]).map((item, i): Item => ({
    id: i + 1, requestId: request.id, appId: 'axure', subject: newHire, state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: 0, ...item,
  }));
  const approvals = (over.approvals ?? [{}]).map((approval, i): Approval => ({
    id: i + 1, requestId: request.id, appId: 'axure', stepIndex: 0, approvers: ['U0OWNER3'], fallbackToIt: false, state: 'pending', decidedBy: null, decidedAt: null,
    reason: null, openedAt: 0, ...approval,
  }));
  return { request, items, approvals };
}

describe('escapeMrkdwn and the mrkdwn helpers', () => {
  test('escapes exactly &, < and >, so pings, mentions and disguised links become text', () => {
    assert.equal(escapeMrkdwn(EVIL), EVIL_SHOWN);
    assert.equal(escapeMrkdwn('*bold* _it_ ~s~ `code`'), '*bold* _it_ ~s~ `code`');
    assert.equal(escapeMrkdwn('&lt;'), '&amp;lt;', 'an already-escaped look-alike stays as typed');
  });

  test('the mrkdwn template keeps our markup and takes only safe values', () => {
    assert.equal(mrkdwn`*${escapeMrkdwn(EVIL)}* by ${mention('U0BOB')} (${3})`, `*${EVIL_SHOWN}* by <@U0BOB> (3)`);
  });

  test('a mention is built only from a Slack id; anything else is shown as text', () => {
    assert.equal(mention('U0BOB'), '<@U0BOB>');
    assert.equal(mention('W123ABC'), '<@W123ABC>');
    assert.equal(mention('S0ITTEAM'), '<!subteam^S0ITTEAM>');
    assert.equal(mention('U0BOB> <!channel'), 'U0BOB&gt; &lt;!channel');
    assert.equal(mention('alice'), 'alice');
  });

  test('a link is made only of a plain http(s) URL; anything else shows its label alone', () => {
    assert.equal(link('https://x.slack.com/archives/D1/p2?a=1&b=2', mrkdwn`Open`), '<https://x.slack.com/archives/D1/p2?a=1&amp;b=2|Open>');
    assert.equal(link('https://evil.example|looks-safe', mrkdwn`Open`), 'Open');
    assert.equal(link('javascript:alert(1)', mrkdwn`Open`), 'Open');
  });

  test('splitting keeps every character and never cuts an entity, our markup or a surrogate pair', () => {
    const text = escapeMrkdwn(`${'x'.repeat(2997)}<&>😀${'y'.repeat(10)}`);
    const withMention = mrkdwn`${escapeMrkdwn('z'.repeat(2995))}${mention('U0BOB')}${escapeMrkdwn('tail')}`;
    for (const input of [text, withMention]) {
      const pieces = splitMrkdwn(input, 3000);
      assert.ok(pieces.length > 1);
      assert.equal(pieces.join(''), input);
      for (const piece of pieces) {
        assert.ok(piece.length <= 3000);
        assert.ok(!/&[a-z]*$/.test(piece), `an entity cut at the end of ${piece.slice(-8)}`);
        assert.ok(!/<[^>]*$/.test(piece), 'markup cut');
        assert.ok(!/[\ud800-\udbff]$/.test(piece), 'a surrogate pair cut');
      }
    }
  });
});

describe('request builders', () => {
  test('an approval card shows the justification, a new hire name and e-mail escaped, in valid blocks', () => {
    const card = approvalCard(config, detail(), { personal: detail().approvals });
    assert.deepEqual(validateBlocks(card.blocks, 'message'), []);
    const body = JSON.stringify(card.blocks);
    assert.ok(body.includes(`Because ${EVIL_SHOWN}`));
    assert.ok(body.includes(`Nina ${EVIL_SHOWN} New (nina&amp;co@example.com)`));
    assertNoLiveMarkup(card);
    assert.match(card.text, /needs a decision/);
  });

  test('a 3000-character justification with escapes is split over sections, each quoted, none cut', () => {
    const justification = `${'<>&'.repeat(600)}\n${'word '.repeat(240)}`.trim();
    const card = approvalCard(config, detail({ justification }), { personal: detail().approvals });
    assert.deepEqual(validateBlocks(card.blocks, 'message'), []);
    const sections = card.blocks.flatMap((block) => (block.type === 'section' && block.text ? [block.text.text] : []));
    const first = sections.findIndex((text) => text.startsWith('*Why*'));
    const why = sections.slice(first).filter((text, i) => i === 0 || text.startsWith('>'));
    assert.ok(why.length >= 2);
    assert.ok(why.slice(1).every((text) => text.startsWith('>')), 'every piece stays quoted');
    const shown = why.join('').replace('*Why*\n', '').replace(/(^|\n)?>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    assert.equal(shown.replace(/\s/g, ''), justification.replace(/\s/g, ''));
  });

  test('a deny reason and an item detail from an API are shown escaped; our own mentions stay live', () => {
    const denied = detail({
      items: [{ state: 'denied', detail: `denied: ${EVIL}` }, { id: 2, state: 'failed', detail: `autodesk: invite: 400 ${EVIL}` }],
      approvals: [{ state: 'denied', decidedBy: 'U0OWNER3', decidedAt: 1_700_000_000_000, reason: EVIL }],
    });
    const status = requesterStatus(config, denied, 0, false);
    const alert = failureAlert(config, denied, 'axure');
    for (const rendered of [status, alert, approvalCard(config, denied)]) {
      assert.deepEqual(validateBlocks(rendered.blocks, 'message'), []);
      assertNoLiveMarkup(rendered);
    }
    assert.ok(JSON.stringify(status.blocks).includes(`denied by <@U0OWNER3>`));
    assert.ok(JSON.stringify(status.blocks).includes(`— \\"${EVIL_SHOWN}\\"`));
    assert.ok(JSON.stringify(alert.blocks).includes(`autodesk: invite: 400 ${EVIL_SHOWN}`));
  });

  test('an item detail reads in Slack as it was written: text escaped, people mentioned, a pre-words row as stored', () => {
    assert.equal(wordsMrkdwn(['cancelled by ', { person: 'U0ALICE' }]), 'cancelled by <@U0ALICE>');
    assert.equal(wordsMrkdwn([{ person: 'U0IT1' }, ` could not do it: ${EVIL}`]), `<@U0IT1> could not do it: ${EVIL_SHOWN}`);
    assert.equal(wordsMrkdwn(`stopped before any change: ${EVIL}`), `stopped before any change: ${EVIL_SHOWN}`);
    // A person word holding anything but a Slack id (a forged row) is text, never markup.
    assert.equal(wordsMrkdwn([{ person: '<!channel>' }]), '&lt;!channel&gt;');
    assert.equal(wordsMrkdwn([{ mrkdwn: 'task assigned to <@U0IT1>' }]), 'task assigned to <@U0IT1>');
    const card = requesterStatus(config, detail({ items: [{ state: 'in_progress', detail: ['task assigned to ', { person: 'U0IT1' }, ` (${EVIL})`] }] }), 0, false);
    assert.ok(JSON.stringify(card.blocks).includes(`task assigned to <@U0IT1> (${EVIL_SHOWN})`));
    assertNoLiveMarkup(JSON.stringify(card.blocks).replace('<@U0IT1>', ''));
  });

  test('a subject is a mention only by a Slack id; a refusal names approvers as mentions', () => {
    assert.equal(subjectLabel({ slackId: 'U0BOB', email: 'b@example.com', firstName: null, lastName: null }), '<@U0BOB>');
    assert.equal(subjectLabel(newHire), `Nina ${EVIL_SHOWN} New (nina&amp;co@example.com)`);
    assert.equal(refusalText({ reason: 'not_an_approver', approvers: ['U0OWNER1', 'U0OWNER2'] }), 'Only <@U0OWNER1> or <@U0OWNER2> can decide the current step of this request. Nothing was changed.');
  });
});

describe('task builders', () => {
  const card = (over: Partial<TaskCard> = {}): TaskCard => ({
    taskId: 7, requestId: 'AR-TEST23', appName: 'Axure RP', kind: 'onboard', subject: subjectLabel(newHire), email: newHire.email, role: 'Member',
    requesterId: 'U0ALICE', approvedBy: ['U0OWNER3'], dueDate: '2026-03-02', justification: `Because ${EVIL}`,
    steps: stepsFor({ id: 'axure', name: 'Axure RP' }, 'onboard', { app: 'Axure RP', email: newHire.email, name: `Nina ${EVIL}`, role: 'Member' }),
    assignee: 'U0IT1', state: 'open', createdAtText: '2 Mar 2026, 10:00 UTC', ageText: '3h', ...over,
  });

  test('the task DM shows the justification, the name in its steps and a note escaped; the operator\'s bold stays', () => {
    for (const task of [card(), card({ state: 'done', closedBy: 'U0IT1', closedAtText: 'now', note: EVIL }), card({ state: 'cant_do', closedBy: 'U0IT1', closedAtText: 'now', note: EVIL })]) {
      const message = taskMessage(task);
      assert.deepEqual(validateBlocks(message.blocks, 'message'), []);
      assertNoLiveMarkup(message);
      const body = JSON.stringify(message.blocks);
      assert.ok(body.includes(`Because ${EVIL_SHOWN}`));
      assert.ok(body.includes(`*Add members* and enter nina&amp;co@example.com`));
    }
    assert.ok(JSON.stringify(taskMessage(card({ state: 'done', closedBy: 'U0IT1', closedAtText: 'now', note: EVIL })).blocks).includes(`Done by <@U0IT1> on now: “${EVIL_SHOWN}”`));
  });

  test('a long can\'t-do reason is shown whole on the closed task', () => {
    const message = taskMessage(card({ state: 'cant_do', closedBy: 'U0IT1', closedAtText: 'now', note: '<'.repeat(1000) }));
    assert.deepEqual(validateBlocks(message.blocks, 'message'), []);
    const status = message.blocks.filter((block) => block.block_id?.startsWith('task_status')).map((block) => JSON.stringify(block)).join('');
    assert.equal((status.match(/&lt;/g) ?? []).length, 1000);
  });

  test('a long justification reaches the assignee whole, split over sections', () => {
    const justification = '<&>'.repeat(1000);
    const message = taskMessage(card({ justification }));
    assert.deepEqual(validateBlocks(message.blocks, 'message'), []);
    const pieces = message.blocks.filter((block) => block.block_id?.startsWith('task_why')).map((block) => (block as { text: { text: string } }).text.text);
    assert.ok(pieces.length > 1 && pieces.every((piece) => piece.length <= 3000));
    // Each piece after the first starts a new quote.
    const shown = pieces.map((piece, i) => (i === 0 ? piece : piece.replace(/^>/, ''))).join('');
    assert.equal((shown.match(/&lt;&amp;&gt;/g) ?? []).length, 1000);
  });

  test('a reminder links only a plain Slack permalink; an escalation keeps the subject as text', () => {
    assert.ok(reminderMessage(card(), 'https://sandbox.slack.com/archives/D1/p1').text.includes('<https://sandbox.slack.com/archives/D1/p1|Open the task>'));
    assert.ok(!reminderMessage(card(), 'https://evil.example|x> <!channel').text.includes('<https://evil'));
    const escalation = escalationMessage({ taskId: 7, title: mrkdwn`Onboard ${subjectLabel(newHire)} to Axure RP`, assignee: 'U0IT1', ageText: '1d', reminders: 3, state: 'open' });
    assert.deepEqual(validateBlocks(escalation.blocks, 'message'), []);
    assertNoLiveMarkup(escalation);
  });
});
