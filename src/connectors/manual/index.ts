/**
 * The connector for apps without an API: an approved item becomes a task for one of the app's assignees,
 * reminded until a person marks it done. Nothing here is specific to one app; only `steps.ts` names one.
 */
import type { AppContext } from '../../context.js';
import type { Connector, ConnectorPlugin, FulfillmentItem } from '../types.js';
import { manualAppSchema } from './config.js';
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
  registerTaskJobs(ctx.runner, ctx);
  return {
    type: 'manual',
    // A person needs lead time: onboarding tasks go out at approval; offboarding waits for its date (the core schedules it).
    onboardsBeforeEffectiveDate: true,
    grant: async (item) => assignTask(ctx, await withSlackIdentity(ctx, item)),
    revoke: async (item) => assignTask(ctx, await withSlackIdentity(ctx, item)),
    withdraw: (itemId, actor) => withdrawTask(ctx, itemId, actor),
  };
}

/**
 * The manual plugin. TEMPORARY adapter (issue 11): tasks still post to Slack and read the whole AppContext, so
 * `create` needs `deps.legacyAppContext` until the task domain moves to src/tasks/ and speaks through events.
 */
export const manualPlugin = {
  kind: 'manual',
  appSchema: manualAppSchema,
  create(deps): Connector {
    if (!deps.legacyAppContext) throw new Error('the manual connector still needs the AppContext (temporary adapter)');
    return createManualConnector(deps.legacyAppContext);
  },
} satisfies ConnectorPlugin<typeof manualAppSchema>;

export { nextReminderTime, alignToHours, parseReminderHours, isWithinHours } from './schedule.js';
export {
  authorizeTaskAction, cantDoTask, completeTask, reassignCandidates, reassignTask, snoozeTask, pickAssignee, withdrawTask, TASK_JOB, type TaskResult,
} from './service.js';
export { defaultSteps, stepsFor } from './steps.js';
