/**
 * Who may act on a manual task, on real parts (SQLite, job runner, Slack sandbox): the task's assignee, the
 * app's other assignees and the IT admins; never the person the task is about, nor anyone else. A task is never
 * given to its own subject, Reassign names only people allowed to take it, and a protected e-mail gets no task.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { getTask, taskOfItem } from '../../src/tasks/repository.js';
import { completeTask, reassignTask } from '../../src/tasks/service.js';
import { getItem } from '../../src/requests/repository.js';
import { onTaskButton, onTaskSubmission, type SubmittedValues, type TaskButton } from '../../src/slack/tasks/listeners.js';
import { validateView } from '../../src/sandboxes/slack/server.js';
import { ADMIN, IT, OWNER, REQUESTER, STRANGER, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const BUTTONS: TaskButton[] = ['done', 'done_note', 'reassign', 'snooze', 'cant_do'];

/** A filled-in submission of each task modal, as Slack would send it (a forged one looks the same). */
const SUBMISSIONS: [string, string, SubmittedValues][] = [
  ['task_done_note', 'note', { note: { note: { value: 'done' } } }],
  ['task_reassign', 'assignee', { assignee: { assignee: { selected_option: { value: IT[1] } } } }],
  ['task_snooze', 'snooze_time', { snooze_date: { snooze_date: { selected_date: '2099-01-01' } }, snooze_time: { snooze_time: { selected_time: '09:00' } } }],
  ['task_cant_do', 'reason', { reason: { reason: { value: 'no seats' } } }],
];

