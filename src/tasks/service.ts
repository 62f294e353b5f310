/**
 * Manual tasks: creation with balanced assignment, and the person's actions on them (done, can't do,
 * reassign, snooze, withdraw). Each operation is one transaction that writes the change, its audit row and
 * the notices (`events.ts`) the Slack side turns into messages; closing is a compare-and-set, so of two
 * clicks exactly one acts. Nothing here knows Slack: refusals are codes, and `src/slack/tasks` words them.
 */
import { isProtectedEmail, type AccessConfig } from '../config.js';
import type { FulfillmentItem, ItemDetail, ItemProgress } from '../connectors/types.js';
import { writeAudit } from '../db/audit.js';
import { inTransaction, type Db } from '../db/connection.js';
import { PermanentError } from '../jobs/errors.js';
import { cancelJobs } from '../jobs/queue.js';
import type { Item, ItemState } from '../requests/model.js';
import type { Clock } from '../util/time.js';
import { alignToHours, nextReminderTime, parseReminderHours } from '../util/working-hours.js';
import { TASK_EVENT, emitTaskEvent, remindKey, taskQueue } from './events.js';
import {
  chooseAssignee, mayAct, reassignCandidates as candidatesOf, taskActors as actorsOf, taskAppOf, type ByHand, type Task, type TaskApp, type TaskRefusal, type TaskResult,
} from './model.js';
import {
  closeTask, getTask, insertTask, lastAssignee, openCounts, openTasksOf, openTasksOfApps, reassignTaskRow, reopenTask, setLastAssignee, setTaskMessage,
  snoozeTaskRow, taskOfItem,
} from './repository.js';

/**
 * What the task module is built with (src/app.ts makes one): the database, config and clock, who the IT admins are,
 * the items tasks work on and whose Home tabs to redraw. No Slack client, no request service: the core wires these.
 */
export interface TaskDeps {
  db: Db;
  config: AccessConfig;
  clock: Clock;
  /** The IT admins who are people now: they take tasks no assignee may take and may act on any task. */
  itAdmins: { members(): readonly string[] };
  /** Tells the job runner that work was enqueued. */
  wake: () => void;
  /** The item a task does: reported on as the task moves, and read to see whether it is still wanted. */
  items: ItemProgress & { get(itemId: number): Pick<Item, 'state'> | undefined };
  /** These people's Home tabs list tasks that changed: redraw them (inside the caller's transaction). */
  homesChanged(userIds: Iterable<string>): void;
}

/** The item's progress line at each move of its task, in words (src/requests/words.ts). */
export const taskProgressWords = {
  assigned: (assignee: string): ItemDetail => ['task assigned to ', { person: assignee }],
  done: (by: string, note: string | null): ItemDetail => ['done by ', { person: by }, ...(note ? [`: ${note}`] : [])],
  cantDo: (by: string, reason: string): ItemDetail => [{ person: by }, ` could not do it: ${reason}`],
  /** A failed item's task done: the item completes as finished by hand. */
  finishedByHand: (by: string, note: string | null): ItemDetail => ['finished by hand by ', { person: by }, ...(note ? [`: ${note}`] : [])],
};

/** What the manual connector (and any core code that hands work to a person) may do with tasks. */
export interface TaskPort {
  /** See `createTask`. */
  create(item: FulfillmentItem): TaskCreation;
  /** See `withdrawTask`: inside the cancel's transaction. */
  withdraw(itemId: number, actor: string): boolean;
}

export function createTaskPort(deps: TaskDeps): TaskPort {
  return { create: (item) => createTask(deps, item), withdraw: (itemId, actor) => withdrawTask(deps, itemId, actor) };
}

export type { TaskRefusal, TaskResult } from './model.js';

export function taskActors(deps: Pick<TaskDeps, 'config' | 'itAdmins'>, task: Task): string[] {
  return actorsOf(task, taskAppOf(deps.config, task.appId), deps.itAdmins.members());
}

export function reassignCandidates(deps: Pick<TaskDeps, 'config' | 'itAdmins'>, task: Task): string[] {
  return candidatesOf(task, taskAppOf(deps.config, task.appId), deps.itAdmins.members());
}

/** `chooseAssignee` with the open counts and the app's last turn read from the database. */
export function pickAssignee(
  db: TaskDeps['db'], app: Pick<TaskApp, 'id' | 'assignees'>, subject: string | null = null, fallback: readonly string[] = [],
): string | undefined {
  const people = [...new Set([...app.assignees, ...fallback])];
  return chooseAssignee(app.assignees, subject, fallback, openCounts(db, people), lastAssignee(db, app.id));
}

