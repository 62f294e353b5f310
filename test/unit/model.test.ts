/** The item state machine's promise to the cancel: nothing leaves `cancelled`, so no late job can start the work. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  STATE_LABEL, TERMINAL_STATES, approvalAudience, approvalSeat, canTransition, isCancellable, isOpenRequest,
  type Approval, type Item, type ItemState, type PeopleFacts, type RequestDetail,
} from '../../src/requests/model.js';

const STATES = Object.keys(STATE_LABEL) as ItemState[];

test('a cancelled item is final and closes its request; only work not yet done can be cancelled', () => {
  for (const to of STATES) assert.equal(canTransition('cancelled', to), false, `cancelled → ${to}`);
  assert.ok(TERMINAL_STATES.includes('cancelled'));
  assert.equal(isOpenRequest({ items: [{ state: 'cancelled' }, { state: 'completed' }] }), false);
  for (const from of ['awaiting_approval', 'approved'] as const) {
    assert.ok(canTransition(from, 'cancelled'));
    assert.ok(isCancellable({ state: from }, false));
  }
  // In progress: a person's task can be withdrawn, an API call underway cannot.
  assert.ok(isCancellable({ state: 'in_progress' }, true));
  assert.equal(isCancellable({ state: 'in_progress' }, false), false);
  for (const done of ['completed', 'denied', 'failed'] as const) assert.equal(isCancellable({ state: done }, true), false, done);
});

test('an item only moves forward: approval before work, a failure back only to a retry or a task by hand, nothing out of a final state', () => {
  // Work never starts or ends before every step approved it.
  for (const to of ['in_progress', 'completed', 'failed'] as const) assert.equal(canTransition('awaiting_approval', to), false, `awaiting_approval → ${to}`);
  // A late report (a webhook after completion, a click after a denial) cannot reopen anything.
  for (const from of ['completed', 'denied'] as const) for (const to of STATES) assert.equal(canTransition(from, to), false, `${from} → ${to}`);
  // A failed item goes back to the queue on a retry, or to a person as a task (Do it by hand), and nowhere else.
  assert.deepEqual(STATES.filter((to) => canTransition('failed', to)), ['approved', 'in_progress']);
  // The next step of a chain keeps the item awaiting approval; a bulk run reports progress without moving.
  assert.ok(canTransition('awaiting_approval', 'awaiting_approval'));
  assert.ok(canTransition('in_progress', 'in_progress'));
  assert.ok(canTransition('approved', 'in_progress') && canTransition('in_progress', 'completed') && canTransition('in_progress', 'failed'));
});

const facts = (over: Partial<PeopleFacts> = {}): PeopleFacts => ({ isItAdmin: (id) => id === 'UIT', itAdminIds: () => ['UIT'], emailOf: () => undefined, ...over });

function detailOf(approvers: string[], state: Approval['state'] = 'pending'): RequestDetail {
  const request = { id: 'AR-1', kind: 'onboard', requesterId: 'UREQ', justification: '', effectiveDate: '2026-03-02', options: {}, createdAt: 0, updatedAt: 0 } as const;
  const items: Item[] = [{ id: 1, requestId: 'AR-1', appId: 'app', subject: { slackId: 'USUBJ', email: 's@example.com', firstName: null, lastName: null }, state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: 0 }];
  const approvals: Approval[] = [{ id: 7, requestId: 'AR-1', appId: 'app', stepIndex: 0, approvers, fallbackToIt: false, state, decidedBy: null, decidedAt: null, reason: null, openedAt: 0 }];
  return { request: { ...request }, items, approvals };
}

test('the approval audience: listed approvers who may ever decide, and the delegates deciding for them', () => {
  const detail = detailOf(['UREQ', 'USUBJ', 'UMGR', 'UGONE', 'UAWAY']);
  const people = facts({ isDeactivated: (id) => id === 'UGONE', delegateOf: (id) => (id === 'UAWAY' ? 'UDEL' : undefined) });
  // The requester and the subject never decide it and a deactivated account reads nothing: no card for them.
  assert.deepEqual([...approvalAudience(detail, people)], ['UMGR', 'UAWAY', 'UDEL']);
  assert.deepEqual(approvalSeat(detail, 'UDEL', people), { decides: [detail.approvals[0]], forWhom: 'UAWAY', delegatedTo: undefined });
  assert.deepEqual(approvalSeat(detail, 'UAWAY', people), { decides: [], forWhom: null, delegatedTo: 'UDEL' });
  assert.deepEqual(approvalSeat(detail, 'UMGR', people).decides, [detail.approvals[0]]);
  // Once decided, the delegate is no longer kept informed and nobody's card offers a decision.
  const decided = detailOf(['UMGR', 'UAWAY'], 'approved');
  assert.deepEqual([...approvalAudience(decided, people)], ['UMGR', 'UAWAY']);
  assert.deepEqual(approvalSeat(decided, 'UMGR', people), { decides: [], forWhom: null, delegatedTo: undefined });
});
