/**
 * The manual connector end to end on real parts: approved items become tasks with DMs in the Slack
 * sandbox, reminders and escalations are durable jobs, and the task's buttons act once, for the right people.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { getTask, taskOfItem } from '../../src/tasks/repository.js';
import { cantDoTask, completeTask, createTask, reassignTask, snoozeTask } from '../../src/tasks/service.js';
import { fulfillmentItemOf } from '../../src/requests/service.js';
import { getItem } from '../../src/requests/repository.js';
import { onTaskButton, onTaskSubmission } from '../../src/slack/tasks/listeners.js';
import { taskHomeBlocks, tasksCommandText } from '../../src/slack/tasks/home.js';
import { validateView } from '../../src/sandboxes/slack/server.js';
import { ADMIN, FakeClock, HOUR, IT, IT_CHANNEL, MONDAY_10_UTC, REQUESTER, STRANGER, startHarness, type Harness } from './harness.js';
import { wordsText } from '../../src/requests/words.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const count = (h: Harness, sql: string) => (h.db.prepare(sql).get() as { n: number }).n;

const remindJob = (h: Harness, taskId: number) =>
  h.db.prepare("SELECT * FROM jobs WHERE key = ? AND state = 'queued'").get(`task-remind:${taskId}`) as { run_at: number } | undefined;

const buttonsOf = (message: { blocks: any[] }) => message.blocks.flatMap((block) => (block.type === 'actions' ? block.elements : []));

/** Moves the fake clock and lets the runner see it now rather than at its next poll. */
function advance(h: Harness, clock: FakeClock, ms: number): void {
  clock.advance(ms);
  h.runner.wake();
}

