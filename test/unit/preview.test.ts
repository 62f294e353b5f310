/**
 * The words of an Autodesk preview for the cases the e2e tests cannot reach through intake (a protected address
 * is refused on the form), and the card's rendering of what Autodesk answered: text, never markup.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isProtectedEmail, parseAccessConfig } from '../../src/config.js';
import type { AutodeskAppConfig } from '../../src/connectors/autodesk/config.js';
import { previewOfEntry } from '../../src/connectors/autodesk/preview.js';
import type { DirectoryEntry } from '../../src/connectors/autodesk/directory.js';
import type { FulfillmentItem } from '../../src/connectors/types.js';
import type { RequestDetail } from '../../src/requests/model.js';
import { validateBlocks } from '../../src/sandboxes/slack/server.js';
import { approvalCard } from '../../src/slack/blocks/request.js';
import { baseConfig } from '../support/harness.js';

const config = parseAccessConfig(baseConfig());
const isProtected = (email: string) => isProtectedEmail(config, email);
const app = config.apps.find((candidate) => candidate.id === 'autodesk') as AutodeskAppConfig;

function item(over: Partial<FulfillmentItem> = {}): FulfillmentItem {
  return {
    itemId: 1, requestId: 'AR-TEST23', appId: 'autodesk', kind: 'offboard', subject: { slackId: null, email: 'ann@example.com', firstName: null, lastName: null },
    externalId: null, effectiveDate: '2026-03-02', requesterId: 'U0ALICE', approvedBy: [], approvedAt: 0, justification: 'x', options: {}, ...over,
  };
}
const entry = (over: Partial<DirectoryEntry> = {}): DirectoryEntry => ({ id: 'u-1', email: 'Ann@Example.com', status: 'active', role: 'user', seenAt: 5, ...over });

describe('Autodesk preview words', () => {
  test('a protected address is never touched, whichever way', () => {
    for (const kind of ['onboard', 'offboard'] as const) {
      const preview = previewOfEntry(isProtected, app, item({ kind, subject: { slackId: null, email: 'BreakGlass@example.com', firstName: null, lastName: null } }), entry({ email: 'breakglass@example.com' }), 5);
      assert.equal(preview.summary, 'protected: will not be touched');
    }
  });

  test('a hard delete says so; an onboarding that raises the role says that too', () => {
    assert.equal(previewOfEntry(isProtected, { ...app, offboardAction: 'delete' }, item(), entry(), 5).summary, 'will be deleted (irreversible)');
    const raised = previewOfEntry(isProtected, app, item({ kind: 'onboard', options: { role: 'admin', teams: ['team-789'] } }), entry({ role: 'viewer' }), 5);
    assert.equal(raised.summary, 'already active as viewer: will only raise the role to admin and add Design Team');
    const pending = previewOfEntry(isProtected, app, item({ kind: 'onboard', options: { teams: ['team-789'] } }), entry({ status: 'pending' }), 5);
    assert.equal(pending.summary, 'invited earlier, not accepted yet: will join Design Team once accepted');
  });

  test('what Autodesk answered is shown on the card as text, in blocks Slack accepts', () => {
    const evil = '<!channel>@example.com';
    const detail: RequestDetail = {
      request: { id: 'AR-TEST23', kind: 'offboard', requesterId: 'U0ALICE', justification: 'x', effectiveDate: '2026-03-02', options: {}, createdAt: 0, updatedAt: 0 },
      items: [{ id: 1, requestId: 'AR-TEST23', appId: 'autodesk', subject: item().subject, state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: 0 }],
      approvals: [],
      previews: [{ ...previewOfEntry(isProtected, app, item(), entry({ email: evil, id: '<@U0ADMIN>' }), 5), state: 'ok', lastLogin: '2026-11-30T10:00:00Z' }],
    };
    const card = approvalCard(config, detail);
    const text = JSON.stringify(card.blocks);
    assert.ok(!text.includes('<!channel>') && !text.includes('<@U0ADMIN>'), text);
    assert.match(text, /will be deactivated/);
    assert.match(text, /last login <!date\^/);
    assert.deepEqual(validateBlocks(card.blocks, 'message'), []);
  });
});
