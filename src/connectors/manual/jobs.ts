/**
 * The durable jobs behind a task's Slack messages. They read the task afresh when they run, so a job that
 * outlived a change (a reassign, a done click) acts on the current state or does nothing.
 */
import type { AppContext } from '../../context.js';
import { writeAudit } from '../../db/audit.js';
import { inTransaction } from '../../db/connection.js';
import { PermanentError, RetryAt } from '../../jobs/errors.js';
import { enqueue } from '../../jobs/queue.js';
import type { JobRunner } from '../../jobs/runner.js';
import { formatDuration } from '../../util/duration.js';
import { formatInstant } from '../../util/time.js';
import { escalationMessage, handedOverMessage, reminderMessage, taskMessage } from '../../slack/tasks/blocks.js';
import { clearEndedSnooze, countEscalation, getTask, recordReminder, setEscalationMessage, setTaskMessage, type Task } from './repository.js';
import { alignToHours, isWithinHours, nextReminderTime, parseReminderHours } from './schedule.js';
import { TASK_JOB, cardOf, manualAppOf, remindKey, taskQueue, taskTitleText } from './service.js';

/** Slack's rate limit becomes a retry at the time Slack names, without spending an attempt. */
async function slack<T>(ctx: AppContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const retryAfter = (error as { retryAfter?: number }).retryAfter;
    if (typeof retryAfter === 'number') throw new RetryAt(ctx.clock.now() + retryAfter * 1000, `Slack rate limit: retry after ${retryAfter}s`);
    const code = (error as { data?: { error?: string } }).data?.error;
    // These will not get better by retrying: the message or channel is gone.
    if (code === 'message_not_found' || code === 'channel_not_found' || code === 'cant_update_message') throw new PermanentError(`slack: ${code}`, code);
    throw error;
  }
}

async function permalink(ctx: AppContext, task: Task): Promise<string | undefined> {
  if (!task.messageChannel || !task.messageTs) return undefined;
  try {
    const result = await ctx.slack.chat.getPermalink({ channel: task.messageChannel, message_ts: task.messageTs });
    return result.permalink;
  } catch (error) {
    ctx.log.warn('no permalink for task message; reminder goes without a link', { taskId: task.id, error });
    return undefined;
  }
}

function escalationOf(ctx: AppContext, task: Task, now: number) {
  return escalationMessage({
    taskId: task.id, title: taskTitleText(ctx.config, task), assignee: task.assignee, ageText: formatDuration(Math.max(0, now - task.createdAt)),
    reminders: task.remindersSinceProgress, state: task.state, closedBy: task.closedBy ?? undefined,
  });
}

