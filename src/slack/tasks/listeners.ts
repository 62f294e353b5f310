/**
 * Bolt listeners for task buttons and modals. Buttons ack at once; the decision (who may act, is the task
 * still open) is made by the connector's service from the task id in the button's value, and a refusal is
 * told only to the clicker. The logic sits in plain functions (`onTaskButton`, `onTaskSubmission`) so it is
 * tested without Bolt.
 */
import type { AllMiddlewareArgs, App, ButtonAction, OverflowAction, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import type { AppContext } from '../../context.js';
import { taskAppOf } from '../../tasks/model.js';
import {
  authorizeTaskAction, cantDoTask, completeTask, findTask, reassignCandidates, reassignTask, snoozeTask, type TaskRefusal, type TaskResult,
} from '../../tasks/service.js';
import { localInstant, parseReminderHours } from '../../util/working-hours.js';
import { addDaysToDate, dateInZone } from '../../util/time.js';
import { TASK_ACTION, TASK_INPUT, TASK_VIEW, cantDoModal, doneNoteModal, reassignModal, snoozeModal } from './blocks.js';
import { tellClicker, type ActionArgs } from '../tell-clicker.js';
import { taskRefusalText, taskTitleText } from './card.js';

export type TaskButton = 'done' | 'done_note' | 'reassign' | 'snooze' | 'cant_do';

/** What a click leads to: a modal to open, words for the clicker, or nothing more (the DM re-renders). */
export type ButtonOutcome = { open: ModalView } | { tell: string } | { done: true };

export function parseTaskId(value: unknown): number | undefined {
  const id = Number(value);
  return Number.isInteger(id) && id > 0 ? id : undefined;
}

/** Tomorrow at the start of working hours (or 09:00): the usual "not today" snooze. */
function snoozeDefaults(ctx: AppContext, appId: string): { date: string; time: string } {
  const hours = parseReminderHours(taskAppOf(ctx.config, appId)?.reminderHours);
  const minutes = hours?.start ?? 9 * 60;
  const date = addDaysToDate(dateInZone(ctx.clock.now(), ctx.config.timezone), 1);
  return { date, time: `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}` };
}

/** How long the Reassign list waits for Slack to name someone the directory has no fresh row for (the modal must open within Slack's 3 s). */
const NAMES_WAIT_MS = 1000;

export function onTaskButton(ctx: AppContext, button: TaskButton, taskId: number | undefined, userId: string, names: ReadonlyMap<string, string> = new Map()): ButtonOutcome {
  if (taskId === undefined) return { tell: 'This button is not attached to a task any more. Nothing was changed.' };
  if (button === 'done') {
    const result = completeTask(ctx.tasks, taskId, userId);
    return result.ok ? { done: true } : { tell: taskRefusalText(result, ctx.config.timezone) };
  }
  const check = authorizeTaskAction(ctx, taskId, userId);
  if (!check.ok) return { tell: taskRefusalText(check, ctx.config.timezone) };
  const title = taskTitleText(ctx.config, check.task);
  switch (button) {
    case 'done_note':
      return { open: doneNoteModal(taskId, title) };
    case 'reassign': {
      const candidates = reassignCandidates(ctx, check.task);
      if (candidates.length === 0) return { tell: `Nobody else may take task #${taskId}: it has no other assignee or IT admin who is not the person it is about. Nothing was changed.` };
      return { open: reassignModal(taskId, title, check.task.assignee, candidates.map((id) => ({ userId: id, name: names.get(id) ?? id }))) };
    }
    case 'snooze': {
      const initial = snoozeDefaults(ctx, check.task.appId);
      return { open: snoozeModal(taskId, title, initial.date, initial.time, ctx.config.timezone) };
    }
    case 'cant_do':
      return { open: cantDoModal(taskId, title) };
  }
}

/** The parts of `view.state.values` the task modals use. */
export type SubmittedValues = Record<string, Record<string, {
  value?: string | null; selected_user?: string | null; selected_option?: { value?: string } | null; selected_date?: string | null; selected_time?: string | null;
}>>;

export type SubmissionOutcome = { ok: true } | { errors: Record<string, string> };

/** Slack shows field errors under the input; keep them short enough to read there. */
function fieldError(block: string, refusal: TaskRefusal, timeZone: string): SubmissionOutcome {
  return { errors: { [block]: taskRefusalText(refusal, timeZone).slice(0, 300) } };
}

export function onTaskSubmission(ctx: AppContext, callbackId: string, taskId: number | undefined, userId: string, values: SubmittedValues): SubmissionOutcome {
  const read = (block: string) => values[block]?.[block];
  const blockOf: Record<string, string> = {
    [TASK_VIEW.doneNote]: TASK_INPUT.note, [TASK_VIEW.reassign]: TASK_INPUT.assignee, [TASK_VIEW.snooze]: TASK_INPUT.snoozeTime, [TASK_VIEW.cantDo]: TASK_INPUT.reason,
  };
  const block = blockOf[callbackId] ?? TASK_INPUT.note;
  if (taskId === undefined) return { errors: { [block]: 'This form is not attached to a task any more.' } };
  let result: TaskResult;
  switch (callbackId) {
    case TASK_VIEW.doneNote:
      result = completeTask(ctx.tasks, taskId, userId, read(TASK_INPUT.note)?.value ?? undefined);
      break;
    case TASK_VIEW.reassign: {
      const to = read(TASK_INPUT.assignee)?.selected_option?.value;
      if (!to) return { errors: { [block]: 'Pick a person.' } };
      result = reassignTask(ctx.tasks, taskId, userId, to);
      break;
    }
    case TASK_VIEW.snooze: {
      const date = read(TASK_INPUT.snoozeDate)?.selected_date;
      const time = read(TASK_INPUT.snoozeTime)?.selected_time;
      const match = time ? /^(\d{2}):(\d{2})$/.exec(time) : null;
      if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return { errors: { [TASK_INPUT.snoozeDate]: 'Pick a date.' } };
      if (!match) return { errors: { [block]: 'Pick a time.' } };
      const until = localInstant(date, Number(match[1]) * 60 + Number(match[2]), ctx.config.timezone);
      result = snoozeTask(ctx.tasks, taskId, userId, until);
      break;
    }
    case TASK_VIEW.cantDo: {
      const reason = read(TASK_INPUT.reason)?.value ?? '';
      if (!reason.trim()) return { errors: { [block]: 'Please give a reason.' } };
      result = cantDoTask(ctx.tasks, taskId, userId, reason);
      break;
    }
    default:
      return { errors: { [block]: 'Unknown form.' } };
  }
  return result.ok ? { ok: true } : fieldError(block, result, ctx.config.timezone);
}

function buttonListener(ctx: AppContext, button: TaskButton) {
  return async (args: ActionArgs) => {
    await args.ack();
    const action = args.action as ButtonAction | OverflowAction;
    const value = action.type === 'overflow' ? action.selected_option.value : action.value;
    try {
      const taskId = parseTaskId(value);
      let names: Map<string, string> | undefined;
      if (button === 'reassign' && taskId !== undefined) {
        const check = authorizeTaskAction(ctx, taskId, args.body.user.id);
        if (check.ok) names = await ctx.people.namesOf(reassignCandidates(ctx, check.task), ctx.clock.now() + NAMES_WAIT_MS);
      }
      const outcome = onTaskButton(ctx, button, taskId, args.body.user.id, names);
      if ('open' in outcome) await args.client.views.open({ trigger_id: args.body.trigger_id, view: outcome.open });
      else if ('tell' in outcome) await tellClicker(args, outcome.tell);
    } catch (error) {
      ctx.log.error('task button failed', { button, value, error });
      await tellClicker(args, 'Sorry, something went wrong on our side and nothing was changed. Please try again.').catch(() => undefined);
    }
  };
}

function submissionListener(ctx: AppContext, callbackId: string) {
  return async (args: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    let taskId: number | undefined;
    try {
      taskId = parseTaskId((JSON.parse(args.view.private_metadata || '{}') as { taskId?: unknown }).taskId);
    } catch {
      taskId = undefined;
    }
    // The ack must carry field errors, so the (fast, local) decision comes first.
    const outcome = onTaskSubmission(ctx, callbackId, taskId, args.body.user.id, args.view.state.values);
    if ('errors' in outcome) await args.ack({ response_action: 'errors', errors: outcome.errors });
    else await args.ack();
  };
}

const prefixed = (prefix: string) => new RegExp(`^${prefix}(:|$)`);

/** The task DM's buttons (and its overflow menu); registered from src/slack/listeners/actions with the others. */
export function registerTaskActions(app: App, ctx: AppContext): void {
  app.action({ type: 'block_actions', action_id: prefixed(TASK_ACTION.done) }, buttonListener(ctx, 'done'));
  app.action({ type: 'block_actions', action_id: prefixed(TASK_ACTION.more) }, buttonListener(ctx, 'done_note'));
  app.action({ type: 'block_actions', action_id: prefixed(TASK_ACTION.reassign) }, buttonListener(ctx, 'reassign'));
  app.action({ type: 'block_actions', action_id: prefixed(TASK_ACTION.snooze) }, buttonListener(ctx, 'snooze'));
  app.action({ type: 'block_actions', action_id: prefixed(TASK_ACTION.cantDo) }, buttonListener(ctx, 'cant_do'));
}

/** The task modals (done with a note, reassign, snooze, can't do); registered from src/slack/listeners/views. */
export function registerTaskViews(app: App, ctx: AppContext): void {
  for (const callbackId of Object.values(TASK_VIEW)) app.view(callbackId, submissionListener(ctx, callbackId));
}

export { taskHomeBlocks, tasksCommandText } from './home.js';
/** For tests and tools: the task a message's buttons act on. */
export const taskOf = (ctx: Pick<AppContext, 'db'>, taskId: number) => findTask(ctx, taskId);
