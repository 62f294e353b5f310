/**
 * Manual tasks: creation with balanced assignment, and the person's actions on them (done, can't do,
 * reassign, snooze). Each operation is one transaction that writes the change, its audit row and the jobs
 * for its Slack side effects; closing is a compare-and-set, so of two clicks exactly one acts.
 */
import { z } from 'zod';
import { isProtectedEmail, type ManualAppConfig, type AccessConfig } from '../../config.js';
import type { AppContext } from '../../context.js';
import { writeAudit } from '../../db/audit.js';
import { inTransaction, type Db } from '../../db/connection.js';
import { PermanentError } from '../../jobs/errors.js';
import { defineJob } from '../../jobs/kinds.js';
import { cancelJobs, enqueue } from '../../jobs/queue.js';
import { subjectLabel } from '../../requests/model.js';
import { getItem } from '../../requests/repository.js';
import { refreshHomes, sendDm } from '../../requests/service.js';
import { formatDuration } from '../../util/duration.js';
import { escapeMrkdwn, mention, mrkdwn, trustedMrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';
import { formatInstant } from '../../util/time.js';
import type { TaskCard } from '../../slack/tasks/blocks.js';
import type { FulfillmentItem, Outcome } from '../types.js';
import {
  closeTask, getTask, insertTask, lastAssignee, openCounts, reassignTaskRow, reopenTask, setLastAssignee, snoozeTaskRow, taskOfItem, type Task,
} from './repository.js';
import { alignToHours, nextReminderTime, parseReminderHours } from './schedule.js';
import { roleFor, stepsFor } from './steps.js';

const taskId = z.number().int().positive();
const taskPayloads = {
  post: z.object({ taskId, assignee: z.string().min(1) }),
  render: z.object({
    taskId,
    handover: z.object({ channel: z.string(), ts: z.string(), to: z.string(), by: z.string(), at: z.number() }).optional(),
  }),
  task: z.object({ taskId }),
};
declare module '../../jobs/kinds.js' {
  interface JobPayloads {
    'task.post': z.infer<typeof taskPayloads.post>;
    'task.render': z.infer<typeof taskPayloads.render>;
    'task.remind': z.infer<typeof taskPayloads.task>;
    'task.escalate': z.infer<typeof taskPayloads.task>;
  }
}

export const TASK_JOB = {
  /** Post the task DM to its current assignee and store where it landed. */
  post: defineJob('task.post', taskPayloads.post),
  /** Re-render the task DM (and its escalation) from the database, or mark an old DM as handed over. */
  render: defineJob('task.render', taskPayloads.render),
  /** One reminder; it schedules the next one itself. */
  remind: defineJob('task.remind', taskPayloads.task),
  /** Post or update the task's one escalation message in the IT channel. */
  escalate: defineJob('task.escalate', taskPayloads.task),
} as const;

export const remindKey = (taskId: number) => `task-remind:${taskId}`;
/** Post, render and escalate of one task run one at a time, in order, so a render never races the post. */
export const taskQueue = (taskId: number) => `task:${taskId}`;

export function manualAppOf(config: AccessConfig, appId: string): ManualAppConfig | undefined {
  const app = config.apps.find((candidate) => candidate.id === appId);
  return app?.connector === 'manual' ? app : undefined;
}

type TaskPeople = Pick<AppContext, 'config' | 'itAdmins'>;

/** The person a task is about: never its assignee, never one who acts on it. */
function subjectOf(task: Pick<Task, 'item'>): string | null {
  return task.item.subject.slackId;
}

/**
 * People who may act on a task: its assignee, every assignee of its app and the IT admins (the team behind
 * them), except the person the task is about: nobody closes their own offboarding.
 */
export function taskActors(ctx: TaskPeople, task: Task): string[] {
  const people = [task.assignee, ...(manualAppOf(ctx.config, task.appId)?.assignees ?? []), ...ctx.itAdmins.members()];
  return [...new Set(people)].filter((person) => person !== subjectOf(task));
}

/** Whom Reassign offers, and the only people a submitted Reassign may name. */
export function reassignCandidates(ctx: TaskPeople, task: Task): string[] {
  return taskActors(ctx, task).filter((person) => person !== task.assignee);
}

/**
 * The fewest open tasks wins; ties go in turn, starting after whoever got the app's last task,
 * so equal workloads still rotate (the turn is stored, so a restart does not start over). Nobody is given a
 * task about themselves: without another assignee, an IT admin (`fallback`) who is not the subject takes it;
 * undefined when there is nobody at all.
 */
export function pickAssignee(
  db: Db, app: Pick<ManualAppConfig, 'id' | 'assignees'>, subject: string | null = null, fallback: readonly string[] = [],
): string | undefined {
  const assignees = [...new Set(app.assignees)].filter((person) => person !== subject);
  const people = assignees.length ? assignees : [...new Set(fallback)].filter((person) => person !== subject);
  if (people.length === 0) return undefined;
  const counts = openCounts(db, people);
  const fewest = Math.min(...people.map((person) => counts.get(person) ?? 0));
  const last = lastAssignee(db, app.id);
  const start = last === undefined ? 0 : people.indexOf(last) + 1;
  for (let i = 0; i < people.length; i++) {
    const person = people[(start + i) % people.length]!;
    if ((counts.get(person) ?? 0) === fewest) return person;
  }
  return people[0]!;
}

/** The name as typed, or the e-mail: plain text, escaped where it is put into the steps. */
function subjectName(item: FulfillmentItem): string {
  return [item.subject.firstName, item.subject.lastName].filter(Boolean).join(' ') || item.subject.email;
}

export function taskTitleText(config: AccessConfig, task: Task): Mrkdwn {
  const appName = escapeMrkdwn(manualAppOf(config, task.appId)?.name ?? task.appId);
  return mrkdwn`${task.kind === 'onboard' ? mrkdwn`Onboard` : mrkdwn`Offboard`} ${subjectLabel(task.item.subject)} ${task.kind === 'onboard' ? mrkdwn`to` : mrkdwn`from`} ${appName}`;
}

/** Everything the task's messages show, worked out from the row and the config. */
export function cardOf(config: AccessConfig, task: Task, now: number): TaskCard {
  const app = manualAppOf(config, task.appId);
  const appName = app?.name ?? task.appId;
  const role = app ? roleFor(app, task.item.options.role) : task.item.options.role;
  const steps = stepsFor(app ?? { id: task.appId, name: appName }, task.kind, {
    app: appName, email: task.item.subject.email, name: subjectName(task.item), role: role ?? 'the default role',
  });
  const tz = config.timezone;
  return {
    taskId: task.id, requestId: task.requestId, appName, kind: task.kind, subject: subjectLabel(task.item.subject), email: task.item.subject.email,
    role, requesterId: task.item.requesterId, approvedBy: task.item.approvedBy, dueDate: task.item.effectiveDate, justification: task.item.justification,
    steps, assignee: task.assignee, state: task.state, createdAtText: formatInstant(task.createdAt, tz), ageText: formatDuration(Math.max(0, now - task.createdAt)),
    snoozedUntilText: task.snoozedUntil !== null && task.snoozedUntil > now ? formatInstant(task.snoozedUntil, tz) : undefined,
    closedBy: task.closedBy ?? undefined, closedAtText: task.closedAt !== null ? formatInstant(task.closedAt, tz) : undefined, note: task.note ?? undefined,
  };
}

function scheduleReminder(ctx: AppContext, app: ManualAppConfig, taskId: number, runAt: number, now: number): void {
  enqueue(ctx.db, now, TASK_JOB.remind, { taskId }, { key: remindKey(taskId), mode: 'replace', runAt });
}

export function firstReminderAt(ctx: AppContext, app: ManualAppConfig, from: number): number {
  return nextReminderTime(from, app.reminderEvery, parseReminderHours(app.reminderHours), ctx.config.timezone);
}

function postTaskMessage(ctx: AppContext, taskId: number, assignee: string, now: number): void {
  // One post per assignment: the key names the assignee and the moment, so a reassign back posts again.
  enqueue(ctx.db, now, TASK_JOB.post, { taskId, assignee }, { key: `task-post:${taskId}:${assignee}:${now}`, queue: taskQueue(taskId) });
}

function renderTask(ctx: AppContext, taskId: number, now: number): void {
  enqueue(ctx.db, now, TASK_JOB.render, { taskId }, { key: `task-render:${taskId}`, mode: 'coalesce', queue: taskQueue(taskId) });
}

/**
 * Creates the item's task, or returns the existing one: the fulfillment job may run twice after a crash.
 * A task closed with "Can't do" whose item was retried is reopened as a new assignment.
 */
export function assignTask(ctx: AppContext, item: FulfillmentItem): Outcome {
  const app = manualAppOf(ctx.config, item.appId);
  // Retrying cannot fix the config: fail the item now, with a reason IT can act on.
  if (!app) throw new PermanentError(`manual: app "${item.appId}" is not configured as a manual app`);
  const now = ctx.clock.now();
  const outcome = inTransaction(ctx.db, (): Outcome => {
    const existing = taskOfItem(ctx.db, item.itemId);
    if (existing?.state === 'open') return { state: 'in_progress', detail: { mrkdwn: mrkdwn`task assigned to ${mention(existing.assignee)}` } };
    if (existing?.state === 'done') return { state: 'completed', detail: { mrkdwn: mrkdwn`done by ${mention(existing.closedBy ?? '')}` } };
    // Cancelled between the job's start and here: no task for work nobody wants any more.
    const current = getItem(ctx.db, item.itemId);
    if (current && current.state !== 'in_progress') return { state: 'in_progress', detail: { mrkdwn: trustedMrkdwn(current.detail ?? current.state) } };
    // Checked here, just before the task exists, whatever intake let through: a protected account is never changed.
    if (isProtectedEmail(ctx.config, item.subject.email)) {
      throw new PermanentError(`${item.subject.email} is a protected account (protectedEmails): accessbot never creates a task to change it; nothing was changed`, 'protected');
    }
    const assignee = pickAssignee(ctx.db, app, item.subject.slackId, ctx.itAdmins.members());
    if (!assignee) {
      throw new PermanentError(`nobody may take this task: every ${app.name} assignee and IT admin is the person it is about`, 'no_assignee');
    }
    let taskId: number;
    if (existing) {
      reopenTask(ctx.db, existing.id, item, assignee, now);
      taskId = existing.id;
    } else {
      taskId = insertTask(ctx.db, item, assignee, now);
    }
    setLastAssignee(ctx.db, app.id, assignee);
    postTaskMessage(ctx, taskId, assignee, now);
    scheduleReminder(ctx, app, taskId, firstReminderAt(ctx, app, now), now);
    writeAudit(ctx.db, now, {
      actor: 'accessbot', action: existing ? 'task.reopened' : 'task.created', requestId: item.requestId, itemId: item.itemId, appId: item.appId,
      toState: 'open', detail: { taskId, assignee, kind: item.kind },
    });
    refreshHomes(ctx, taskActors(ctx, getTask(ctx.db, taskId)!));
    return { state: 'in_progress', detail: { mrkdwn: mrkdwn`task assigned to ${mention(assignee)}` } };
  });
  ctx.wake();
  return outcome;
}

export type TaskRefusal = { ok: false; reason: 'not_found' | 'not_allowed' | 'closed' | 'invalid'; message: string };
export type TaskResult = { ok: true; task: Task } | TaskRefusal;

function closedText(task: Task, tz: string): string {
  const when = task.closedAt !== null ? ` on ${formatInstant(task.closedAt, tz)}` : '';
  if (task.state === 'done') return `Nothing to do: task #${task.id} was already marked done by <@${task.closedBy}>${when}.`;
  if (task.state === 'cancelled') return `Nothing to do: task #${task.id} was withdrawn${when}: <@${task.closedBy}> cancelled its request.`;
  return `Nothing to do: task #${task.id} was already closed as "can't do" by <@${task.closedBy}>${when}.`;
}

/** Whether this person may act on the task now; the refusal says why in words for them. */
export function authorizeTaskAction(ctx: Pick<AppContext, 'db' | 'config' | 'itAdmins'>, taskId: number, actor: string): TaskResult {
  const task = getTask(ctx.db, taskId);
  if (!task) return { ok: false, reason: 'not_found', message: `Task #${taskId} no longer exists.` };
  if (actor === subjectOf(task)) {
    return { ok: false, reason: 'not_allowed', message: `Task #${task.id} is about your own access, so you can't act on it. Another assignee or an IT admin will. Nothing was changed.` };
  }
  if (!taskActors(ctx, task).includes(actor)) {
    const app = manualAppOf(ctx.config, task.appId);
    const others = (app?.assignees ?? []).filter((a) => a !== task.assignee && a !== subjectOf(task));
    return {
      ok: false, reason: 'not_allowed',
      message: `Only the assignee <@${task.assignee}>, another ${app?.name ?? task.appId} assignee (${others.map((a) => `<@${a}>`).join(', ') || 'none'}) or an IT admin can act on task #${task.id}. Nothing was changed.`,
    };
  }
  if (task.state !== 'open') return { ok: false, reason: 'closed', message: closedText(task, ctx.config.timezone) };
  return { ok: true, task };
}

/** Runs `change` in one transaction after checking the actor; the caller's compare-and-set decides races. */
function act(ctx: AppContext, taskId: number, actor: string, change: (task: Task, now: number) => TaskRefusal | undefined): TaskResult {
  const now = ctx.clock.now();
  const result = inTransaction(ctx.db, (): TaskResult => {
    const check = authorizeTaskAction(ctx, taskId, actor);
    if (!check.ok) return check;
    const refused = change(check.task, now);
    if (refused) return refused;
    return { ok: true, task: getTask(ctx.db, taskId)! };
  });
  ctx.wake();
  return result;
}

function closedMeanwhile(ctx: AppContext, taskId: number): TaskRefusal {
  const task = getTask(ctx.db, taskId)!;
  return { ok: false, reason: 'closed', message: closedText(task, ctx.config.timezone) };
}

/**
 * Closing a task, either way: compare-and-set on its state, reminders cancelled in the same transaction (a
 * reminder already running re-checks the state before sending), audit, the item reported, the DM re-rendered.
 */
function closeAndReport(
  ctx: AppContext, task: Task, now: number, actor: string, state: 'done' | 'cant_do', text: string | null,
  auditDetail: Record<string, unknown>, reportItem: () => void,
): TaskRefusal | undefined {
  if (!closeTask(ctx.db, task.id, state, actor, text, now)) return closedMeanwhile(ctx, task.id);
  cancelJobs(ctx.db, now, remindKey(task.id));
  writeAudit(ctx.db, now, {
    actor, action: `task.${state}`, requestId: task.requestId, itemId: task.itemId, appId: task.appId, fromState: 'open', toState: state,
    detail: { taskId: task.id, assignee: task.assignee, ...auditDetail },
  });
  reportItem();
  renderTask(ctx, task.id, now);
  refreshHomes(ctx, taskActors(ctx, task));
  return undefined;
}

/** Done: the item completes (the core tells the requester) and the DM loses its buttons. */
export function completeTask(ctx: AppContext, taskId: number, actor: string, note?: string): TaskResult {
  const cleanNote = note?.trim() || null;
  return act(ctx, taskId, actor, (task, now) =>
    closeAndReport(ctx, task, now, actor, 'done', cleanNote, { note: cleanNote }, () =>
      ctx.progress.complete(task.itemId, { mrkdwn: mrkdwn`done by ${mention(actor)}${cleanNote ? mrkdwn`: ${escapeMrkdwn(cleanNote)}` : mrkdwn``}` }, actor)));
}

/** Can't do: the item fails with the reason (the core tells the requester and alerts IT). */
export function cantDoTask(ctx: AppContext, taskId: number, actor: string, reason: string): TaskResult {
  const why = reason.trim();
  if (!why) return { ok: false, reason: 'invalid', message: 'Please give a reason.' };
  return act(ctx, taskId, actor, (task, now) =>
    closeAndReport(ctx, task, now, actor, 'cant_do', why, { reason: why }, () => ctx.progress.fail(task.itemId, { mrkdwn: mrkdwn`${mention(actor)} could not do it: ${escapeMrkdwn(why)}` }, actor)));
}

/** Hands the task to someone else: the old DM is marked handed over, a new DM goes out, reminders follow. */
export function reassignTask(ctx: AppContext, taskId: number, actor: string, to: string): TaskResult {
  return act(ctx, taskId, actor, (task, now) => {
    if (to === task.assignee) return { ok: false, reason: 'invalid', message: `<@${to}> already has this task.` };
    const app = manualAppOf(ctx.config, task.appId);
    // The modal offers only these people; a submission naming anyone else was not made by that modal.
    if (!reassignCandidates(ctx, task).includes(to)) {
      return { ok: false, reason: 'invalid', message: `That person can't take this task: only ${app?.name ?? task.appId} assignees and IT admins (never the person it is about) can. Nothing was changed.` };
    }
    if (!reassignTaskRow(ctx.db, task.id, task.assignee, to, now)) return { ok: false, reason: 'closed', message: `Task #${task.id} changed meanwhile; please try again.` };
    if (task.messageChannel && task.messageTs) {
      const old = { channel: task.messageChannel, ts: task.messageTs, to, by: actor, at: now };
      enqueue(ctx.db, now, TASK_JOB.render, { taskId: task.id, handover: old }, { key: `task-handover:${task.id}:${task.messageTs}`, queue: taskQueue(task.id) });
    }
    postTaskMessage(ctx, task.id, to, now);
    if (app) scheduleReminder(ctx, app, task.id, firstReminderAt(ctx, app, Math.max(now, task.snoozedUntil ?? 0)), now);
    writeAudit(ctx.db, now, {
      actor, action: 'task.reassigned', requestId: task.requestId, itemId: task.itemId, appId: task.appId, detail: { taskId: task.id, from: task.assignee, to },
    });
    ctx.progress.update(task.itemId, { mrkdwn: mrkdwn`task assigned to ${mention(to)}` }, actor);
    refreshHomes(ctx, [...taskActors(ctx, task), to]);
    return undefined;
  });
}

/** No reminders until `until`; the first one after it respects working hours. */
export function snoozeTask(ctx: AppContext, taskId: number, actor: string, until: number): TaskResult {
  const now = ctx.clock.now();
  if (!(until > now)) return { ok: false, reason: 'invalid', message: 'Pick a time in the future.' };
  return act(ctx, taskId, actor, (task, at) => {
    if (!snoozeTaskRow(ctx.db, task.id, until, at)) return closedMeanwhile(ctx, task.id);
    const app = manualAppOf(ctx.config, task.appId);
    if (app) scheduleReminder(ctx, app, task.id, alignToHours(until, parseReminderHours(app.reminderHours), ctx.config.timezone), at);
    writeAudit(ctx.db, at, {
      actor, action: 'task.snoozed', requestId: task.requestId, itemId: task.itemId, appId: task.appId,
      detail: { taskId: task.id, until: new Date(until).toISOString() },
    });
    renderTask(ctx, task.id, at);
    refreshHomes(ctx, taskActors(ctx, task));
    return undefined;
  });
}

/**
 * Its request was cancelled: an open task is closed as withdrawn (reminders stop, the DM loses its buttons)
 * and its assignee is told. Runs inside the cancel's transaction; false when the task was already done or
 * closed, so the item keeps what that did. No task yet is fine: `assignTask` will find the item cancelled.
 */
export function withdrawTask(ctx: AppContext, itemId: number, actor: string): boolean {
  const task = taskOfItem(ctx.db, itemId);
  if (!task || task.state === 'cancelled') return true;
  if (task.state !== 'open') return false;
  const now = ctx.clock.now();
  if (!closeTask(ctx.db, task.id, 'cancelled', actor, null, now)) return false;
  cancelJobs(ctx.db, now, remindKey(task.id));
  writeAudit(ctx.db, now, {
    actor, action: 'task.cancelled', requestId: task.requestId, itemId: task.itemId, appId: task.appId, fromState: 'open', toState: 'cancelled',
    detail: { taskId: task.id, assignee: task.assignee },
  });
  renderTask(ctx, task.id, now);
  sendDm(ctx, task.assignee, mrkdwn`Task #${task.id} (${taskTitleText(ctx.config, task)}) is withdrawn: ${mention(actor)} cancelled request ${escapeMrkdwn(task.requestId)}. Nothing more to do.`);
  refreshHomes(ctx, taskActors(ctx, task));
  return true;
}