function scheduleReminder(deps: TaskDeps, taskId: number, runAt: number, now: number): void {
  emitTaskEvent(deps.db, now, TASK_EVENT.reminderDue, { taskId }, { key: remindKey(taskId), mode: 'replace', runAt });
}

export function firstReminderAt(deps: Pick<TaskDeps, 'config'>, app: TaskApp, from: number): number {
  return nextReminderTime(from, app.reminderEvery, parseReminderHours(app.reminderHours), deps.config.timezone);
}

function announceAssignment(deps: TaskDeps, taskId: number, assignee: string, now: number): void {
  // One post per assignment: the key names the assignee and the moment, so a reassign back posts again.
  emitTaskEvent(deps.db, now, TASK_EVENT.assigned, { taskId, assignee }, { key: `task-post:${taskId}:${assignee}:${now}`, queue: taskQueue(taskId) });
}

export function announceChange(deps: Pick<TaskDeps, 'db'>, taskId: number, now: number): void {
  emitTaskEvent(deps.db, now, TASK_EVENT.changed, { taskId }, { key: `task-render:${taskId}`, mode: 'coalesce', queue: taskQueue(taskId) });
}

/** Where an item stands once `createTask` returned, with the item's progress line for it. */
export type TaskCreation =
  | { state: 'open'; assignee: string; detail: ItemDetail }
  | { state: 'done'; closedBy: string; detail: ItemDetail }
  /** The item left `in_progress` meanwhile (its request was cancelled): no task; its own detail stands. */
  | { state: 'not_needed'; itemState: ItemState };

/**
 * Creates the item's task, or returns the existing one: the fulfillment job may run twice after a crash.
 * A task closed with "Can't do" whose item was retried is reopened as a new assignment. Any configured app
 * may have a task (`taskAppOf`), whichever connector it uses.
 */
export function createTask(deps: TaskDeps, item: FulfillmentItem, byHand: ByHand | null = null): TaskCreation {
  const app = taskAppOf(deps.config, item.appId);
  // Retrying cannot fix the config: fail the item now, with a reason IT can act on.
  if (!app) throw new PermanentError(`tasks: app "${item.appId}" is not configured`);
  const now = deps.clock.now();
  const outcome = inTransaction(deps.db, (): TaskCreation => {
    const existing = taskOfItem(deps.db, item.itemId);
    if (existing?.state === 'open') return { state: 'open', assignee: existing.assignee, detail: taskProgressWords.assigned(existing.assignee) };
    if (existing?.state === 'done') return { state: 'done', closedBy: existing.closedBy ?? '', detail: taskProgressWords.done(existing.closedBy ?? '', null) };
    // Cancelled between the job's start and here: no task for work nobody wants any more.
    const current = deps.items.get(item.itemId);
    if (current && current.state !== 'in_progress') return { state: 'not_needed', itemState: current.state };
    // Checked here, just before the task exists, whatever intake let through: a protected account is never changed.
    if (isProtectedEmail(deps.config, item.subject.email)) {
      throw new PermanentError(`${item.subject.email} is a protected account (protectedEmails): accessbot never creates a task to change it; nothing was changed`, 'protected');
    }
    const assignee = pickAssignee(deps.db, app, item.subject.slackId, deps.itAdmins.members());
    if (!assignee) {
      throw new PermanentError(`nobody may take this task: every ${app.name} assignee and IT admin is the person it is about`, 'no_assignee');
    }
    let taskId: number;
    if (existing) {
      reopenTask(deps.db, existing.id, item, assignee, now, byHand);
      taskId = existing.id;
    } else {
      taskId = insertTask(deps.db, item, assignee, now, byHand);
    }
    setLastAssignee(deps.db, app.id, assignee);
    announceAssignment(deps, taskId, assignee, now);
    scheduleReminder(deps, taskId, firstReminderAt(deps, app, now), now);
    writeAudit(deps.db, now, {
      actor: 'accessbot', action: existing ? 'task.reopened' : 'task.created', requestId: item.requestId, itemId: item.itemId, appId: item.appId,
      toState: 'open', detail: { taskId, assignee, kind: item.kind, ...(byHand ? { byHand: true } : {}) },
    });
    deps.homesChanged(taskActors(deps, getTask(deps.db, taskId)!));
    return { state: 'open', assignee, detail: taskProgressWords.assigned(assignee) };
  });
  deps.wake();
  return outcome;
}

