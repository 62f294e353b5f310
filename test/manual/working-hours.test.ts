/** Reminders keep to reminderHours even when the bot comes back from downtime in the middle of the night. */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { FakeClock, HOUR, MONDAY_10_UTC, startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const remindJob = (h: Harness, taskId: number) =>
  h.db.prepare("SELECT run_at FROM jobs WHERE key = ? AND state = 'queued'").get(`task-remind:${taskId}`) as { run_at: number } | undefined;

test('a reminder that came due while the bot was down waits for the next working-hours window, then goes out once', async () => {
  const clock = new FakeClock(MONDAY_10_UTC);
  harness = await startHarness({ clock, app: { reminderEvery: '1h', reminderHours: '09:00-18:00 Mon-Fri', escalateAfter: 10 } });
  const h = harness;
  const { task } = await h.approve();
  assert.equal(remindJob(h, task.id)!.run_at, MONDAY_10_UTC + HOUR, 'due at 11:00, inside the hours');
  await h.runner.stop();
  clock.t = Date.parse('2026-03-02T23:10:00Z'); // back at ten past eleven at night
  await h.restart();
  const tuesday9 = Date.parse('2026-03-03T09:00:00Z');
  await h.settle();
  // The overdue job has run (it moved itself to the morning), so "no reminder" is its decision, not a look too early.
  assert.equal(remindJob(h, task.id)?.run_at, tuesday9, 'the reminder moved to Tuesday 09:00');
  assert.equal(h.reminders('U0IT1').length, 0, 'nobody is reminded at night');
  clock.t = tuesday9;
  h.runner.wake();
  await h.sandbox.waitFor(() => h.reminders('U0IT1').length === 1, { description: 'the catch-up reminder at 09:00' });
  await h.runner.whenIdle();
  assert.equal(remindJob(h, task.id)!.run_at, tuesday9 + HOUR, 'then the regular interval');
});
