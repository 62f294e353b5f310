/**
 * The connector for apps without an API: an approved item becomes a task for one of the app's assignees,
 * reminded until a person marks it done. Nothing here is specific to one app; only `steps.ts` names one.
 */
import type { AppContext } from '../../context.js';
import type { Connector } from '../types.js';
import { registerTaskJobs } from './jobs.js';
import { assignTask, withdrawTask } from './service.js';

export function createManualConnector(ctx: AppContext): Connector {
  return {
    type: 'manual',
    // A person needs lead time: onboarding tasks go out at approval; offboarding waits for its date (the core schedules it).
    onboardsBeforeEffectiveDate: true,
    onboard: async (item) => assignTask(ctx, item),
    offboard: async (item) => assignTask(ctx, item),
    registerJobs: (runner) => registerTaskJobs(runner, ctx),
    withdraw: (itemId, actor) => withdrawTask(ctx, itemId, actor),
  };
}

export { nextReminderTime, alignToHours, parseReminderHours, isWithinHours } from './schedule.js';
export {
  authorizeTaskAction, cantDoTask, completeTask, reassignCandidates, reassignTask, snoozeTask, pickAssignee, withdrawTask, TASK_JOB, type TaskResult,
} from './service.js';
export { defaultSteps, stepsFor } from './steps.js';
