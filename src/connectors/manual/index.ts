/**
 * The connector for apps without an API: an approved item becomes a task for one of the app's assignees,
 * reminded until a person marks it done. Nothing here is specific to one app; only `steps.ts` names one.
 */
import type { AppContext } from '../../context.js';
import type { Connector, FulfillmentItem } from '../types.js';
import { registerTaskJobs } from './jobs.js';
import { assignTask, withdrawTask } from './service.js';

/**
 * A subject known only by e-mail (a new hire, a leaver typed in) may still be a Slack user, even an assignee:
 * the task must not go to them, nor be closed by them, so they are looked up once before it is created.
 */
async function withSlackIdentity(ctx: AppContext, item: FulfillmentItem): Promise<FulfillmentItem> {
  if (item.subject.slackId) return item;
  try {
    const found = await ctx.slack.users.lookupByEmail({ email: item.subject.email });
    const id = found.user?.deleted ? undefined : found.user?.id;
    return id ? { ...item, subject: { ...item.subject, slackId: id } } : item;
  } catch (error) {
    if ((error as { data?: { error?: string } }).data?.error === 'users_not_found') return item;
    // Slack unavailable or rate-limited: the job retries rather than risk giving a person their own task.
    throw error;
  }
}

export function createManualConnector(ctx: AppContext): Connector {
  return {
    type: 'manual',
    // A person needs lead time: onboarding tasks go out at approval; offboarding waits for its date (the core schedules it).
    onboardsBeforeEffectiveDate: true,
    onboard: async (item) => assignTask(ctx, await withSlackIdentity(ctx, item)),
    offboard: async (item) => assignTask(ctx, await withSlackIdentity(ctx, item)),
    registerJobs: (runner) => registerTaskJobs(runner, ctx),
    withdraw: (itemId, actor) => withdrawTask(ctx, itemId, actor),
  };
}

export { nextReminderTime, alignToHours, parseReminderHours, isWithinHours } from './schedule.js';
export {
  authorizeTaskAction, cantDoTask, completeTask, reassignCandidates, reassignTask, snoozeTask, pickAssignee, withdrawTask, TASK_JOB, type TaskResult,
} from './service.js';
export { defaultSteps, stepsFor } from './steps.js';
