/**
 * The Slack side of the task notices (src/tasks/events.ts): each posts or re-renders a message. They read the
 * task afresh when they run, so a job that outlived a change (a reassign, a done click) acts on the current
 * state or does nothing. What is decided and written about the task is src/tasks' work.
 */
import type { AppContext } from '../../context.js';
import type { JobRunner } from '../../jobs/runner.js';
import { TASK_EVENT, type TaskEventPayload } from '../../tasks/events.js';
import { escalationPosted, escalationRepeated, reminderDue, reminderGaveUp, reminderSent, stillDue } from '../../tasks/reminders.js';
import type { Task } from '../../tasks/model.js';
import { findTask, taskMessagePosted } from '../../tasks/service.js';
import { formatDuration } from '../../util/duration.js';
import { escapeMrkdwn, mention, mrkdwn } from '../../util/mrkdwn.js';
import { formatInstant } from '../../util/time.js';
import { slackJobCall } from '../errors.js';
import { escalationMessage, handedOverMessage, reminderMessage, taskMessage } from './blocks.js';
import { cardOf, taskTitleText } from './card.js';

/** Every Slack call of these jobs; a message or channel that is gone fails the job for good. */
const slack = <T>(ctx: AppContext, call: () => Promise<T>): Promise<T> => slackJobCall(ctx, call, 'slack');

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

async function postTask(ctx: AppContext, { taskId, assignee }: TaskEventPayload<typeof TASK_EVENT.assigned.kind>): Promise<void> {
  const task = findTask(ctx, taskId);
  // Reassigned before this ran, or already posted by an earlier attempt that stored its ts.
  if (!task || task.assignee !== assignee || task.messageTs) return;
  const rendered = taskMessage(cardOf(ctx.config, task, ctx.clock.now()));
  const posted = await slack(ctx, () => ctx.slack.chat.postMessage({ channel: assignee, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
  if (!posted.channel || !posted.ts) throw new Error('slack: chat.postMessage returned no channel or ts');
  taskMessagePosted(ctx, taskId, assignee, posted.channel, posted.ts);
}

async function renderTask(ctx: AppContext, { taskId, handover }: TaskEventPayload<typeof TASK_EVENT.changed.kind>): Promise<void> {
  const task = findTask(ctx, taskId);
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
 * Sends one reminder when src/tasks says one is due, then reports it sent (which schedules the next one from
 * now, so after downtime the overdue reminder goes out once). A done click during the permalink's round trip
 * still stops it: the task is read again right before sending.
 */
async function remind(ctx: AppContext, { taskId }: TaskEventPayload<typeof TASK_EVENT.reminderDue.kind>): Promise<void> {
  const now = ctx.clock.now();
  const task = reminderDue(ctx, taskId);
  if (!task) return;
  const link = await permalink(ctx, task);
  const fresh = stillDue(ctx, taskId);
  if (!fresh) return;
  const rendered = reminderMessage(cardOf(ctx.config, fresh, now), link);
  await slack(ctx, () => ctx.slack.chat.postMessage({ channel: fresh.assignee, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
  reminderSent(ctx, taskId, now);
}

/** Tells the assignee a task they had is no longer needed; the task DM itself is re-rendered by `changed`. */
async function withdrawn(ctx: AppContext, { taskId, by }: TaskEventPayload<typeof TASK_EVENT.withdrawn.kind>): Promise<void> {
  const task = findTask(ctx, taskId);
  if (!task) return;
  const text = mrkdwn`Task #${task.id} (${taskTitleText(ctx.config, task)}) is withdrawn: ${mention(by)} cancelled request ${escapeMrkdwn(task.requestId)}. Nothing more to do.`;
  await slack(ctx, () => ctx.slack.chat.postMessage({ channel: task.assignee, text }));
}

/** The first escalation posts to the IT channel; later ones update that same message. */
async function escalate(ctx: AppContext, { taskId }: TaskEventPayload<typeof TASK_EVENT.escalated.kind>): Promise<void> {
  const task = findTask(ctx, taskId);
  if (!task) return;
  const now = ctx.clock.now();
  const rendered = escalationOf(ctx, task, now);
  if (task.escalationChannel && task.escalationTs) {
    await slack(ctx, () => ctx.slack.chat.update({ channel: task.escalationChannel!, ts: task.escalationTs!, text: rendered.text, blocks: rendered.blocks }));
    escalationRepeated(ctx, taskId);
    return;
  }
  if (task.state !== 'open') return;
  const posted = await slack(ctx, () => ctx.slack.chat.postMessage({ channel: ctx.config.itChannel, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
  if (!posted.channel || !posted.ts) throw new Error('slack: chat.postMessage returned no channel or ts');
  escalationPosted(ctx, task, posted.channel, posted.ts);
}

const registered = new WeakSet<JobRunner>();

/** Idempotent per runner: every app's tasks share these handlers. */
export function registerTaskJobs(runner: JobRunner, ctx: AppContext): void {
  if (registered.has(runner)) return;
  registered.add(runner);
  runner.register(TASK_EVENT.assigned, { run: (payload) => postTask(ctx, payload) });
  runner.register(TASK_EVENT.changed, { run: (payload) => renderTask(ctx, payload) });
  runner.register(TASK_EVENT.reminderDue, {
    run: (payload) => remind(ctx, payload),
    onGiveUp: ({ taskId }) => reminderGaveUp(ctx, taskId),
  });
  runner.register(TASK_EVENT.escalated, { run: (payload) => escalate(ctx, payload) });
  runner.register(TASK_EVENT.withdrawn, { run: (payload) => withdrawn(ctx, payload) });
}
