/**
 * The Block Kit builders as an approver, a requester or IT sees them: which buttons a state offers, what the
 * progress says, what a click carries, and that the largest requests stay inside Slack's limits (50 blocks a
 * message, 100 a view, 3000 characters a section), checked with the sandbox's copy of Slack's rules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KnownBlock } from '@slack/types';
import { parseAccessConfig } from '../../src/config.js';
import type { Approval, Item, ItemState, RequestDetail } from '../../src/requests/model.js';
import { validateBlocks, validateView } from '../../src/sandboxes/slack/block-kit.js';
import { DENY_MODAL, REQUEST_MODAL, denyReasonModal, parseDenyMetadata, requestModal } from '../../src/slack/blocks/modals.js';
import { approvalEscalation, approvalReminder } from '../../src/slack/blocks/reminders.js';
import { approvalCard, decisionValue, failureAlert, parseDecisionValue, progressLine, requesterStatus } from '../../src/slack/blocks/request.js';
import { baseConfig } from '../support/harness.js';

const config = parseAccessConfig(baseConfig());
const EVIL = '<!channel> & <@U0ADMIN>';

type ItemSpec = Partial<Item> & { n?: number };

/** A request of `items` (one per person unless given), with its approvals. */
function request(over: { kind?: 'onboard' | 'offboard'; appId?: string; items?: ItemSpec[]; approvals?: Partial<Approval>[]; justification?: string } = {}): RequestDetail {
  const appId = over.appId ?? 'axure';
  const req = {
    id: 'AR-BLOCKS1', kind: over.kind ?? ('onboard' as const), requesterId: 'U0ALICE', justification: over.justification ?? 'For the launch',
    effectiveDate: '2026-03-02', options: {}, createdAt: 0, updatedAt: 0,
  };
  const items = (over.items ?? [{}]).map((item, i): Item => ({
    id: i + 1, requestId: req.id, appId, state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: 0,
    subject: { slackId: null, email: `person${i}@example.com`, firstName: `Person${i}`, lastName: 'Example' },
    ...item,
  }));
  const approvals = (over.approvals ?? [{}]).map((approval, i): Approval => ({
    id: i + 1, requestId: req.id, appId, stepIndex: 0, approvers: ['U0OWNER3'], fallbackToIt: false, state: 'pending', decidedBy: null, decidedAt: null,
    reason: null, openedAt: 0, ...approval,
  }));
  return { request: req, items, approvals };
}

const many = (count: number, state: ItemState, detail: string | null = null): ItemSpec[] => Array.from({ length: count }, () => ({ state, detail }));

function buttons(blocks: KnownBlock[]): { text: string; actionId: string; value?: string }[] {
  return blocks.flatMap((block) =>
    block.type === 'actions' ? block.elements.flatMap((e) => (e.type === 'button' ? [{ text: e.text.text, actionId: e.action_id ?? '', value: e.value }] : [])) : [],
  );
}

const textOf = (blocks: unknown) => JSON.stringify(blocks);