describe('assignment', () => {
  test('the assignee with the fewest open tasks gets the next one, ties in turn; creating twice makes one task', async () => {
    harness = await startHarness({ app: { assignees: [...IT] } });
    const h = harness;
    const first = await h.approve();
    const second = await h.approve();
    const third = await h.approve();
    assert.deepEqual([first, second, third].map((x) => x.task.assignee), ['U0IT1', 'U0IT2', 'U0IT3']);
    // Everyone has one: the turn comes back to the first.
    const fourth = await h.approve();
    assert.equal(fourth.task.assignee, 'U0IT1');
    // U0IT2 finishes theirs and now has the fewest.
    assert.ok(completeTask(h.ctx.tasks, second.task.id, 'U0IT2').ok);
    const fifth = await h.approve();
    assert.equal(fifth.task.assignee, 'U0IT2');

    // The fulfillment job running again (after a crash) finds the same task.
    const again = createTask(h.ctx.tasks, fulfillmentItemOf(h.ctx, first.itemId)!);
    assert.deepEqual(again, { state: 'open', assignee: 'U0IT1', detail: ['task assigned to ', { person: 'U0IT1' }] });
    assert.equal((h.db.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n, 5);
    assert.deepEqual(getItem(h.db, first.itemId)!.detail, ['task assigned to ', { person: 'U0IT1' }]);
    assert.equal(h.sandbox.messagesTo('U0IT1').filter((m) => m.text.startsWith('Task #')).length, 2);

    // The DM carries what the admin needs: the Axure steps from the guide and the Mark done button.
    assert.match(JSON.stringify(first.dm.blocks), /Add members.*Use SSO/);
    assert.ok(buttonsOf(first.dm).some((b) => b.type === 'button' && b.text.text === 'Mark done' && b.value === String(first.task.id)));
  });

  test('offboarding tasks get the offboarding steps', async () => {
    harness = await startHarness();
    const { dm } = await harness.approve('offboard');
    assert.match(dm.text, /Offboard <@U0NEW\d+> from Axure RP/);
    assert.match(JSON.stringify(dm.blocks), /License Portal/);
  });
});

describe('reminders', () => {
  test('arrive every reminderEvery and stop at done; the requester is told, the DM loses its buttons, the audit has it', async () => {
    harness = await startHarness({ app: { reminderEvery: '1s', escalateAfter: 10 } });
    const h = harness;
    const { task, dm, requestId, itemId } = await h.approve();
    await h.sandbox.waitFor(() => h.reminders('U0IT1').length >= 2, { description: 'two reminders' });
    const reminder = h.reminders('U0IT1')[0]!;
    assert.match(reminder.text, new RegExp(`Task #${task.id}: Onboard .* is still open`));
    assert.match(reminder.text, /<https:\/\/sandbox\.slack\/archives\/D\w+\/p\d+\|Open the task>/);

    const result = completeTask(h.ctx.tasks, task.id, 'U0IT1', 'added');
    assert.ok(result.ok);
    const sentAtDone = h.reminders('U0IT1').length;
    assert.equal(remindJob(h, task.id), undefined, 'the queued reminder was cancelled with the click');

    await h.sandbox.waitFor(() => dm.history.length > 0 && buttonsOf(dm).length === 0, { description: 'the task DM updated without buttons' });
    assert.match(JSON.stringify(dm.blocks), /Done by <@U0IT1>.*added/);
    await h.sandbox.waitFor(() => h.sandbox.messagesTo(REQUESTER).find((m) => m.text.includes(`Request ${requestId} is done`)), { description: 'the requester told' });
    assert.equal(getItem(h.db, itemId)!.state, 'completed');
    const audit = h.db.prepare("SELECT actor, item_id FROM audit WHERE action = 'task.done'").all();
    assert.deepEqual(audit, [{ actor: 'U0IT1', item_id: itemId }]);

    // Past the next interval nothing more comes: every job due within one reminder interval (1 s) has run by then.
    await h.runner.whenIdle({ until: Date.now() + 1000 });
    assert.equal(h.reminders('U0IT1').length, sentAtDone);
  });

  test('a reminder due in the same second as the done click is not sent', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    harness = await startHarness({ clock, app: { reminderEvery: '1h' } });
    const h = harness;
    const { task } = await h.approve();
    await h.runner.stop();
    clock.advance(HOUR); // the reminder is due now, but no runner has claimed it yet
    assert.ok(completeTask(h.ctx.tasks, task.id, 'U0IT1').ok);
    // Even a reminder job that escaped cancellation (already claimed) re-checks the task and stays silent.
    h.db.prepare("INSERT INTO jobs (kind, payload, key, state, run_at, attempts, max_attempts, created_at, updated_at) VALUES ('task.remind', ?, NULL, 'queued', ?, 0, 3, ?, ?)")
      .run(JSON.stringify({ taskId: task.id }), clock.now(), clock.now(), clock.now());
    await h.restart();
    await h.settle();
    assert.equal(h.reminders('U0IT1').length, 0);
    assert.equal(getTask(h.db, task.id)!.remindersSent, 0);
  });

  test('after downtime one catch-up reminder is sent, not one per missed interval', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    harness = await startHarness({ clock, app: { reminderEvery: '1h', escalateAfter: 10 } });
    const h = harness;
    const { task } = await h.approve();
    await h.runner.stop();
    clock.advance(7 * HOUR + 10 * 60_000); // seven reminders missed while the bot was down
    await h.restart();
    await h.sandbox.waitFor(() => h.reminders('U0IT1').length >= 1, { description: 'the catch-up reminder' });
    await h.settle();
    assert.equal(h.reminders('U0IT1').length, 1);
    assert.equal(remindJob(h, task.id)!.run_at, clock.now() + HOUR, 'the next one is a full interval after the catch-up');
    advance(h, clock, HOUR);
    await h.sandbox.waitFor(() => h.reminders('U0IT1').length === 2, { description: 'the regular reminder after it' });
  });

  test('a snoozed task is not reminded until the snooze ends', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    harness = await startHarness({ clock, app: { reminderEvery: '1h' } });
    const h = harness;
    const { task, dm } = await h.approve();
    const until = clock.now() + 5 * HOUR;
    assert.ok(snoozeTask(h.ctx.tasks, task.id, 'U0IT1', until).ok);
    assert.equal(remindJob(h, task.id)!.run_at, until);
    await h.sandbox.waitFor(() => JSON.stringify(dm.blocks).includes('snoozed until'), { description: 'the DM showing the snooze' });
    advance(h, clock, 2 * HOUR);
    await h.settle();
    assert.equal(h.reminders('U0IT1').length, 0);
    advance(h, clock, 3 * HOUR);
    await h.sandbox.waitFor(() => h.reminders('U0IT1').length === 1, { description: 'the reminder when the snooze ends' });
    await h.sandbox.waitFor(() => !JSON.stringify(dm.blocks).includes('snoozed until'), { description: 'the DM no longer showing the snooze' });
    assert.equal(snoozeTask(h.ctx.tasks, task.id, 'U0IT1', clock.now() - 1).ok, false, 'a snooze into the past is refused');
  });

  test('reassigning moves the task DM and the reminders to the new assignee', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    harness = await startHarness({ clock, app: { reminderEvery: '1h' } });
    const h = harness;
    const { task, dm, itemId } = await h.approve();
    assert.equal(task.assignee, 'U0IT1');
    advance(h, clock, 30 * 60_000);
    assert.ok(reassignTask(h.ctx.tasks, task.id, 'U0IT1', ADMIN).ok);
    const newDm = await h.sandbox.waitFor(() => h.sandbox.messagesTo(ADMIN).find((m) => m.text.startsWith(`Task #${task.id}`)), { description: 'the new DM' });
    assert.ok(buttonsOf(newDm).length > 0);
    await h.sandbox.waitFor(() => dm.text.startsWith('Reassigned') && buttonsOf(dm).length === 0, { description: 'the old DM handed over' });
    assert.match(JSON.stringify(dm.blocks), /reassigned this task to <@U0ADMIN>/);
    assert.equal(remindJob(h, task.id)!.run_at, clock.now() + HOUR, 'the reminder clock restarts for the new assignee');
    advance(h, clock, HOUR);
    await h.sandbox.waitFor(() => h.reminders(ADMIN).length === 1, { description: 'a reminder to the new assignee' });
    assert.equal(h.reminders('U0IT1').length, 0);
    assert.deepEqual(getItem(h.db, itemId)!.detail, ['task assigned to ', { person: 'U0ADMIN' }]);
    // The new assignee may act even though they are not listed for the app.
    assert.ok(completeTask(h.ctx.tasks, task.id, ADMIN).ok);
  });

  test('reminderHours keeps reminders in working hours (injected clock)', async () => {
    const clock = new FakeClock(Date.parse('2026-03-06T17:30:00Z')); // Friday 17:30
    harness = await startHarness({ clock, app: { reminderEvery: '1h', reminderHours: '09:00-18:00 Mon-Fri' } });
    const h = harness;
    const { task } = await h.approve();
    const monday9 = Date.parse('2026-03-09T09:00:00Z');
    assert.equal(remindJob(h, task.id)!.run_at, monday9);
    advance(h, clock, 24 * HOUR); // Saturday
    await h.settle();
    assert.equal(h.reminders('U0IT1').length, 0);
    clock.t = monday9;
    h.runner.wake();
    await h.sandbox.waitFor(() => h.reminders('U0IT1').length === 1, { description: 'the Monday reminder' });
    await h.runner.whenIdle();
    assert.equal(remindJob(h, task.id)!.run_at, monday9 + HOUR);
  });
});

