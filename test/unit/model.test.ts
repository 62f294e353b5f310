/** The item state machine's promise to the cancel: nothing leaves `cancelled`, so no late job can start the work. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATE_LABEL, TERMINAL_STATES, canTransition, isCancellable, isOpenRequest, type ItemState } from '../../src/requests/model.js';

const STATES = Object.keys(STATE_LABEL) as ItemState[];

test('a cancelled item is final and closes its request; only work not yet done can be cancelled', () => {
  for (const to of STATES) assert.equal(canTransition('cancelled', to), false, `cancelled → ${to}`);
  assert.ok(TERMINAL_STATES.includes('cancelled'));
  assert.equal(isOpenRequest({ items: [{ state: 'cancelled' }, { state: 'completed' }] }), false);
  for (const from of ['awaiting_approval', 'approved'] as const) {
    assert.ok(canTransition(from, 'cancelled'));
    assert.ok(isCancellable({ state: from }, 'autodesk'));
  }
  // In progress: a person's task can be withdrawn, an API call underway cannot.
  assert.ok(isCancellable({ state: 'in_progress' }, 'manual'));
  assert.equal(isCancellable({ state: 'in_progress' }, 'autodesk'), false);
  for (const done of ['completed', 'denied', 'failed'] as const) assert.equal(isCancellable({ state: done }, 'manual'), false, done);
});