/** Whether this person may act on the task now; a refusal says why as a code (`src/slack/tasks` words it). */
export function authorizeTaskAction(deps: Pick<TaskDeps, 'db' | 'config' | 'itAdmins'>, taskId: number, actor: string): TaskResult {
  const task = getTask(deps.db, taskId);
  if (!task) return { ok: false, reason: 'not_found', taskId };
  return mayAct(task, taskAppOf(deps.config, task.appId), deps.itAdmins.members(), actor);
}

/** Runs `change` in one transaction after checking the actor; the caller's compare-and-set decides races. */
function act(deps: TaskDeps, taskId: number, actor: string, change: (task: Task, now: number) => TaskRefusal | undefined): TaskResult {
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): TaskResult => {
    const check = authorizeTaskAction(deps, taskId, actor);
    if (!check.ok) return check;
    const refused = change(check.task, now);
    if (refused) return refused;
    return { ok: true, task: getTask(deps.db, taskId)! };
  });
  deps.wake();
  return result;
}

function closedMeanwhile(deps: TaskDeps, taskId: number): TaskRefusal {
  return { ok: false, reason: 'closed', task: getTask(deps.db, taskId)! };
}

/**
 * Closing a task, either way: compare-and-set on its state, reminders cancelled in the same transaction (a
 * reminder already running re-checks the state before sending), audit, the item reported, the DM re-rendered.
 */
function closeAndReport(
  deps: TaskDeps, task: Task, now: number, actor: string, state: 'done' | 'cant_do', text: string | null,
  auditDetail: Record<string, unknown>, reportItem: () => void,
): TaskRefusal | undefined {
  if (!closeTask(deps.db, task.id, state, actor, text, now)) return closedMeanwhile(deps, task.id);
  cancelJobs(deps.db, now, remindKey(task.id));
  writeAudit(deps.db, now, {
    actor, action: `task.${state}`, requestId: task.requestId, itemId: task.itemId, appId: task.appId, fromState: 'open', toState: state,
    detail: { taskId: task.id, assignee: task.assignee, ...auditDetail },
  });
  reportItem();
  announceChange(deps, task.id, now);
  deps.homesChanged(taskActors(deps, task));
  return undefined;
}

/** Done: the item completes (the core tells the requester) and the DM loses its buttons. */
export function completeTask(deps: TaskDeps, taskId: number, actor: string, note?: string): TaskResult {
  const cleanNote = note?.trim() || null;
  return act(deps, taskId, actor, (task, now) =>
    closeAndReport(deps, task, now, actor, 'done', cleanNote, { note: cleanNote }, () => {
      if (!task.byHand) return deps.items.complete(task.itemId, taskProgressWords.done(actor, cleanNote), actor);
      // What the connector could not finish: the audit and every card say it was done by a person, and by whom.
      writeAudit(deps.db, now, {
        actor, action: 'item.finished_by_hand', requestId: task.requestId, itemId: task.itemId, appId: task.appId,
        detail: { taskId: task.id, askedBy: task.byHand.askedBy, note: cleanNote },
      });
      deps.items.complete(task.itemId, taskProgressWords.finishedByHand(actor, cleanNote), actor);
    }));
}

/** Can't do: the item fails with the reason (the core tells the requester and alerts IT). */
export function cantDoTask(deps: TaskDeps, taskId: number, actor: string, reason: string): TaskResult {
  const why = reason.trim();
  if (!why) return { ok: false, reason: 'no_reason' };
  return act(deps, taskId, actor, (task, now) =>
    closeAndReport(deps, task, now, actor, 'cant_do', why, { reason: why }, () => deps.items.fail(task.itemId, taskProgressWords.cantDo(actor, why), actor)));
}