describe('approval card', () => {
  test("the approver's own copy offers Approve and Deny carrying exactly the steps it was rendered for", () => {
    const detail = request({ approvals: [{ id: 41 }, { id: 42, stepIndex: 1 }] });
    const card = approvalCard(config, detail, { personal: [detail.approvals[0]!] });
    assert.deepEqual(validateBlocks(card.blocks, 'message'), []);
    const offered = buttons(card.blocks);
    assert.deepEqual(offered.map((b) => b.text), ['Approve', 'Deny']);
    assert.ok(offered.every((b) => b.actionId.endsWith(':AR-BLOCKS1')), 'action ids name the request, so Home can hold several cards');
    assert.deepEqual(offered.map((b) => parseDecisionValue(b.value)), [{ requestId: 'AR-BLOCKS1', approvalIds: [41] }, { requestId: 'AR-BLOCKS1', approvalIds: [41] }]);
    assert.match(textOf(card.blocks), /decides: Axure RP step 1/);
  });

  test('a copy that decides nothing (the state after a decision) has no buttons; a delegating approver is told who decides', () => {
    const decided = request({ approvals: [{ state: 'approved', decidedBy: 'U0OWNER3', decidedAt: 1_700_000_000_000 }] });
    for (const card of [approvalCard(config, decided), approvalCard(config, decided, { personal: [] })]) {
      assert.deepEqual(buttons(card.blocks), []);
      assert.match(textOf(card.blocks), /approved by <@U0OWNER3>/);
    }
    const delegated = approvalCard(config, request(), { personal: [], delegatedTo: 'U0DEPUTY' });
    assert.deepEqual(buttons(delegated.blocks), []);
    assert.match(textOf(delegated.blocks), /You handed your approvals to <@U0DEPUTY>/);
  });

  test("a delegate's buttons say for whom, and stay within Slack's 75 characters however long the name", () => {
    const detail = request();
    const card = approvalCard(config, detail, { personal: detail.approvals, forWhom: { id: 'U0MONA', name: 'm'.repeat(200) } });
    assert.deepEqual(validateBlocks(card.blocks, 'message'), []);
    assert.ok(buttons(card.blocks).every((b) => b.text.startsWith(`${b.text.split(' ')[0]} (for @mmm`) && b.text.length <= 75));
  });

  test('500 people, a 3000-character reason and an irreversible delete fit in 50 valid blocks, naming how many are not listed', () => {
    const cfg = parseAccessConfig(baseConfig());
    const autodesk = cfg.apps.find((app) => app.id === 'autodesk')!;
    assert.equal(autodesk.connector, 'autodesk');
    if (autodesk.connector === 'autodesk') autodesk.offboardAction = 'delete';
    const detail = request({ kind: 'offboard', appId: 'autodesk', items: many(500, 'awaiting_approval'), justification: `${EVIL} `.repeat(130).slice(0, 3000) });
    const card = approvalCard(cfg, detail, { personal: detail.approvals });
    assert.deepEqual(validateBlocks(card.blocks, 'message'), []);
    assert.ok(card.blocks.length <= 50);
    const shown = textOf(card.blocks);
    assert.match(shown, /\*Who\* \(500\)/);
    assert.match(shown, /…and 460 more/);
    assert.ok(shown.includes('person39@example.com') && !shown.includes('person40@example.com'), 'forty people listed, the rest counted');
    assert.match(shown, /hard, irreversible delete/);
    assert.ok(!shown.includes('<!channel>') && shown.includes('&lt;!channel&gt;'), 'the reason is shown as text');
    assert.deepEqual(buttons(card.blocks).map((b) => b.text), ['Approve', 'Deny'], 'the buttons survive the size');
  });
  test('until its plugin has read the accounts, the card says it reads them from the app by name; an app whose plugin does not preview says nothing', () => {
    const raw = baseConfig();
    raw.apps[0].name = 'Fusion Team';
    const renamed = parseAccessConfig(raw);
    const reading = approvalCard(renamed, request({ appId: 'autodesk', items: [{}, {}] }), { personal: [] });
    assert.match(textOf(reading.blocks), /Reading 2 accounts from Fusion Team… Approving does not wait for it/);
    const manual = approvalCard(renamed, request({ appId: 'axure', items: [{}, {}] }), { personal: [] });
    assert.doesNotMatch(textOf(manual.blocks), /Reading/, 'a manual app reads no accounts');
  });

  test("the plugin's lines name the role, teams and what cannot be undone in bold, with names from the config shown as typed", () => {
    const raw = baseConfig();
    raw.apps[0].name = 'Fusion <!channel>';
    raw.apps[0].teams = [{ id: 'team-789', name: '*Design* & <@U0ADMIN>', role: 'member' }];
    const cfg = parseAccessConfig(raw);
    const onboard = request({ appId: 'autodesk' });
    onboard.request.options = { role: 'admin', teams: ['team-789'] };
    const sectionTexts = (blocks: KnownBlock[]) => blocks.flatMap((block) => (block.type === 'section' && block.text ? [block.text.text] : []));
    const card = approvalCard(cfg, onboard, { personal: [] });
    assert.deepEqual(validateBlocks(card.blocks, 'message'), []);
    assert.ok(sectionTexts(card.blocks).includes('*Fusion &lt;!channel&gt; role:* admin   *Teams:* *Design* &amp; &lt;@U0ADMIN&gt;'), textOf(card.blocks));
    const offboard = approvalCard(cfg, request({ kind: 'offboard', appId: 'autodesk' }), { personal: [] });
    assert.ok(
      sectionTexts(offboard.blocks).includes(':warning: *Fusion &lt;!channel&gt; deactivation cannot be undone through the API* (reactivation needs an Autodesk support case).'),
      textOf(offboard.blocks),
    );
  });
});