async function postTask(ctx: AppContext, { taskId, assignee }: { taskId: number; assignee: string }): Promise<void> {
  const task = getTask(ctx.db, taskId);
  // Reassigned before this ran, or already posted by an earlier attempt that stored its ts.
  if (!task || task.assignee !== assignee || task.messageTs) return;
  const rendered = taskMessage(cardOf(ctx.config, task, ctx.clock.now()));
  const posted = await slack(ctx, () => ctx.slack.chat.postMessage({ channel: assignee, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
  if (!posted.channel || !posted.ts) throw new Error('slack: chat.postMessage returned no channel or ts');
  setTaskMessage(ctx.db, taskId, assignee, posted.channel, posted.ts);
}

interface Handover { channel: string; ts: string; to: string; by: string; at: number }

async function renderTask(ctx: AppContext, { taskId, handover }: { taskId: number; handover?: Handover }): Promise<void> {
  const task = getTask(ctx.db, taskId);
  if (!task) return;
  const now = ctx.clock.now();
  const card = cardOf(ctx.config, task, now);
  if (handover) {
    const rendered = handedOverMessage(card, handover.to, handover.by, formatInstant(handover.at, ctx.config.timezone));
    await slack(ctx, () => ctx.slack.chat.update({ channel: handover.channel, ts: handover.ts, text: rendered.text, blocks: rendered.blocks }));
    return;
  }
  if (task.messageChannel && task.messageTs) {
    const rendered = taskMessage(card);
    await slack(ctx, () => ctx.slack.chat.update({ channel: task.messageChannel!, ts: task.messageTs!, text: rendered.text, blocks: rendered.blocks }));
  }
  // A closed task's escalation says so, so the IT channel is not left with a stale alarm.
  if (task.state !== 'open' && task.escalationChannel && task.escalationTs) {
    const rendered = escalationOf(ctx, task, task.closedAt ?? now);
    await slack(ctx, () => ctx.slack.chat.update({ channel: task.escalationChannel!, ts: task.escalationTs!, text: rendered.text, blocks: rendered.blocks }));
  }
}

/**
 * Sends one reminder and schedules the next from now (not from when this one was due), so after downtime
 * the overdue reminder goes out once. The state is read in a transaction before sending and the reminder is
 * counted only if the task is still open after, so a task marked done in the meantime gets no reminder.
 */
async function remind(ctx: AppContext, { taskId }: { taskId: number }): Promise<void> {
  const now = ctx.clock.now();
  const task = inTransaction(ctx.db, () => {
    const current = getTask(ctx.db, taskId);
    if (!current || current.state !== 'open') return undefined;
    const app = manualAppOf(ctx.config, current.appId);
    if (!app) return undefined;
    if (current.snoozedUntil !== null && current.snoozedUntil > now) {
      const runAt = alignToHours(current.snoozedUntil, parseReminderHours(app.reminderHours), ctx.config.timezone);
      enqueue(ctx.db, now, TASK_JOB.remind, { taskId }, { key: remindKey(taskId), mode: 'replace', runAt });
      return undefined;
    }
    if (clearEndedSnooze(ctx.db, taskId, now)) {
      enqueue(ctx.db, now, TASK_JOB.render, { taskId }, { key: `task-render:${taskId}`, mode: 'coalesce', queue: taskQueue(taskId) });
    }
    // Due inside the hours but run outside them (the bot was down, or the job retried): wait for the next window.
    const hours = parseReminderHours(app.reminderHours);
    if (hours && !isWithinHours(now, hours, ctx.config.timezone)) {
      enqueue(ctx.db, now, TASK_JOB.remind, { taskId }, { key: remindKey(taskId), mode: 'replace', runAt: alignToHours(now, hours, ctx.config.timezone) });
      return undefined;
    }
    return current;
  });
  if (!task) return;
  const link = await permalink(ctx, task);
  // The permalink took a round trip: look again so a done click during it still stops this reminder.
  const fresh = getTask(ctx.db, taskId);
  if (!fresh || fresh.state !== 'open' || (fresh.snoozedUntil !== null && fresh.snoozedUntil > ctx.clock.now())) return;
  const rendered = reminderMessage(cardOf(ctx.config, fresh, now), link);
  await slack(ctx, () => ctx.slack.chat.postMessage({ channel: fresh.assignee, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
  inTransaction(ctx.db, () => {
    if (!recordReminder(ctx.db, taskId, now)) return;
    const app = manualAppOf(ctx.config, fresh.appId)!;
    const next = nextReminderTime(now, app.reminderEvery, parseReminderHours(app.reminderHours), ctx.config.timezone);
    enqueue(ctx.db, now, TASK_JOB.remind, { taskId }, { key: remindKey(taskId), mode: 'replace', runAt: next });
    const after = getTask(ctx.db, taskId)!;
    if (after.remindersSinceProgress >= app.escalateAfter) {
      enqueue(ctx.db, now, TASK_JOB.escalate, { taskId }, { key: `task-escalate:${taskId}`, mode: 'coalesce', queue: taskQueue(taskId) });
    }
  });
  ctx.wake();
}

/** The first escalation posts to the IT channel; later ones update that same message. */
async function escalate(ctx: AppContext, { taskId }: { taskId: number }): Promise<void> {
  const task = getTask(ctx.db, taskId);
  if (!task) return;
  const now = ctx.clock.now();
  const rendered = escalationOf(ctx, task, now);
  if (task.escalationChannel && task.escalationTs) {
    await slack(ctx, () => ctx.slack.chat.update({ channel: task.escalationChannel!, ts: task.escalationTs!, text: rendered.text, blocks: rendered.blocks }));
    countEscalation(ctx.db, taskId);
    return;
  }
  if (task.state !== 'open') return;
  const posted = await slack(ctx, () => ctx.slack.chat.postMessage({ channel: ctx.config.itChannel, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
  if (!posted.channel || !posted.ts) throw new Error('slack: chat.postMessage returned no channel or ts');
  inTransaction(ctx.db, () => {
    setEscalationMessage(ctx.db, taskId, posted.channel!, posted.ts!);
    countEscalation(ctx.db, taskId);
    writeAudit(ctx.db, now, {
      actor: 'accessbot', action: 'task.escalated', requestId: task.requestId, itemId: task.itemId, appId: task.appId,
      detail: { taskId, assignee: task.assignee, reminders: task.remindersSinceProgress, channel: posted.channel },
    });
  });
}

const registered = new WeakSet<JobRunner>();

/** Idempotent per runner: the core may hold one connector object per manual app. */
export function registerTaskJobs(runner: JobRunner, ctx: AppContext): void {
  if (registered.has(runner)) return;
  registered.add(runner);
  runner.register(TASK_JOB.post, { run: (payload) => postTask(ctx, payload) });
  runner.register(TASK_JOB.render, {
    run: (payload) => renderTask(ctx, payload),
  });
  runner.register(TASK_JOB.remind, {
    run: (payload) => remind(ctx, payload),
    // A reminder that keeps failing must not end the chain: try again at the next interval.
    onGiveUp: ({ taskId: id }) => {
      const task = getTask(ctx.db, id);
      const app = task && manualAppOf(ctx.config, task.appId);
      if (!task || task.state !== 'open' || !app) return;
      const now = ctx.clock.now();
      enqueue(ctx.db, now, TASK_JOB.remind, { taskId: id }, { key: remindKey(id), mode: 'replace', runAt: nextReminderTime(now, app.reminderEvery, parseReminderHours(app.reminderHours), ctx.config.timezone) });
      ctx.wake();
    },
  });
  runner.register(TASK_JOB.escalate, { run: (payload) => escalate(ctx, payload) });
}