/** Hands the task to someone else: the old DM is marked handed over, a new DM goes out, reminders follow. */
export function reassignTask(deps: TaskDeps, taskId: number, actor: string, to: string): TaskResult {
  return act(deps, taskId, actor, (task, now) => {
    if (to === task.assignee) return { ok: false, reason: 'already_assigned', task, to };
    const app = taskAppOf(deps.config, task.appId);
    // The modal offers only these people; a submission naming anyone else was not made by that modal.
    if (!reassignCandidates(deps, task).includes(to)) return { ok: false, reason: 'not_a_candidate', task, appName: app?.name ?? task.appId };
    if (!reassignTaskRow(deps.db, task.id, task.assignee, to, now)) return { ok: false, reason: 'changed_meanwhile', task };
    if (task.messageChannel && task.messageTs) {
      const handover = { channel: task.messageChannel, ts: task.messageTs, to, by: actor, at: now };
      emitTaskEvent(deps.db, now, TASK_EVENT.changed, { taskId: task.id, handover }, { key: `task-handover:${task.id}:${task.messageTs}`, queue: taskQueue(task.id) });
    }
    announceAssignment(deps, task.id, to, now);
    if (app) scheduleReminder(deps, task.id, firstReminderAt(deps, app, Math.max(now, task.snoozedUntil ?? 0)), now);
    writeAudit(deps.db, now, {
      actor, action: 'task.reassigned', requestId: task.requestId, itemId: task.itemId, appId: task.appId, detail: { taskId: task.id, from: task.assignee, to },
    });
    deps.items.update(task.itemId, taskProgressWords.assigned(to), actor);
    deps.homesChanged([...taskActors(deps, task), to]);
    return undefined;
  });
}

/** No reminders until `until`; the first one after it respects working hours. */
export function snoozeTask(deps: TaskDeps, taskId: number, actor: string, until: number): TaskResult {
  const now = deps.clock.now();
  if (!(until > now)) return { ok: false, reason: 'not_in_future' };
  return act(deps, taskId, actor, (task, at) => {
    if (!snoozeTaskRow(deps.db, task.id, until, at)) return closedMeanwhile(deps, task.id);
    const app = taskAppOf(deps.config, task.appId);
    if (app) scheduleReminder(deps, task.id, alignToHours(until, parseReminderHours(app.reminderHours), deps.config.timezone), at);
    writeAudit(deps.db, at, {
      actor, action: 'task.snoozed', requestId: task.requestId, itemId: task.itemId, appId: task.appId,
      detail: { taskId: task.id, until: new Date(until).toISOString() },
    });
    announceChange(deps, task.id, at);
    deps.homesChanged(taskActors(deps, task));
    return undefined;
  });
}

/**
 * Its request was cancelled: an open task is closed as withdrawn (reminders stop, the DM loses its buttons)
 * and its assignee is told. Runs inside the cancel's transaction; false when the task was already done or
 * closed, so the item keeps what that did. No task yet is fine: `createTask` will find the item cancelled.
 */
export function withdrawTask(deps: Pick<TaskDeps, 'db' | 'config' | 'clock' | 'itAdmins' | 'homesChanged'>, itemId: number, actor: string): boolean {
  const task = taskOfItem(deps.db, itemId);
  if (!task || task.state === 'cancelled') return true;
  if (task.state !== 'open') return false;
  const now = deps.clock.now();
  if (!closeTask(deps.db, task.id, 'cancelled', actor, null, now)) return false;
  cancelJobs(deps.db, now, remindKey(task.id));
  writeAudit(deps.db, now, {
    actor, action: 'task.cancelled', requestId: task.requestId, itemId: task.itemId, appId: task.appId, fromState: 'open', toState: 'cancelled',
    detail: { taskId: task.id, assignee: task.assignee },
  });
  announceChange(deps, task.id, now);
  emitTaskEvent(deps.db, now, TASK_EVENT.withdrawn, { taskId: task.id, by: actor });
  deps.homesChanged(taskActors(deps, task));
  return true;
}

/** Reads for the Slack side, which never queries tasks itself. */
export const findTask = (deps: Pick<TaskDeps, 'db'>, taskId: number): Task | undefined => getTask(deps.db, taskId);
/** Open tasks assigned to a person, oldest first. */
export const openTasksAssignedTo = (deps: Pick<TaskDeps, 'db'>, userId: string): Task[] => openTasksOf(deps.db, userId);
/** Open tasks of these apps, oldest first. */
export const openTasksOfTheseApps = (deps: Pick<TaskDeps, 'db'>, appIds: readonly string[]): Task[] => openTasksOfApps(deps.db, appIds);

/** Where the assignee's DM landed, so later changes update it; only for the current assignee (a reassign clears it first). */
export function taskMessagePosted(deps: Pick<TaskDeps, 'db'>, taskId: number, assignee: string, channel: string, ts: string): boolean {
  return setTaskMessage(deps.db, taskId, assignee, channel, ts);
}