const auditedTaskChanges = (h: Harness) =>
  (h.db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action LIKE 'task.%' AND action NOT IN ('task.created')").get() as { n: number }).n;

/** Every button and every modal submission by this person is refused with `why`, and nothing changes. */
function assertRefused(h: Harness, taskId: number, actor: string, why: RegExp): void {
  const before = { task: getTask(h.db, taskId)!, audits: auditedTaskChanges(h) };
  for (const button of BUTTONS) {
    const outcome = onTaskButton(h.ctx, button, taskId, actor);
    assert.ok('tell' in outcome, `${actor} ${button} should be refused`);
    assert.match(outcome.tell, why, `${actor} ${button}`);
  }
  for (const [callbackId, block, values] of SUBMISSIONS) {
    const outcome = onTaskSubmission(h.ctx, callbackId, taskId, actor, values);
    assert.ok('errors' in outcome, `${actor} ${callbackId} should be refused`);
    assert.match(outcome.errors[block]!, why, `${actor} ${callbackId}`);
  }
  const after = getTask(h.db, taskId)!;
  assert.deepEqual([after.state, after.assignee, after.snoozedUntil, after.note], [before.task.state, before.task.assignee, before.task.snoozedUntil, before.task.note]);
  assert.equal(auditedTaskChanges(h), before.audits);
}

describe('who may act on a task', () => {
  test('the matrix: requester, subject, approver, another app\'s assignee and a stranger are refused; the assignee, the app\'s other assignee and an IT admin may', async () => {
    harness = await startHarness({ app: { assignees: [IT[0], IT[1]] }, otherApps: [{ id: 'figma', name: 'Figma', assignees: [IT[2]] }] });
    const h = harness;
    const tasks = [await h.approve(), await h.approve(), await h.approve()];
    const first = tasks[0]!;
    const subject = first.task.item.subject.slackId!;
    assert.equal(first.task.assignee, IT[0]);

    const notListed = /Only the assignee <@U0IT1>, another Axure RP assignee \(<@U0IT2>\) or an IT admin can act on task/;
    for (const person of [REQUESTER, OWNER, IT[2], STRANGER]) assertRefused(h, first.task.id, person, notListed);
    assertRefused(h, first.task.id, subject, /is about your own access, so you can't act on it/);

    for (const person of [IT[0], IT[1], ADMIN]) {
      for (const button of ['done_note', 'reassign', 'snooze', 'cant_do'] as const) {
        const outcome = onTaskButton(h.ctx, button, first.task.id, person);
        assert.ok('open' in outcome, `${person} ${button}`);
        assert.deepEqual(validateView(outcome.open, 'modal'), []);
      }
    }
    // Each allowed person closes one task with Mark done.
    tasks.forEach((each, i) => assert.deepEqual(onTaskButton(h.ctx, 'done', each.task.id, [IT[0], IT[1], ADMIN][i]!), { done: true }));
    assert.deepEqual(tasks.map((each) => getItem(h.db, each.itemId)!.state), ['completed', 'completed', 'completed']);
  });

  test('an IT admin who is an Axure assignee being offboarded: the task goes to the other assignee, and they cannot touch it', async () => {
    harness = await startHarness({ app: { assignees: [IT[0], IT[1]] } });
    const h = harness;
    // Nobody has a task yet, so the turn would start with U0IT1: the subject.
    const { itemId } = h.approveFor({ slackId: IT[0], email: 'ian@example.com', firstName: 'Ian', lastName: 'Tech' }, 'offboard');
    const dm = await h.sandbox.waitFor(() => h.sandbox.messagesTo(IT[1]).find((m) => m.text.startsWith('Task #') && m.text.includes(`Offboard <@${IT[0]}>`)), { description: 'the task DM to the other assignee' });
    const task = taskOfItem(h.db, itemId)!;
    assert.equal(task.assignee, IT[1]);
    assert.equal(h.sandbox.messagesTo(IT[0]).filter((m) => m.text.startsWith('Task #')).length, 0, 'the subject never sees their own task');

    assertRefused(h, task.id, IT[0], /is about your own access/);
    // Reassign does not offer the subject, and a submission naming them is refused on the field.
    const modal = onTaskButton(h.ctx, 'reassign', task.id, IT[1]);
    assert.ok('open' in modal);
    const offered = (modal.open.blocks as any[]).find((block) => block.block_id === 'assignee').element.options.map((option: any) => option.value);
    assert.deepEqual(offered, [ADMIN]);
    const forged = onTaskSubmission(h.ctx, 'task_reassign', task.id, IT[1], { assignee: { assignee: { selected_option: { value: IT[0] } } } });
    assert.ok('errors' in forged && /can't take this task/.test(forged.errors.assignee!));
    assert.equal(getTask(h.db, task.id)!.assignee, IT[1]);
    assert.ok(dm);

    assert.ok(completeTask(h.ctx.tasks, task.id, IT[1]).ok);
    assert.equal(getItem(h.db, itemId)!.state, 'completed');
  });

  test("a new hire typed in by an e-mail that is an assignee's: matched in Slack, so the task goes to someone else and they cannot act on it", async () => {
    harness = await startHarness({ app: { assignees: [IT[0], IT[1]] } });
    const h = harness;
    const { itemId } = h.approveFor({ slackId: null, email: 'U0IT1@Example.COM', firstName: 'Ian', lastName: 'Again' }, 'onboard');
    await h.sandbox.waitFor(() => h.sandbox.messagesTo(IT[1]).find((m) => m.text.startsWith('Task #')), { description: 'the task DM to the other assignee' });
    const task = taskOfItem(h.db, itemId)!;
    assert.equal(task.assignee, IT[1]);
    assertRefused(h, task.id, IT[0], /is about your own access/);
  });

  test('a new hire typed in by an assignee\'s e-mail while Slack cannot say who has it: no task until Slack answers, then it goes to someone else', async () => {
    harness = await startHarness({ app: { assignees: [IT[0], IT[1]] } });
    const h = harness;
    h.sandbox.failNext('users.lookupByEmail', 1, { error: 'internal_error' });
    const { itemId } = h.approveFor({ slackId: null, email: 'U0IT1@Example.COM', firstName: 'Ian', lastName: 'Again' }, 'onboard');
    await h.sandbox.waitFor(() => h.sandbox.messagesTo(IT[1]).find((m) => m.text.startsWith('Task #')), { description: 'the task DM to the other assignee' });
    assert.deepEqual(h.sandbox.calls.filter((c) => c.method === 'users.lookupByEmail').map((c) => c.ok), [false, true], 'asked again after the failed look-up');
    assert.equal(taskOfItem(h.db, itemId)!.assignee, IT[1]);
    assert.equal(h.sandbox.messagesTo(IT[0]).filter((m) => m.text.startsWith('Task #')).length, 0, 'the subject never got their own task');
  });

  test('when the only assignee is the subject, an IT admin gets the task', async () => {
    harness = await startHarness({ app: { assignees: [IT[0]] } });
    const h = harness;
    const { itemId } = h.approveFor({ slackId: IT[0], email: 'ian@example.com', firstName: 'Ian', lastName: 'Tech' }, 'offboard');
    await h.sandbox.waitFor(() => h.sandbox.messagesTo(ADMIN).find((m) => m.text.startsWith('Task #')), { description: 'the task DM to the IT admin' });
    assert.equal(taskOfItem(h.db, itemId)!.assignee, ADMIN);
  });

  test('Reassign to anyone not offered (a forged user id) is refused on the field; an IT admin is accepted', async () => {
    harness = await startHarness({ app: { assignees: [IT[0], IT[1]] }, otherApps: [{ id: 'figma', name: 'Figma', assignees: [IT[2]] }] });
    const h = harness;
    const { task } = await h.approve();
    for (const forged of [STRANGER, IT[2], REQUESTER, task.item.subject.slackId!, '<!channel>']) {
      const outcome = onTaskSubmission(h.ctx, 'task_reassign', task.id, IT[0], { assignee: { assignee: { selected_option: { value: forged } } } });
      assert.ok('errors' in outcome, forged);
      assert.match(outcome.errors.assignee!, /That person can't take this task: only Axure RP assignees and IT admins/);
      assert.ok(!outcome.errors.assignee!.includes(forged), 'the forged value is not echoed');
    }
    assert.equal(getTask(h.db, task.id)!.assignee, IT[0]);
    assert.equal(reassignTask(h.ctx.tasks, task.id, IT[0], ADMIN).ok, true);
  });
});

describe('protected e-mails', () => {
  test('a protected e-mail in a manual app gets no task: the item fails with the reason and the requester is told IT was alerted', async () => {
    harness = await startHarness({ protectedEmails: ['Breakglass@Example.com'] });
    const h = harness;
    const { itemId } = h.approveFor({ slackId: null, email: 'breakglass@example.COM', firstName: null, lastName: null }, 'offboard');
    const told = await h.sandbox.waitFor(() => h.sandbox.messagesTo(REQUESTER).find((m) => m.text.includes('could not be done')), { description: 'the requester told' });
    assert.match(told.text, /breakglass@example\.COM is a protected account \(protectedEmails\)/);
    assert.match(told.text, /IT has been alerted/);
    assert.equal(getItem(h.db, itemId)!.state, 'failed');
    assert.equal(taskOfItem(h.db, itemId), undefined);
    assert.equal(IT.flatMap((it) => h.sandbox.messagesTo(it)).length, 0, 'no task DM to anyone');
  });
});
