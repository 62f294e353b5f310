/**
 * The task service's transitions on a real SQLite file, driven the way the bot drives them (a real request,
 * approved, its item fulfilled by the runner), and checked where the domain keeps them: the task row, its
 * queued notices (jobs) and the audit. What Slack shows of them is tested in test/manual.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { cancelRequest } from '../../src/requests/service.js';
import { TASK_EVENT } from '../../src/tasks/events.js';
import { reminderDue, reminderSent } from '../../src/tasks/reminders.js';
import { getTask } from '../../src/tasks/repository.js';
import { completeTask, reassignTask, withdrawTask } from '../../src/tasks/service.js';
import { ADMIN, FakeClock, IT, MONDAY_10_UTC, OWNER, REQUESTER, startHarness, type Harness } from '../manual/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const queued = (h: Harness, kind: string, taskId: number) =>
  (h.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE kind = ? AND state = 'queued' AND json_extract(payload, '$.taskId') = ?").get(kind, taskId) as { n: number }).n;
const audits = (h: Harness, action: string, taskId: number) =>
  (h.db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = ? AND json_extract(detail, '$.taskId') = ?").get(action, taskId) as { n: number }).n;

describe('task service', () => {
  test('done acts once: a second Done is refused as closed and neither completes the item nor audits again', async () => {
    harness = await startHarness({ clock: new FakeClock(MONDAY_10_UTC) });
    const h = harness;
    const { task } = await h.approve();
    assert.equal(completeTask(h.ctx.tasks, task.id, task.assignee).ok, true);
    const again = completeTask(h.ctx.tasks, task.id, ADMIN, 'me too');
    assert.equal(again.ok, false);
    assert.equal(!again.ok && again.reason, 'closed');
    assert.equal(getTask(h.db, task.id)!.closedBy, task.assignee, 'the first click stays the one that closed it');
    assert.equal(getTask(h.db, task.id)!.note, null);
    assert.equal(audits(h, 'task.done', task.id), 1);
  });

  test('reminders stop after done: none is queued, a reminder already running finds nothing due and counts nothing', async () => {
    harness = await startHarness({ clock: new FakeClock(MONDAY_10_UTC) });
    const h = harness;
    const { task } = await h.approve();
    assert.equal(queued(h, TASK_EVENT.reminderDue.kind, task.id), 1, 'an open task has its next reminder queued');
    assert.equal(reminderDue(h.ctx, task.id)?.id, task.id, 'and one is due while it is open');
    assert.ok(completeTask(h.ctx.tasks, task.id, task.assignee).ok);
    assert.equal(queued(h, TASK_EVENT.reminderDue.kind, task.id), 0);
    assert.equal(reminderDue(h.ctx, task.id), undefined);
    reminderSent(h.ctx, task.id, MONDAY_10_UTC);
    assert.equal(getTask(h.db, task.id)!.remindersSent, 0);
    assert.equal(queued(h, TASK_EVENT.reminderDue.kind, task.id), 0, 'a late report does not restart the chain');
  });

  test('reassign gives the task only to someone offered: not the subject, not a stranger, not the current assignee', async () => {
    harness = await startHarness({ clock: new FakeClock(MONDAY_10_UTC) });
    const h = harness;
    const { task } = await h.approve();
    const subject = task.item.subject.slackId!;
    const other = IT.slice(0, 2).find((person) => person !== task.assignee)!;
    for (const [to, reason] of [[subject, 'not_a_candidate'], ['U0STRANGER', 'not_a_candidate'], [task.assignee, 'already_assigned']] as const) {
      const refused = reassignTask(h.ctx.tasks, task.id, task.assignee, to);
      assert.equal(!refused.ok && refused.reason, reason, `to ${to}`);
    }
    assert.equal(getTask(h.db, task.id)!.assignee, task.assignee, 'refusals changed nothing');
    assert.ok(reassignTask(h.ctx.tasks, task.id, task.assignee, other).ok);
    assert.equal(getTask(h.db, task.id)!.assignee, other);
    assert.equal(queued(h, TASK_EVENT.assigned.kind, task.id), 1, "the new assignee's DM is due");
  });

  test('cancelling the request withdraws the open task: closed as cancelled, reminders gone, the assignee to be told once', async () => {
    harness = await startHarness({ clock: new FakeClock(MONDAY_10_UTC) });
    const h = harness;
    const { task, requestId } = await h.approve();
    await h.runner.stop();
    const cancelled = cancelRequest(h.ctx, requestId, REQUESTER);
    assert.equal(cancelled.ok, true);
    const after = getTask(h.db, task.id)!;
    assert.equal(after.state, 'cancelled');
    assert.equal(after.closedBy, REQUESTER);
    assert.equal(queued(h, TASK_EVENT.reminderDue.kind, task.id), 0);
    assert.equal(queued(h, TASK_EVENT.withdrawn.kind, task.id), 1);
    assert.equal(audits(h, 'task.cancelled', task.id), 1);
    // Withdrawing again is a no-op that still answers "withdrawn"; Done on it is refused.
    assert.equal(withdrawTask(h.ctx.tasks, task.itemId, OWNER), true);
    assert.equal(queued(h, TASK_EVENT.withdrawn.kind, task.id), 1);
    assert.equal(completeTask(h.ctx.tasks, task.id, task.assignee).ok, false);
  });

  test('a task already done is not withdrawn: the item keeps what was done', async () => {
    harness = await startHarness({ clock: new FakeClock(MONDAY_10_UTC) });
    const h = harness;
    const { task } = await h.approve();
    assert.ok(completeTask(h.ctx.tasks, task.id, task.assignee).ok);
    assert.equal(withdrawTask(h.ctx.tasks, task.itemId, REQUESTER), false);
    assert.equal(getTask(h.db, task.id)!.state, 'done');
    assert.equal(queued(h, TASK_EVENT.withdrawn.kind, task.id), 0);
  });
});
