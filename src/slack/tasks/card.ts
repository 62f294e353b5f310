/**
 * From a task (src/tasks) to what its messages show: the card's view-model, the title, the steps with the
 * item's values filled in escaped, and the words for a refused action. The only place tasks become wording.
 */
import type { AccessConfig } from '../../config.js';
import type { FulfillmentItem } from '../../connectors/types.js';
import { roleFor, taskAppOf, type Task, type TaskApp, type TaskKind, type TaskRefusal } from '../../tasks/model.js';
import { stepTemplates } from '../../tasks/steps.js';
import { formatDuration } from '../../util/duration.js';
import { escapeMrkdwn, mrkdwn, trustedMrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';
import { formatInstant } from '../../util/time.js';
import { subjectLabel, wordsMrkdwn } from '../words.js';
import type { TaskCard } from './blocks.js';

export interface StepValues {
  app: string;
  email: string;
  name: string;
  role: string;
}

/**
 * Config steps may use {app}, {email}, {name} and {role} too. A step is mrkdwn the operator wrote (bold, links);
 * the values are what a requester typed (a new hire's name and e-mail), so they go in escaped.
 */
export function stepsFor(app: Pick<TaskApp, 'id' | 'name' | 'steps'>, kind: TaskKind, values: StepValues): Mrkdwn[] {
  return stepTemplates(app, kind).map((step) => trustedMrkdwn(step.replace(/\{(app|email|name|role)\}/g, (_, key: keyof StepValues) => escapeMrkdwn(values[key]))));
}

/** The name as typed, or the e-mail: plain text, escaped where it is put into the steps. */
function subjectName(item: FulfillmentItem): string {
  return [item.subject.firstName, item.subject.lastName].filter(Boolean).join(' ') || item.subject.email;
}

export function taskTitleText(config: AccessConfig, task: Task): Mrkdwn {
  const appName = escapeMrkdwn(taskAppOf(config, task.appId)?.name ?? task.appId);
  return mrkdwn`${task.kind === 'onboard' ? mrkdwn`Onboard` : mrkdwn`Offboard`} ${subjectLabel(task.item.subject)} ${task.kind === 'onboard' ? mrkdwn`to` : mrkdwn`from`} ${appName}`;
}

/** Everything the task's messages show, worked out from the row and the config. */
export function cardOf(config: AccessConfig, task: Task, now: number): TaskCard {
  const app = taskAppOf(config, task.appId);
  const appName = app?.name ?? task.appId;
  const role = app ? roleFor(app, task.item.options.role) : task.item.options.role;
  const steps = stepsFor(app ?? { id: task.appId, name: appName }, task.kind, {
    app: appName, email: task.item.subject.email, name: subjectName(task.item), role: role ?? 'the default role',
  });
  // Finishing an app's connector by hand: the teams it would have joined them to are left too.
  const teams = task.byHand && task.kind === 'onboard' ? task.item.options.teams ?? [] : [];
  if (teams.length) steps.push(mrkdwn`Add them to the ${escapeMrkdwn(appName)} teams: ${escapeMrkdwn(teams.join(', '))}.`);
  const tz = config.timezone;
  return {
    taskId: task.id, requestId: task.requestId, appName, kind: task.kind, subject: subjectLabel(task.item.subject), email: task.item.subject.email,
    role, requesterId: task.item.requesterId, approvedBy: task.item.approvedBy, dueDate: task.item.effectiveDate, justification: task.item.justification,
    steps, assignee: task.assignee, state: task.state, createdAtText: formatInstant(task.createdAt, tz), ageText: formatDuration(Math.max(0, now - task.createdAt)),
    snoozedUntilText: task.snoozedUntil !== null && task.snoozedUntil > now ? formatInstant(task.snoozedUntil, tz) : undefined,
    closedBy: task.closedBy ?? undefined, closedAtText: task.closedAt !== null ? formatInstant(task.closedAt, tz) : undefined, note: task.note ?? undefined,
    byHand: task.byHand ? { tried: wordsMrkdwn(task.byHand.tried), askedBy: task.byHand.askedBy } : undefined,
  };
}

function closedText(task: Task, tz: string): string {
  const when = task.closedAt !== null ? ` on ${formatInstant(task.closedAt, tz)}` : '';
  if (task.state === 'done') return `Nothing to do: task #${task.id} was already marked done by <@${task.closedBy}>${when}.`;
  if (task.state === 'cancelled') return `Nothing to do: task #${task.id} was withdrawn${when}: <@${task.closedBy}> cancelled its request.`;
  return `Nothing to do: task #${task.id} was already closed as "can't do" by <@${task.closedBy}>${when}.`;
}

/** A refused task action in words for the person who clicked. */
export function taskRefusalText(refusal: TaskRefusal, timeZone: string): string {
  switch (refusal.reason) {
    case 'not_found':
      return `Task #${refusal.taskId} no longer exists.`;
    case 'own_access':
      return `Task #${refusal.task.id} is about your own access, so you can't act on it. Another assignee or an IT admin will. Nothing was changed.`;
    case 'not_allowed':
      return `Only the assignee <@${refusal.task.assignee}>, another ${refusal.appName} assignee (${refusal.otherAssignees.map((a) => `<@${a}>`).join(', ') || 'none'}) or an IT admin can act on task #${refusal.task.id}. Nothing was changed.`;
    case 'closed':
      return closedText(refusal.task, timeZone);
    case 'changed_meanwhile':
      return `Task #${refusal.task.id} changed meanwhile; please try again.`;
    case 'already_assigned':
      return `<@${refusal.to}> already has this task.`;
    case 'not_a_candidate':
      return `That person can't take this task: only ${refusal.appName} assignees and IT admins (never the person it is about) can. Nothing was changed.`;
    case 'no_reason':
      return 'Please give a reason.';
    case 'not_in_future':
      return 'Pick a time in the future.';
  }
}
