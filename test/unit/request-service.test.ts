/**
 * The request service's notices: which change tells whom what, as typed data enqueued with the change (the words
 * are the Slack side's). No runner: the notices are read from the job table right after each call, which is what
 * the Slack job would send.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, test } from 'node:test';
import { parseAccessConfig } from '../../src/config.js';
import type { Connector } from '../../src/connectors/types.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { createItAdmins } from '../../src/requests/it-admins.js';
import { noticeJobSchema, REQUEST_JOB, type NoticeJob } from '../../src/requests/notices.js';
import { cancelRequest, createItemProgress, decide, submitRequest, type RequestDeps } from '../../src/requests/service.js';
import { PEOPLE } from '../../src/sandboxes/stack.js';
import { noticeText } from '../../src/slack/notices.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../manual/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'accessbot-request-service-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = parseAccessConfig({
  itChannel: 'C0ITOPS', itAdmins: [PEOPLE.admin], timezone: 'UTC',
  apps: [
    { id: 'figma', name: 'Figma', connector: 'manual', approvers: [PEOPLE.manager], assignees: [PEOPLE.it1] },
    { id: 'axure', name: 'Axure RP', connector: 'manual', approvalSteps: [{ approvers: [PEOPLE.manager] }, { approvers: [PEOPLE.owner1] }], assignees: [PEOPLE.it1] },
    // Step 1 lists only the requester: nobody listed may decide it, so it goes to IT.
    { id: 'selfish', name: 'Selfish', connector: 'manual', approvers: [PEOPLE.requester], assignees: [PEOPLE.it1] },
  ],
});

let db: Db;
let deps: RequestDeps;
const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
const subject = { slackId: PEOPLE.dave, email: 'dave@example.com', firstName: 'Dave', lastName: 'Drafter' };
/** Only Figma has a connector: Axure and Selfish items wait for one once approved. */
const figma = { type: 'manual', onboard: () => Promise.reject(new Error('not run here')), offboard: () => Promise.reject(new Error('not run here')) } as unknown as Connector;

let file = 0;
beforeEach(() => {
  db = openDatabase(join(dir, `bot-${++file}.db`));
  deps = { db, config, clock, log: silentLogger, connectors: new Map([['figma', figma]]), itAdmins: createItAdmins(config.itAdmins), wake: () => undefined };
});

/** Every notice enqueued so far, oldest first, checked against the payload schema the Slack job parses. */
const notices = (): NoticeJob[] =>
  (db.prepare('SELECT payload FROM jobs WHERE kind = ? ORDER BY id').all(REQUEST_JOB.notice.kind) as { payload: string }[]).map((row) => noticeJobSchema.parse(JSON.parse(row.payload)));
const newNotices = (before: number) => notices().slice(before);

const submit = (appIds: string[], effectiveDate = '2026-03-02') =>
  submitRequest(deps, { kind: 'onboard', requesterId: PEOPLE.requester, subjects: [subject], appIds, effectiveDate, justification: 'project', options: {} }).requestId;

test('an approval tells the requester who approved which step, and when the work starts', () => {
  const requestId = submit(['axure', 'figma'], '2026-03-09');
  assert.deepEqual(notices(), [], 'submitting with decidable steps tells nobody anything by DM');

  assert.ok(decide(deps, requestId, PEOPLE.manager, 'approve').ok);
  assert.deepEqual(notices(), [
    { to: PEOPLE.requester, notice: { type: 'step_approved', requestId, appId: 'axure', by: PEOPLE.manager, forWhom: null, stepIndex: 0, steps: 2 } },
    { to: PEOPLE.requester, notice: { type: 'approved', requestId, appId: 'figma', by: PEOPLE.manager, forWhom: null, fulfillment: { when: 'on', date: '2026-03-09' } } },
  ]);

  const seen = notices().length;
  assert.ok(decide(deps, requestId, PEOPLE.owner1, 'approve').ok);
  assert.deepEqual(newNotices(seen), [
    { to: PEOPLE.requester, notice: { type: 'approved', requestId, appId: 'axure', by: PEOPLE.owner1, forWhom: null, fulfillment: { when: 'no_connector' } } },
  ]);
});

test('a denial carries its reason to the requester, worded on the Slack side so the reason cannot ping anyone', () => {
  const requestId = submit(['figma']);
  assert.ok(decide(deps, requestId, PEOPLE.manager, 'deny', { reason: 'not <!channel> needed' }).ok);
  assert.deepEqual(notices(), [
    { to: PEOPLE.requester, notice: { type: 'denied', requestId, appId: 'figma', by: PEOPLE.manager, forWhom: null, reason: 'not <!channel> needed' } },
  ]);
  // The Slack side words it, and what the approver typed cannot ping anyone.
  const text = noticeText(config, notices()[0]!.notice);
  assert.match(text, /denied Figma access: "not &lt;!channel&gt; needed"\./);
});

test('a step nobody listed may decide is routed to IT, and the requester is told so', () => {
  const requestId = submit(['selfish']);
  assert.deepEqual(notices(), [
    { to: PEOPLE.requester, notice: { type: 'step_routed_to_it', requestId, appId: 'selfish', stepIndex: 0, itChannel: 'C0ITOPS' } },
  ]);
});

test('a failed item tells the requester why, then that the request finished with problems', () => {
  const requestId = submit(['figma']);
  assert.ok(decide(deps, requestId, PEOPLE.manager, 'approve').ok);
  const seen = notices().length;
  const itemId = (db.prepare('SELECT id FROM items WHERE request_id = ?').get(requestId) as { id: number }).id;
  createItemProgress(deps).fail(itemId, 'seat limit <reached>');
  // The notice carries the connector's words as written: Slack escapes them when it words the notice.
  assert.deepEqual(newNotices(seen), [
    { to: PEOPLE.requester, notice: { type: 'item_failed', requestId, appId: 'figma', subject, detail: 'seat limit <reached>' } },
    { to: PEOPLE.requester, notice: { type: 'request_finished', requestId, states: [['failed', 1]] } },
  ]);
  assert.match(noticeText(config, newNotices(seen)[1]!.notice), /finished with problems: 1 failed\. IT has been alerted/);
});

test('an IT admin cancelling tells the pending approvers their decision is not needed, and the requester what stopped', () => {
  const requestId = submit(['axure']);
  const result = cancelRequest(deps, requestId, PEOPLE.admin);
  assert.ok(result.ok);
  assert.deepEqual(notices(), [
    { to: PEOPLE.manager, notice: { type: 'decision_withdrawn', requestId, by: PEOPLE.admin, byRequester: false, audience: 'approver' } },
    { to: PEOPLE.requester, notice: { type: 'cancelled_for_you', requestId, by: PEOPLE.admin, cancelled: 1 } },
  ]);
});

test('a refused decision changes nothing and tells nobody', () => {
  const requestId = submit(['figma']);
  const refused = decide(deps, requestId, PEOPLE.stranger, 'approve');
  assert.equal(refused.ok, false);
  assert.deepEqual(notices(), []);
  assert.equal((db.prepare('SELECT state FROM items WHERE request_id = ?').get(requestId) as { state: string }).state, 'awaiting_approval');
});