describe('escalation', () => {
  test('after escalateAfter reminders the IT channel gets one message, later updated in place, and resolved at done', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    harness = await startHarness({ clock, app: { reminderEvery: '1h', escalateAfter: 2 } });
    const h = harness;
    const { task } = await h.approve();
    advance(h, clock, HOUR);
    await h.sandbox.waitFor(() => h.reminders('U0IT1').length === 1, { description: 'reminder 1' });
    await h.settle();
    assert.equal(h.sandbox.messagesTo(IT_CHANNEL).length, 0);
    advance(h, clock, HOUR);
    const alert = await h.sandbox.waitFor(() => h.sandbox.messagesTo(IT_CHANNEL)[0], { description: 'the escalation' });
    await h.runner.whenIdle();
    assert.match(alert.text, new RegExp(`task #${task.id}: Onboard .* to Axure RP has been open for 2h, assigned to <@U0IT1>, with 2 reminders`));
    advance(h, clock, HOUR);
    await h.sandbox.waitFor(() => alert.text.includes('open for 3h'), { description: 'the escalation updated' });
    assert.equal(h.sandbox.messagesTo(IT_CHANNEL).length, 1);
    const updates = h.sandbox.calls.filter((c) => c.method === 'chat.update' && c.args.channel === IT_CHANNEL);
    assert.ok(updates.every((c) => c.args.ts === alert.ts));
    assert.equal((h.db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'task.escalated'").get() as { n: number }).n, 1);

    assert.ok(completeTask(h.ctx.tasks, task.id, 'U0IT2').ok, 'another assignee of the app may finish it');
    await h.sandbox.waitFor(() => alert.text.includes('Resolved'), { description: 'the escalation resolved' });
    assert.equal(h.sandbox.messagesTo(IT_CHANNEL).length, 1);
  });
});

describe('buttons', () => {
  test("a stranger's clicks are refused with an explanation and change nothing", async () => {
    harness = await startHarness();
    const h = harness;
    const { task } = await h.approve();
    for (const button of ['done', 'reassign', 'snooze', 'cant_do', 'done_note'] as const) {
      const outcome = onTaskButton(h.ctx, button, task.id, STRANGER);
      assert.ok('tell' in outcome, button);
      assert.match(outcome.tell, /Only the assignee <@U0IT1>, another Axure RP assignee \(<@U0IT2>\) or an IT admin can act on task/);
    }
    const submitted = onTaskSubmission(h.ctx, 'task_cant_do', task.id, STRANGER, { reason: { reason: { value: 'nope' } } });
    assert.ok('errors' in submitted && /Only the assignee/.test(submitted.errors.reason!));
    assert.equal(getTask(h.db, task.id)!.state, 'open');
    assert.equal(count(h, "SELECT COUNT(*) AS n FROM audit WHERE action LIKE 'task.%' AND action <> 'task.created'"), 0);
  });

  test('assignees open the modals; a double click on Mark done acts once', async () => {
    harness = await startHarness();
    const h = harness;
    const { task } = await h.approve();
    for (const button of ['reassign', 'snooze', 'cant_do', 'done_note'] as const) {
      const outcome = onTaskButton(h.ctx, button, task.id, 'U0IT2');
      assert.ok('open' in outcome, button);
      assert.deepEqual(validateView(outcome.open, 'modal'), []);
    }
    const first = onTaskButton(h.ctx, 'done', task.id, 'U0IT1');
    const second = onTaskButton(h.ctx, 'done', task.id, 'U0IT1');
    assert.deepEqual(first, { done: true });
    assert.ok('tell' in second && /already marked done by <@U0IT1>/.test(second.tell));
    assert.equal(count(h, "SELECT COUNT(*) AS n FROM audit WHERE action = 'task.done'"), 1);
  });

  test("the modals' submissions: note on done, snooze to a date and time, reassign, and can't do failing the item", async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    harness = await startHarness({ clock, timezone: 'Europe/Paris' });
    const h = harness;
    const a = await h.approve();
    const snoozed = onTaskSubmission(h.ctx, 'task_snooze', a.task.id, 'U0IT1', {
      snooze_date: { snooze_date: { selected_date: '2026-03-03' } }, snooze_time: { snooze_time: { selected_time: '09:30' } },
    });
    assert.deepEqual(snoozed, { ok: true });
    assert.equal(getTask(h.db, a.task.id)!.snoozedUntil, Date.parse('2026-03-03T08:30:00Z'), '09:30 in Paris');
    const past = onTaskSubmission(h.ctx, 'task_snooze', a.task.id, 'U0IT1', {
      snooze_date: { snooze_date: { selected_date: '2026-03-01' } }, snooze_time: { snooze_time: { selected_time: '09:30' } },
    });
    assert.ok('errors' in past);
    const same = onTaskSubmission(h.ctx, 'task_reassign', a.task.id, 'U0IT1', { assignee: { assignee: { selected_option: { value: 'U0IT1' } } } });
    assert.ok('errors' in same && /already has this task/.test(same.errors.assignee!));
    assert.deepEqual(onTaskSubmission(h.ctx, 'task_done_note', a.task.id, 'U0IT1', { note: { note: { value: 'created with SSO' } } }), { ok: true });
    assert.equal(getTask(h.db, a.task.id)!.note, 'created with SSO');

    const b = await h.approve();
    const empty = onTaskSubmission(h.ctx, 'task_cant_do', b.task.id, b.task.assignee, { reason: { reason: { value: '  ' } } });
    assert.ok('errors' in empty);
    assert.deepEqual(onTaskSubmission(h.ctx, 'task_cant_do', b.task.id, b.task.assignee, { reason: { reason: { value: 'no seats left' } } }), { ok: true });
    assert.equal(getItem(h.db, b.itemId)!.state, 'failed');
    assert.match(wordsText(getItem(h.db, b.itemId)!.detail!), /no seats left/);
    assert.equal(remindJob(h, b.task.id), undefined);
    await h.sandbox.waitFor(() => h.sandbox.messagesTo(REQUESTER).find((m) => m.text.includes('could not be done') && m.text.includes('no seats left')), {
      description: 'the requester told why',
    });
    await h.sandbox.waitFor(() => b.dm.text.startsWith("Couldn't be done"), { description: "the DM shows can't do" });
    assert.equal(cantDoTask(h.ctx.tasks, b.task.id, b.task.assignee, 'again').ok, false);
  });
});

