/**
 * Who may decide an approval step (SPEC "Who may decide"), as the pure model judges it: the requester never,
 * a subject never (by Slack id or by e-mail), one person one step of a chain, IT admins only the steps that fell
 * back to them, and a button only the steps it was rendered for.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decidableBy, eligibleApprovers, pendingDecidableBy, type Approval, type Item, type PeopleFacts, type RequestDetail, type Subject,
} from '../../src/requests/model.js';

const EMAILS: Record<string, string> = { U0MANAGER: 'mona@example.com', U0OWNER1: 'olga@example.com', U0ADMIN: 'adam@example.com' };
const facts: PeopleFacts = { isItAdmin: (id) => id === 'U0ADMIN', itAdminIds: () => ['U0ADMIN'], emailOf: (id) => EMAILS[id] };

let nextId = 1;
function approval(appId: string, stepIndex: number, approvers: string[], extra: Partial<Approval> = {}): Approval {
  return { id: nextId++, requestId: 'AR-1', appId, stepIndex, approvers, fallbackToIt: false, state: 'pending', decidedBy: null, decidedAt: null, reason: null, openedAt: 0, ...extra };
}
function item(appId: string, subject: Partial<Subject>): Item {
  return {
    id: nextId++, requestId: 'AR-1', appId, subject: { slackId: null, email: 'someone@example.com', firstName: null, lastName: null, ...subject },
    state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: 0,
  };
}
function request(items: Item[], approvals: Approval[], requesterId = 'U0ALICE'): RequestDetail {
  return { request: { id: 'AR-1', kind: 'onboard', requesterId, justification: 'x', effectiveDate: '2030-01-01', options: {}, createdAt: 0, updatedAt: 0 }, items, approvals };
}

describe('who decides a listed step', () => {
  test('the listed approver may; the requester, a subject and anyone unlisted may not, each told why', () => {
    const step = approval('autodesk', 0, ['U0MANAGER', 'U0ALICE', 'U0CAROL']);
    const detail = request([item('autodesk', { slackId: 'U0CAROL', email: 'carol@example.com' })], [step]);
    assert.deepEqual(decidableBy(detail, 'U0MANAGER', facts, [step.id]), { approvals: [step] });
    assert.deepEqual(decidableBy(detail, 'U0ALICE', facts, [step.id]), { reason: 'own_request' });
    assert.deepEqual(decidableBy(detail, 'U0CAROL', facts, [step.id]), { reason: 'own_access' });
    assert.deepEqual(decidableBy(detail, 'U0STRANGER', facts, [step.id]), { reason: 'not_an_approver', approvers: ['U0MANAGER', 'U0ALICE', 'U0CAROL'] });
    assert.deepEqual(decidableBy(detail, 'U0ADMIN', facts, [step.id]), { reason: 'not_an_approver', approvers: ['U0MANAGER', 'U0ALICE', 'U0CAROL'] }, 'IT admins decide only what falls back to them');
  });

  test("a new hire known only by e-mail is matched with the approver whose Slack e-mail it is, in any casing", () => {
    const step = approval('axure', 0, ['U0MANAGER', 'U0OWNER1']);
    const detail = request([item('axure', { email: 'Mona@Example.com' })], [step]);
    assert.deepEqual(decidableBy(detail, 'U0MANAGER', facts, [step.id]), { reason: 'own_access' });
    assert.deepEqual(eligibleApprovers(detail, 'axure', 0, ['U0MANAGER', 'U0OWNER1'], facts), ['U0OWNER1']);
    assert.deepEqual(eligibleApprovers(detail, 'axure', 0, ['U0MANAGER'], facts), [], 'nobody left: the step falls back to IT');
  });

  test('one person decides at most one step of a chain: not chosen for the next step, refused if they click it', () => {
    const first = approval('autodesk', 0, ['U0MANAGER'], { state: 'approved', decidedBy: 'U0MANAGER', decidedAt: 1 });
    const second = approval('autodesk', 1, ['U0MANAGER', 'U0OWNER1']);
    const detail = request([item('autodesk', {})], [first, second]);
    assert.deepEqual(eligibleApprovers(detail, 'autodesk', 1, ['U0MANAGER', 'U0OWNER1'], facts), ['U0OWNER1']);
    assert.deepEqual(eligibleApprovers(detail, 'autodesk', 1, ['U0MANAGER'], facts), []);
    assert.deepEqual(decidableBy(detail, 'U0MANAGER', facts, [second.id]), { reason: 'decided_earlier_step', stepIndex: 0 });
    assert.deepEqual(decidableBy(detail, 'U0OWNER1', facts, [second.id]), { approvals: [second] });
    assert.deepEqual(pendingDecidableBy(detail, 'U0MANAGER', facts), [], "the manager's card has no buttons for step 2");
  });

  test('deciding a step of another app does not bar a person from this app', () => {
    const other = approval('axure', 0, ['U0MANAGER'], { state: 'approved', decidedBy: 'U0MANAGER', decidedAt: 1 });
    const step = approval('autodesk', 1, ['U0MANAGER']);
    assert.deepEqual(decidableBy(request([item('autodesk', {}), item('axure', {})], [other, step]), 'U0MANAGER', facts, [step.id]), { approvals: [step] });
  });
});

describe('steps that fell back to IT', () => {
  test('only an IT admin decides them, and not one whose own access it is', () => {
    const step = approval('axure', 0, ['U0ALICE'], { fallbackToIt: true });
    const detail = request([item('axure', { email: 'adam@example.com' })], [step]);
    assert.deepEqual(decidableBy(detail, 'U0IT1', facts, [step.id]), { reason: 'it_admins_only', admins: ['U0ADMIN'] }, 'a member of the IT channel is not an IT admin');
    assert.deepEqual(decidableBy(detail, 'U0ADMIN', facts, [step.id]), { reason: 'own_access' });
    const forSomeoneElse = request([item('axure', { slackId: 'U0CAROL' })], [step]);
    assert.deepEqual(decidableBy(forSomeoneElse, 'U0ADMIN', facts, [step.id]), { approvals: [step] });
  });
});

describe('a button decides only the steps it was rendered for', () => {
  test("a step-1 card clicked after step 2 opened decides nothing, even for someone listed in step 2", () => {
    const first = approval('autodesk', 0, ['U0OWNER1'], { state: 'approved', decidedBy: 'U0OWNER1', decidedAt: 5 });
    const second = approval('autodesk', 1, ['U0MANAGER']);
    const detail = request([item('autodesk', {})], [first, second]);
    assert.deepEqual(decidableBy(detail, 'U0MANAGER', facts, [first.id]), { reason: 'already_decided', decidedBy: 'U0OWNER1', state: 'approved', decidedAt: 5 });
  });

  test("another app's approver who is also an IT admin decides, from their own card, only their own app", () => {
    const fallback = approval('autodesk', 0, ['U0ALICE'], { fallbackToIt: true });
    const axure = approval('axure', 0, ['U0ADMIN']);
    const detail = request([item('autodesk', {}), item('axure', {})], [fallback, axure]);
    assert.deepEqual(decidableBy(detail, 'U0ADMIN', facts, [axure.id]), { approvals: [axure] });
    assert.deepEqual(decidableBy(detail, 'U0ADMIN', facts), { approvals: [fallback, axure] }, 'without a button, everything they may decide');
  });

  test('a shared card decides, of its steps, only those the clicker may decide', () => {
    const autodesk = approval('autodesk', 0, ['U0MANAGER']);
    const axure = approval('axure', 0, ['U0OWNER1']);
    const detail = request([item('autodesk', {}), item('axure', {})], [autodesk, axure]);
    assert.deepEqual(decidableBy(detail, 'U0OWNER1', facts, [autodesk.id, axure.id]), { approvals: [axure] });
    assert.deepEqual(decidableBy(detail, 'U0STRANGER', facts, [autodesk.id, axure.id]), { reason: 'not_an_approver', approvers: ['U0MANAGER', 'U0OWNER1'] });
  });
});
