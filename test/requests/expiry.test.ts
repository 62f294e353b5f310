/**
 * Access that ends by itself, with a clock the test moves: the real bot wiring (job runner, request service,
 * connectors) on a SQLite file, the Slack sandbox, and the Autodesk sandbox. Warned `accessEndingWarning` (3 days)
 * before, once; on the date an offboarding is filed, pre-approved by the original approval, and carried out by
 * the same connector path as any: Autodesk deactivates the user, Axure gets a task. An extension supersedes the
 * old end; an onboarding never granted files nothing; a second run files nothing twice.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { expireItem } from '../../src/requests/expiry.js';
import { getItem } from '../../src/requests/repository.js';
import { decide, submitRequest } from '../../src/requests/service.js';
import { completeTask } from '../../src/tasks/service.js';
import { taskOfItem } from '../../src/tasks/repository.js';
import { addDaysToDate, dateInZone, startOfDateInZone } from '../../src/util/time.js';
import { startHarness as startAutodesk, APPROVER, REQUESTER as AUTODESK_REQUESTER } from '../autodesk/context.js';
import { FakeClock, IT, MONDAY_10_UTC, OWNER, REQUESTER, startHarness as startManual, type Harness as ManualHarness } from './../manual/harness.js';
import { wordsText } from '../../src/requests/words.js';

const DAY = 86_400_000;
const closing: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((h) => h.close()));
});

async function manual(clock: FakeClock): Promise<ManualHarness> {
  const h = await startManual({ clock, app: { maxDuration: '180d' } as never });
  closing.push(h);
  return h;
}

/** Onboards a Slack user to Axure until `endDate`, approved, and has IT do the task. */
const added = new Set<string>();
async function grantUntil(h: ManualHarness, clock: FakeClock, slackId: string, endDate: string | undefined): Promise<{ requestId: string; itemId: number }> {
  if (!added.has(slackId)) h.sandbox.addUser({ id: slackId, name: slackId.toLowerCase(), email: `${slackId.toLowerCase()}@example.com` });
  added.add(slackId);
  const { requestId } = submitRequest(h.ctx, {
    kind: 'onboard', requesterId: REQUESTER, appIds: ['axure'], effectiveDate: dateInZone(clock.now(), 'UTC'), ...(endDate ? { endDate } : {}),
    justification: 'project', subjects: [{ slackId, email: `${slackId.toLowerCase()}@example.com`, firstName: 'Pat', lastName: 'Temp' }], options: {},
  });
  const decision = decide(h.ctx, requestId, OWNER, 'approve');
  assert.ok(decision.ok);
  const itemId = decision.detail.items[0]!.id;
  await h.settle();
  const task = taskOfItem(h.db, itemId)!;
  assert.ok(completeTask(h.ctx.tasks, task.id, IT[0]).ok);
  await h.settle();
  assert.equal(getItem(h.db, itemId)!.state, 'completed');
  return { requestId, itemId };
}

async function moveTo(h: ManualHarness, clock: FakeClock, at: number): Promise<void> {
  clock.t = at;
  h.runner.wake();
  await h.settle();
}

const warningsTo = (h: ManualHarness, user: string) => h.sandbox.messagesTo(user).filter((m) => m.text.includes('ends on'));
const offboardingsOf = (h: ManualHarness, email: string) =>
  h.db.prepare("SELECT requests.id, requests.requester_id AS requester FROM requests JOIN items ON items.request_id = requests.id WHERE kind = 'offboard' AND items.subject_email = ?").all(email) as { id: string; requester: string }[];

