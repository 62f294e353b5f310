/** The Home tab stays a view Slack accepts however much is waiting, and says what it could not show. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAccessConfig } from '../../src/config.js';
import type { Approval, Item, RequestDetail } from '../../src/requests/model.js';
import { validateView } from '../../src/sandboxes/slack/server.js';
import { homeView } from '../../src/slack/blocks/home.js';
import { mention, mrkdwn } from '../../src/util/mrkdwn.js';
import { baseConfig } from '../support/harness.js';

const config = parseAccessConfig(baseConfig());

function bigRequest(n: number): RequestDetail {
  const id = `AR-HOME${String(n).padStart(5, '0')}`;
  const request = { id, kind: 'offboard' as const, requesterId: 'U0ALICE', justification: 'Leaving', effectiveDate: '2026-03-02', options: {}, createdAt: n, updatedAt: n };
  // Many people and two apps: each request renders as several blocks.
  const items = Array.from({ length: 30 }, (_, i): Item => ({
    id: n * 100 + i, requestId: id, appId: i % 2 ? 'axure' : 'autodesk',
    subject: { slackId: null, email: `person${i}@example.com`, firstName: `Person${i}`, lastName: 'Leaver' },
    state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: 0,
  }));
  const approvals: Approval[] = [{
    id: n, requestId: id, appId: 'axure', stepIndex: 0, approvers: ['U0OWNER3'], fallbackToIt: false, state: 'pending',
    decidedBy: null, decidedAt: null, reason: null, openedAt: 0,
  }];
  return { request, items, approvals };
}

test('a crowded Home stays within 100 blocks and counts what it left out, pointing at /access status', () => {
  const awaiting = Array.from({ length: 12 }, (_, i) => bigRequest(i)).map((detail) => ({ detail, decides: detail.approvals }));
  const mine = Array.from({ length: 12 }, (_, i) => bigRequest(100 + i));
  const tasks = Array.from({ length: 20 }, (_, i) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text: `task ${i}` } }));
  const view = homeView(config, mine, awaiting, tasks, 0, [mrkdwn`:handshake: ${mention('U0MANAGER')} handed you their approvals until 2026-12-24.`]);
  assert.ok(view.blocks.length <= 100, `${view.blocks.length} blocks`);
  assert.deepEqual(validateView(view, 'home'), []);
  const text = JSON.stringify(view.blocks);
  assert.match(text, /…and \d+ more: each has its card in your DMs/);
  assert.match(text, /…and \d+ more: type `\/access status` to see them all/);
  assert.ok(text.includes('task 19'), 'the tasks are still shown after the requests');
  assert.ok(text.includes('handed you their approvals'), 'the delegation is shown');
});

test('a quiet Home shows everything and no "more" lines', () => {
  const view = homeView(config, [bigRequest(1)], [{ detail: bigRequest(2), decides: bigRequest(2).approvals }], [], 0);
  const text = JSON.stringify(view.blocks);
  assert.ok(!text.includes('more:'), text.slice(0, 300));
  assert.ok(text.includes('AR-HOME00001') && text.includes('AR-HOME00002'));
});