describe('seeing the work', () => {
  test('Home shows my tasks with buttons and, for assignees, all open tasks of their apps oldest first; /access tasks lists mine', async () => {
    const clock = new FakeClock(MONDAY_10_UTC);
    harness = await startHarness({ clock });
    const h = harness;
    const first = await h.approve();
    advance(h, clock, HOUR);
    const second = await h.approve();
    assert.equal(second.task.assignee, 'U0IT2');
    advance(h, clock, HOUR);

    const home = taskHomeBlocks(h.ctx, 'U0IT1');
    assert.deepEqual(validateView({ type: 'home', blocks: home }, 'home'), []);
    const text = JSON.stringify(home);
    assert.ok(text.includes(`task_done:${first.task.id}`));
    assert.ok(!text.includes(`task_done:${second.task.id}`), "another's task has no buttons in my list");
    const team = text.slice(text.indexOf('Open tasks of my apps'));
    assert.ok(team.indexOf(`#${first.task.id}*`) < team.indexOf(`#${second.task.id}*`), 'oldest first');
    assert.match(team, /open 2h/);
    assert.deepEqual(taskHomeBlocks(h.ctx, STRANGER), [], 'no task section for people without tasks');

    assert.match(tasksCommandText(h.ctx, 'U0IT1'), new RegExp(`Your open access tasks\\* \\(1\\)[\\s\\S]*#${first.task.id}`));
    assert.match(tasksCommandText(h.ctx, STRANGER), /no open access tasks/);
    assert.equal(taskOfItem(h.db, first.itemId)!.id, first.task.id);
  });
});
