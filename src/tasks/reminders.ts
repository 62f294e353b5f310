/**
 * The reminder timetable of open tasks and when they escalate. The Slack side sends each reminder between
 * `reminderDue` (may one go out now?) and `reminderSent` (count it, schedule the next, escalate when due); the
 * decisions and their writes live here, each in a transaction.
 */
import { writeAudit } from '../db/audit.js';
import { inTransaction } from '../db/connection.js';
import { alignToHours, isWithinHours, nextReminderTime, parseReminderHours } from '../util/working-hours.js';
import { TASK_EVENT, emitTaskEvent, remindKey, taskQueue } from './events.js';
import { taskAppOf, type Task } from './model.js';
import { clearEndedSnooze, countEscalation, getTask, recordReminder, setEscalationMessage } from './repository.js';
import { announceChange, type TaskDeps } from './service.js';

type ReminderDeps = Pick<TaskDeps, 'db' | 'config' | 'clock' | 'wake'>;

function remindAgainAt(deps: ReminderDeps, taskId: number, runAt: number, now: number): void {
  emitTaskEvent(deps.db, now, TASK_EVENT.reminderDue, { taskId }, { key: remindKey(taskId), mode: 'replace', runAt });
}

/**
 * The task if a reminder should go out now; otherwise undefined, with the reminder moved where it belongs
 * (after a snooze, into the next working-hours window: the bot was down, or the job retried). A snooze that
 * has ended is cleared and the DM re-rendered, so it stops showing it.
 */
export function reminderDue(deps: ReminderDeps, taskId: number): Task | undefined {
  const now = deps.clock.now();
  return inTransaction(deps.db, () => {
    const current = getTask(deps.db, taskId);
    if (!current || current.state !== 'open') return undefined;
    const app = taskAppOf(deps.config, current.appId);
    if (!app) return undefined;
    const hours = parseReminderHours(app.reminderHours);
    if (current.snoozedUntil !== null && current.snoozedUntil > now) {
      remindAgainAt(deps, taskId, alignToHours(current.snoozedUntil, hours, deps.config.timezone), now);
      return undefined;
    }
    if (clearEndedSnooze(deps.db, taskId, now)) announceChange(deps, taskId, now);
    if (hours && !isWithinHours(now, hours, deps.config.timezone)) {
      remindAgainAt(deps, taskId, alignToHours(now, hours, deps.config.timezone), now);
      return undefined;
    }
    return current;
  });
}

/** Read again right before sending: a done click or a snooze during the last round trip stops the reminder. */
export function stillDue(deps: Pick<TaskDeps, 'db' | 'clock'>, taskId: number): Task | undefined {
  const fresh = getTask(deps.db, taskId);
  if (!fresh || fresh.state !== 'open' || (fresh.snoozedUntil !== null && fresh.snoozedUntil > deps.clock.now())) return undefined;
  return fresh;
}

/**
 * Counts a reminder sent at `at` (only if the task is still open) and schedules the next from then, not from
 * when this one was due, so after downtime the overdue reminder goes out once. Enough reminders without
 * progress escalate.
 */
export function reminderSent(deps: ReminderDeps, taskId: number, at: number): void {
  inTransaction(deps.db, () => {
    if (!recordReminder(deps.db, taskId, at)) return;
    const task = getTask(deps.db, taskId)!;
    const app = taskAppOf(deps.config, task.appId);
    if (!app) return;
    remindAgainAt(deps, taskId, nextReminderTime(at, app.reminderEvery, parseReminderHours(app.reminderHours), deps.config.timezone), at);
    if (task.remindersSinceProgress >= app.escalateAfter) {
      emitTaskEvent(deps.db, at, TASK_EVENT.escalated, { taskId }, { key: `task-escalate:${taskId}`, mode: 'coalesce', queue: taskQueue(taskId) });
    }
  });
  deps.wake();
}

/** A reminder that kept failing must not end the chain: the next one is a full interval away. */
export function reminderGaveUp(deps: ReminderDeps, taskId: number): void {
  const task = getTask(deps.db, taskId);
  const app = task && taskAppOf(deps.config, task.appId);
  if (!task || task.state !== 'open' || !app) return;
  const now = deps.clock.now();
  remindAgainAt(deps, taskId, nextReminderTime(now, app.reminderEvery, parseReminderHours(app.reminderHours), deps.config.timezone), now);
  deps.wake();
}

/** An escalation message was updated in place: one more escalation of the same task. */
export function escalationRepeated(deps: Pick<TaskDeps, 'db'>, taskId: number): void {
  countEscalation(deps.db, taskId);
}

/** The first escalation was posted: where it landed, counted and audited together. */
export function escalationPosted(deps: Pick<TaskDeps, 'db' | 'clock'>, task: Task, channel: string, ts: string): void {
  const now = deps.clock.now();
  inTransaction(deps.db, () => {
    setEscalationMessage(deps.db, task.id, channel, ts);
    countEscalation(deps.db, task.id);
    writeAudit(deps.db, now, {
      actor: 'accessbot', action: 'task.escalated', requestId: task.requestId, itemId: task.itemId, appId: task.appId,
      detail: { taskId: task.id, assignee: task.assignee, reminders: task.remindersSinceProgress, channel },
    });
  });
}
