/**
 * Manual tasks as data: their states, the app facts a task needs, and the pure rules of who may take or act on
 * one. Nothing here reads the database or knows Slack, so each rule is tested with plain values.
 */
import { appById, type AccessConfig } from '../config.js';
import type { FulfillmentItem } from '../connectors/types.js';
import type { StoredWords } from '../requests/words.js';

/** `cancelled`: withdrawn because its request was cancelled before anyone did it. */
export type TaskState = 'open' | 'done' | 'cant_do' | 'cancelled';
export type TaskKind = 'onboard' | 'offboard';

export interface Task {
  id: number;
  itemId: number;
  requestId: string;
  appId: string;
  kind: TaskKind;
  item: FulfillmentItem;
  assignee: string;
  state: TaskState;
  snoozedUntil: number | null;
  remindersSent: number;
  remindersSinceProgress: number;
  lastProgressAt: number;
  lastReminderAt: number | null;
  messageChannel: string | null;
  messageTs: string | null;
  escalationChannel: string | null;
  escalationTs: string | null;
  escalations: number;
  createdAt: number;
  updatedAt: number;
  closedAt: number | null;
  closedBy: string | null;
  note: string | null;
  /** Set when the task finishes a failed item by hand (any connector); null for a manual app's own task. */
  byHand: ByHand | null;
}

/** Why a task exists for an app that has a connector: what it tried, and the IT admin who chose to do the rest by hand. */
export interface ByHand {
  /** The item's failure detail as stored, in words. */
  tried: StoredWords;
  askedBy: string;
  askedAt: number;
}

/**
 * What a task needs to know of its app, whichever connector the app uses: a manual app's own settings, or for
 * any other app (a failed item finished by hand) its name with the manual defaults and no assignees of its own,
 * so the IT admins take it.
 */
export interface TaskApp {
  id: string;
  name: string;
  assignees: readonly string[];
  reminderEvery: number;
  escalateAfter: number;
  reminderHours?: string;
  roles?: readonly string[];
  defaultRole?: string;
  /** The operator's steps per kind, overriding the built-in ones (`stepTemplates`). */
  steps?: { onboard?: readonly string[]; offboard?: readonly string[] };
}

const DEFAULT_REMINDER_EVERY = 4 * 3_600_000;
const DEFAULT_ESCALATE_AFTER = 3;

export function taskAppOf(config: AccessConfig, appId: string): TaskApp | undefined {
  const app = appById(config, appId);
  if (!app) return undefined;
  if (app.connector === 'manual') return app;
  // An app with its own roles (Autodesk) keeps them, so a by-hand task names the role that was asked for.
  const roles = 'roles' in app && Array.isArray(app.roles) ? (app.roles as string[]) : undefined;
  const defaultRole = 'defaultRole' in app && typeof app.defaultRole === 'string' ? app.defaultRole : undefined;
  return { id: app.id, name: app.name, assignees: [], reminderEvery: DEFAULT_REMINDER_EVERY, escalateAfter: DEFAULT_ESCALATE_AFTER, roles, defaultRole };
}

/** The apps whose tasks this person is an assignee of: only a task app lists assignees, so core never asks for a kind. */
export function appsAssignedTo(config: AccessConfig, userId: string): string[] {
  return config.apps.filter((app) => taskAppOf(config, app.id)?.assignees.includes(userId)).map((app) => app.id);
}

/** Why an action on a task was refused; `src/slack/tasks` puts it in words for the clicker. */
export type TaskRefusal =
  | { ok: false; reason: 'not_found'; taskId: number }
  | { ok: false; reason: 'own_access'; task: Task }
  | { ok: false; reason: 'not_allowed'; task: Task; appName: string; otherAssignees: string[] }
  | { ok: false; reason: 'closed'; task: Task }
  | { ok: false; reason: 'changed_meanwhile'; task: Task }
  | { ok: false; reason: 'already_assigned'; task: Task; to: string }
  | { ok: false; reason: 'not_a_candidate'; task: Task; appName: string }
  | { ok: false; reason: 'no_reason' }
  | { ok: false; reason: 'not_in_future' };

export type TaskResult = { ok: true; task: Task } | TaskRefusal;

/** The person a task is about: never its assignee, never one who acts on it. */
export function subjectOf(task: Pick<Task, 'item'>): string | null {
  return task.item.subject.slackId;
}

/**
 * People who may act on a task: its assignee, every assignee of its app and the IT admins (the team behind
 * them), except the person the task is about: nobody closes their own offboarding.
 */
export function taskActors(task: Pick<Task, 'assignee' | 'item'>, app: Pick<TaskApp, 'assignees'> | undefined, itAdmins: readonly string[]): string[] {
  const people = [task.assignee, ...(app?.assignees ?? []), ...itAdmins];
  return [...new Set(people)].filter((person) => person !== subjectOf(task));
}

/** Whom Reassign offers, and the only people a submitted Reassign may name. */
export function reassignCandidates(task: Pick<Task, 'assignee' | 'item'>, app: Pick<TaskApp, 'assignees'> | undefined, itAdmins: readonly string[]): string[] {
  return taskActors(task, app, itAdmins).filter((person) => person !== task.assignee);
}

/** Whether `actor` may act on the task as it stands: the subject never, strangers never, a closed task not again. */
export function mayAct(task: Task, app: TaskApp | undefined, itAdmins: readonly string[], actor: string): TaskResult {
  if (actor === subjectOf(task)) return { ok: false, reason: 'own_access', task };
  if (!taskActors(task, app, itAdmins).includes(actor)) {
    const otherAssignees = (app?.assignees ?? []).filter((a) => a !== task.assignee && a !== subjectOf(task));
    return { ok: false, reason: 'not_allowed', task, appName: app?.name ?? task.appId, otherAssignees };
  }
  if (task.state !== 'open') return { ok: false, reason: 'closed', task };
  return { ok: true, task };
}

/**
 * The fewest open tasks wins; ties go in turn, starting after whoever got the app's last task, so equal
 * workloads still rotate. Nobody is given a task about themselves: without another assignee, an IT admin
 * (`fallback`) who is not the subject takes it; undefined when there is nobody at all.
 */
export function chooseAssignee(
  assignees: readonly string[], subject: string | null, fallback: readonly string[], openCounts: ReadonlyMap<string, number>, lastAssignee: string | undefined,
): string | undefined {
  const own = [...new Set(assignees)].filter((person) => person !== subject);
  const people = own.length ? own : [...new Set(fallback)].filter((person) => person !== subject);
  if (people.length === 0) return undefined;
  const fewest = Math.min(...people.map((person) => openCounts.get(person) ?? 0));
  const start = lastAssignee === undefined ? 0 : people.indexOf(lastAssignee) + 1;
  for (let i = 0; i < people.length; i++) {
    const person = people[(start + i) % people.length]!;
    if ((openCounts.get(person) ?? 0) === fewest) return person;
  }
  return people[0]!;
}

/**
 * The role to give: the requested one only when this app lists it (a request's role may have been chosen
 * for another app), else the app's default.
 */
export function roleFor(app: Pick<TaskApp, 'roles' | 'defaultRole'>, requested: string | undefined): string | undefined {
  if (requested && app.roles?.includes(requested)) return requested;
  return app.defaultRole;
}
