import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { autodeskProgressLine } from '../../src/connectors/autodesk/index.js';
import type { ItemState } from '../../src/requests/model.js';

const items = (counts: Partial<Record<ItemState, number>>, detail: string | null = null) =>
  Object.entries(counts).flatMap(([state, n]) => Array.from({ length: n }, () => ({ state: state as ItemState, detail })));

describe('Autodesk progress line', () => {
  test('counts done and failed items of a bulk offboarding', () => {
    assert.equal(autodeskProgressLine(items({ completed: 120, failed: 2, in_progress: 178 }), { kind: 'offboard' }), 'Autodesk: 120/300 deactivated, 2 failed');
    assert.equal(autodeskProgressLine(items({ completed: 3 }), { kind: 'offboard', offboardAction: 'delete' }), 'Autodesk: 3/3 deleted');
  });

  test('onboarding mentions invitations still waiting', () => {
    const line = autodeskProgressLine([...items({ completed: 1 }), ...items({ in_progress: 2 }, 'invited, waiting for the user to accept')], { kind: 'onboard' });
    assert.equal(line, 'Autodesk: 1/3 set up, 2 waiting for the invitation to be accepted');
  });
});
