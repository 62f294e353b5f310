/**
 * The delegation rule as the pure model judges it: a delegate decides their delegator's share of a step and
 * nothing more, bound by the same bars as anyone (and by their delegator's); a decision made for someone counts
 * as both people's for "one step per person"; a deactivated approver is skipped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decidableBy, decidingFor, eligibleApprovers, type Approval, type Item, type PeopleFacts, type RequestDetail } from '../../src/requests/model.js';

const DELEGATES: Record<string, string> = { U0MANAGER: 'U0BOB' };
const facts: PeopleFacts = {
  isItAdmin: (id) => id === 'U0ADMIN', itAdminIds: () => ['U0ADMIN'], emailOf: () => undefined,
  delegateOf: (id) => DELEGATES[id], isDeactivated: (id) => id === 'U0GONE',
};

let nextId = 1;
const approval = (stepIndex: number, approvers: string[], extra: Partial<Approval> = {}): Approval =>
  ({ id: nextId++, requestId: 'AR-1', appId: 'autodesk', stepIndex, approvers, fallbackToIt: false, state: 'pending', decidedBy: null, decidedAt: null, reason: null, openedAt: 0, ...extra });
const item = (slackId: string): Item => ({
  id: nextId++, requestId: 'AR-1', appId: 'autodesk', subject: { slackId, email: `${slackId.toLowerCase()}@example.com`, firstName: null, lastName: null },
  state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: 0,
});
const request = (subject: string, approvals: Approval[], requesterId = 'U0ALICE'): RequestDetail =>
  ({ request: { id: 'AR-1', kind: 'onboard', requesterId, justification: 'x', effectiveDate: '2030-01-01', options: {}, createdAt: 0, updatedAt: 0 }, items: [item(subject)], approvals });

test('the delegate decides for the approver, who is refused; a stranger is pointed at the delegate', () => {
  const step = approval(0, ['U0MANAGER']);
  const detail = request('U0CAROL', [step]);
  assert.deepEqual(decidableBy(detail, 'U0BOB', facts), { approvals: [step] });
  assert.equal(decidingFor(detail, step, 'U0BOB', facts), 'U0MANAGER');
  assert.deepEqual(decidableBy(detail, 'U0MANAGER', facts), { reason: 'delegated', delegate: 'U0BOB' });
  assert.deepEqual(decidableBy(detail, 'U0STRANGER', facts), { reason: 'not_an_approver', approvers: ['U0BOB'] });
});

test('a delegate who is the subject or the requester decides nothing for anyone; with nobody left the step is IT\'s', () => {
  const step = approval(0, ['U0MANAGER']);
  assert.deepEqual(decidableBy(request('U0BOB', [step]), 'U0BOB', facts), { reason: 'own_access' });
  assert.deepEqual(eligibleApprovers(request('U0BOB', [step]), 'autodesk', 0, ['U0MANAGER'], facts), []);
  assert.deepEqual(eligibleApprovers(request('U0CAROL', [step], 'U0BOB'), 'autodesk', 0, ['U0MANAGER', 'U0OWNER1'], facts), ['U0OWNER1'], 'the others keep it');
});

test('nobody decides for an approver who could not have decided: the delegate of a requester is refused', () => {
  const step = approval(0, ['U0MANAGER', 'U0OWNER1']);
  const detail = request('U0CAROL', [step], 'U0MANAGER');
  assert.deepEqual(eligibleApprovers(detail, 'autodesk', 0, step.approvers, facts), ['U0OWNER1']);
  assert.deepEqual(decidableBy(detail, 'U0BOB', facts), { reason: 'not_an_approver', approvers: ['U0MANAGER', 'U0OWNER1'] });
});

test('a decision made for someone counts as both people\'s: neither decides a later step of the chain', () => {
  const first = approval(0, ['U0MANAGER'], { state: 'approved', decidedBy: 'U0BOB', decidedFor: 'U0MANAGER', decidedAt: 1 });
  const second = approval(1, ['U0MANAGER', 'U0OWNER1']);
  const detail = request('U0CAROL', [first, second]);
  assert.deepEqual(eligibleApprovers(detail, 'autodesk', 1, second.approvers, facts), ['U0OWNER1']);
  assert.deepEqual(decidableBy(detail, 'U0BOB', facts, [second.id]), { reason: 'decided_earlier_step', stepIndex: 0 });
  assert.deepEqual(decidableBy(detail, 'U0MANAGER', facts, [second.id]), { reason: 'decided_earlier_step', stepIndex: 0 });
});

test('a deactivated approver is skipped; a step of deactivated approvers only falls back to IT', () => {
  const detail = request('U0CAROL', []);
  assert.deepEqual(eligibleApprovers(detail, 'autodesk', 0, ['U0GONE', 'U0OWNER1'], facts), ['U0OWNER1']);
  assert.deepEqual(eligibleApprovers(detail, 'autodesk', 0, ['U0GONE'], facts), []);
});