describe('access that ends by itself', () => {
  test('Axure: warned 3 days before, once; on the date an offboarding pre-approved by the original approval becomes a task', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    const h = await manual(clock);
    const endDate = addDaysToDate(dateInZone(clock.now(), 'UTC'), 10);
    const endsAt = startOfDateInZone(endDate, 'UTC');
    const { requestId, itemId } = await grantUntil(h, clock, 'U0TEMP1', endDate);

    await moveTo(h, clock, endsAt - 3 * DAY - 60_000);
    assert.equal(warningsTo(h, 'U0TEMP1').length, 0, 'not warned before 3 days are left');
    await moveTo(h, clock, endsAt - 3 * DAY + 60_000);
    assert.equal(warningsTo(h, 'U0TEMP1').length, 1, 'the person is warned');
    assert.equal(warningsTo(h, REQUESTER).length, 1, 'the requester is warned');
    await moveTo(h, clock, endsAt - DAY);
    assert.equal(warningsTo(h, 'U0TEMP1').length, 1, 'warned once');
    assert.deepEqual(offboardingsOf(h, 'u0temp1@example.com'), [], 'nothing filed before the date');

    await moveTo(h, clock, endsAt);
    const [offboarding, ...more] = offboardingsOf(h, 'u0temp1@example.com');
    assert.equal(more.length, 0);
    assert.equal(offboarding!.requester, REQUESTER, 'the original requester is the requester of record');
    const approvals = h.db.prepare('SELECT state, decided_by, reason FROM approvals WHERE request_id = ?').all(offboarding!.id);
    assert.deepEqual(approvals, [{ state: 'approved', decided_by: OWNER, reason: `pre-approved by the approval of ${requestId}` }]);
    const audit = h.db.prepare("SELECT json_extract(detail, '$.expiredItemId') AS item, json_extract(detail, '$.approval') AS approval FROM audit WHERE action = 'access.expired' AND request_id = ?").get(offboarding!.id);
    assert.deepEqual(audit, { item: itemId, approval: `pre-approved by the approval of ${requestId}` });
    const newItem = h.db.prepare('SELECT id, state FROM items WHERE request_id = ?').get(offboarding!.id) as { id: number; state: string };
    assert.equal(newItem.state, 'in_progress');
    assert.ok(taskOfItem(h.db, newItem.id), 'IT has the offboarding task');

    // A second run (a crash after filing, a job run again) files nothing more.
    assert.match(JSON.stringify(expireItem(h.ctx, itemId)), /already filed/);
    assert.equal(offboardingsOf(h, 'u0temp1@example.com').length, 1);
  });

  test('an extension granted before the date supersedes the old end: no warning for it, nothing filed on it', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    const h = await manual(clock);
    const today = dateInZone(clock.now(), 'UTC');
    const first = await grantUntil(h, clock, 'U0TEMP2', addDaysToDate(today, 10));
    await grantUntil(h, clock, 'U0TEMP2', addDaysToDate(today, 40));
    await moveTo(h, clock, startOfDateInZone(addDaysToDate(today, 10), 'UTC') + 60_000);
    assert.equal(warningsTo(h, 'U0TEMP2').length, 0, 'the old end warns nobody');
    assert.deepEqual(offboardingsOf(h, 'u0temp2@example.com'), []);
    const skipped = h.db.prepare("SELECT json_extract(detail, '$.why') AS why FROM audit WHERE action = 'access.expiry_skipped' AND item_id = ?").get(first.itemId) as { why: string };
    assert.match(skipped.why, /extended by AR-/);
    // The new end still stands.
    await moveTo(h, clock, startOfDateInZone(addDaysToDate(today, 40), 'UTC'));
    assert.equal(offboardingsOf(h, 'u0temp2@example.com').length, 1);
  });

  test('an onboarding with an end date that is denied files nothing', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    const h = await manual(clock);
    const endDate = addDaysToDate(dateInZone(clock.now(), 'UTC'), 5);
    h.sandbox.addUser({ id: 'U0TEMP3', name: 'temp3', email: 'u0temp3@example.com' });
    const { requestId } = submitRequest(h.ctx, {
      kind: 'onboard', requesterId: REQUESTER, appIds: ['axure'], effectiveDate: dateInZone(clock.now(), 'UTC'), endDate,
      justification: 'project', subjects: [{ slackId: 'U0TEMP3', email: 'u0temp3@example.com', firstName: 'Pat', lastName: 'Temp' }], options: {},
    });
    assert.ok(decide(h.ctx, requestId, OWNER, 'deny', { reason: 'no' }).ok);
    await moveTo(h, clock, startOfDateInZone(endDate, 'UTC') + DAY);
    assert.deepEqual(offboardingsOf(h, 'u0temp3@example.com'), []);
    assert.equal(warningsTo(h, 'U0TEMP3').length, 0);
  });

  test('Autodesk: on the date the user is deactivated through the API', async () => {
    const clock = new FakeClock(Date.now());
    const h = await startAutodesk({ clock });
    closing.push(h);
    h.sandbox.addUser({ email: 'temp.designer@example.com', role: 'user' });
    const today = dateInZone(clock.now(), 'UTC');
    const endDate = addDaysToDate(today, 7);
    const { requestId } = submitRequest(h.bot.ctx, {
      kind: 'onboard', requesterId: AUTODESK_REQUESTER, appIds: ['autodesk'], effectiveDate: today, endDate, justification: 'contract',
      subjects: [{ slackId: null, email: 'temp.designer@example.com', firstName: 'Temp', lastName: 'Designer' }], options: { autodeskRole: 'user', autodeskTeams: [] },
    });
    assert.ok(decide(h.bot.ctx, requestId, APPROVER, 'approve').ok);
    const itemId = (h.bot.db.prepare('SELECT id FROM items WHERE request_id = ?').get(requestId) as { id: number }).id;
    await h.settle([itemId]);
    assert.equal(getItem(h.bot.db, itemId)!.state, 'completed');
    assert.equal(h.sandbox.userByEmail('temp.designer@example.com')!.status, 'active');

    clock.t = startOfDateInZone(endDate, 'UTC');
    h.bot.runner.wake();
    await h.bot.runner.whenIdle();
    const offboarding = h.bot.db.prepare("SELECT items.id FROM items JOIN requests ON requests.id = items.request_id WHERE kind = 'offboard'").get() as { id: number };
    assert.ok(offboarding, 'an offboarding was filed');
    const [done] = await h.settle([offboarding.id]);
    assert.equal(done!.state, 'completed', wordsText(done!.detail ?? ''));
    assert.equal(h.sandbox.userByEmail('temp.designer@example.com')!.status, 'inactive');
  });
});