describe("requester's status", () => {
  test('offers Cancel exactly when the request service says cancelling would still stop something', () => {
    // Which items cancelling stops is cancelWouldStop's (test/unit/model.test.ts, test/e2e/by-hand.test.ts).
    const waiting = requesterStatus(config, request(), 0, true);
    assert.deepEqual(buttons(waiting.blocks).map((b) => b.text), ['Cancel request']);
    assert.equal(buttons(waiting.blocks)[0]!.value, 'AR-BLOCKS1');
    const underway = requesterStatus(config, request({ appId: 'autodesk', items: [{ state: 'in_progress' }] }), 0, false);
    assert.deepEqual(buttons(underway.blocks), []);
  });

  test('shows live progress once work started, per app, in the verbs of the app', () => {
    const bulk = request({ kind: 'offboard', appId: 'autodesk', items: [...many(120, 'completed'), ...many(2, 'failed'), ...many(178, 'in_progress')], approvals: [{ state: 'approved', decidedBy: 'U0OWNER3', decidedAt: 1 }] });
    assert.equal(progressLine(config, bulk, 'autodesk'), 'Autodesk: 120/300 deactivated, 2 failed');
    const status = requesterStatus(config, bulk, 0, false);
    assert.deepEqual(validateBlocks(status.blocks, 'message'), []);
    assert.ok(status.blocks.length <= 50, `${status.blocks.length} blocks`);
    assert.match(textOf(status.blocks), /\*Progress\*\\nAutodesk: 120\/300 deactivated, 2 failed/);
    assert.equal(progressLine(config, request({ items: [{ state: 'completed' }, { state: 'cancelled' }] }), 'axure'), 'Axure RP: 1/2 onboarded, 1 cancelled');
    assert.ok(!textOf(requesterStatus(config, request(), 0, true).blocks).includes('*Progress*'), 'no progress while it waits for approval');
  });
});

describe('IT failure alert', () => {
  test('Retry and Do it by hand act on that app of that request; with none failed it says so, who chose what, and offers nothing', () => {
    const failed = request({ appId: 'autodesk', items: [...many(2, 'failed', 'autodesk: invite: 400'), { state: 'completed' }] });
    const alert = failureAlert(config, failed, 'autodesk');
    assert.deepEqual(validateBlocks(alert.blocks, 'message'), []);
    assert.deepEqual(buttons(alert.blocks).map((b) => [b.text, b.value]), [['Retry 2 failed', 'AR-BLOCKS1|autodesk'], ['Do it by hand', 'AR-BLOCKS1|autodesk']]);
    const mended = failureAlert(config, request({ appId: 'autodesk', items: [{ state: 'completed' }] }), 'autodesk');
    assert.deepEqual(buttons(mended.blocks), []);
    assert.match(textOf(mended.blocks), /No item is failed any more/);
    const byHand = failureAlert(config, request({ appId: 'autodesk', items: [{ state: 'in_progress' }] }), 'autodesk', { choice: 'by_hand', by: 'U0ADMIN', at: 0 });
    assert.deepEqual(buttons(byHand.blocks), []);
    assert.match(textOf(byHand.blocks), /No item is failed any more: <@U0ADMIN> chose \*Do it by hand\*/);
  });
});

describe('decision values', () => {
  test('a button value round-trips its request and approvals; a card from before ids were carried decides by request only', () => {
    const value = decisionValue('AR-7K3Q9X', request({ approvals: [{ id: 12 }, { id: 13 }] }).approvals);
    assert.equal(value, 'AR-7K3Q9X|12,13');
    assert.deepEqual(parseDecisionValue(value), { requestId: 'AR-7K3Q9X', approvalIds: [12, 13] });
    assert.deepEqual(parseDecisionValue('AR-7K3Q9X'), { requestId: 'AR-7K3Q9X', approvalIds: null });
    assert.deepEqual(parseDecisionValue('AR-7K3Q9X|12,x,'), { requestId: 'AR-7K3Q9X', approvalIds: [12] }, 'junk ids are dropped, not turned into NaN');
  });
});

describe('modals', () => {
  test('the request modal is a valid view with the SPEC block ids, the Autodesk fields and today as the date', () => {
    const view = requestModal(config, '2026-03-02', 'offboard');
    assert.deepEqual(validateView(view, 'modal'), []);
    assert.equal(view.callback_id, REQUEST_MODAL);
    const ids = view.blocks.map((block) => block.block_id);
    assert.deepEqual(ids, ['kind', 'subjects', 'subject_emails', 'new_hire_email', 'new_hire_first_name', 'new_hire_last_name', 'apps', 'autodesk_role', 'autodesk_teams', 'effective_date', 'end_date', 'justification']);
    const shown = textOf(view.blocks);
    assert.match(shown, /"initial_option":\{"text":\{"type":"plain_text","text":"Offboard \(remove access\)"\},"value":"offboard"\}/);
    assert.match(shown, /"initial_date":"2026-03-02"/);
    const withoutAutodesk = parseAccessConfig({ ...baseConfig(), apps: baseConfig().apps.filter((app: { id: string }) => app.id !== 'autodesk') });
    assert.ok(!requestModal(withoutAutodesk, '2026-03-02').blocks.some((block) => block.block_id?.startsWith('autodesk')), 'no Autodesk fields without an Autodesk app');
  });

  test('the deny modal denies exactly the steps of its button, names them as text, and refuses metadata it did not write', () => {
    const view = denyReasonModal('AR-BLOCKS1', [41, 42], [`Axure RP step 1 (${EVIL})`]);
    assert.deepEqual(validateView(view, 'modal'), []);
    assert.equal(view.callback_id, DENY_MODAL);
    assert.deepEqual(parseDenyMetadata(view.private_metadata!), { requestId: 'AR-BLOCKS1', approvalIds: [41, 42] });
    assert.ok(!textOf(view.blocks).includes('<!channel>'));
    for (const forged of ['', 'AR-BLOCKS1', '{"requestId":"AR-1","approvalIds":["1"]}', '{"approvalIds":[1]}']) assert.equal(parseDenyMetadata(forged), undefined, forged);
  });
});

describe('approval reminders', () => {
  test('a reminder points at the card above, or at Home when there is none; the escalation names whom it waits on', () => {
    const detail = request();
    const approval = detail.approvals[0]!;
    const facts = { recipients: ['U0OWNER3'], count: 2, now: 4 * 3_600_000 };
    const reminder = approvalReminder(config, detail, approval, facts);
    assert.deepEqual(validateBlocks(reminder.blocks, 'message'), []);
    assert.match(reminder.text, /Reminder 2: onboarding request AR-BLOCKS1 from <@U0ALICE> has waited about 4 hours for your decision on Axure RP step 1/);
    assert.match(textOf(reminder.blocks), /on the card above this thread/);
    assert.match(textOf(approvalReminder(config, detail, approval, { ...facts, underCard: false }).blocks), /accessbot Home tab/);
    const itStep = approvalReminder(config, detail, { ...approval, fallbackToIt: true }, { ...facts, recipients: ['U0ADMIN', 'U0IT1'] });
    assert.match(itStep.text, /<@U0ADMIN> or <@U0IT1>: an IT admin's decision/);
    const escalation = approvalEscalation(config, detail, approval, facts);
    assert.deepEqual(validateBlocks(escalation.blocks, 'message'), []);
    assert.match(escalation.text, /waiting on <@U0OWNER3> since .*; 2 reminders went unanswered/);
  });
});
