/**
 * The connector for apps without an API: an approved item becomes a task (src/tasks) for one of the app's
 * assignees, reminded until a person marks it done. The task module does the work and the Slack side shows
 * it; this file only turns an item into a task and the task's state into the item's outcome.
 */
import type { AppContext } from '../../context.js';
import { createTask, withdrawTask, type TaskCreation } from '../../tasks/service.js';
import { mention, mrkdwn, trustedMrkdwn } from '../../util/mrkdwn.js';
import type { Connector, ConnectorPlugin, FulfillmentItem, Outcome } from '../types.js';
import { manualAppSchema } from './config.js';

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

function outcomeOf(created: TaskCreation): Outcome {
  if (created.state === 'open') return { state: 'in_progress', detail: { mrkdwn: mrkdwn`task assigned to ${mention(created.assignee)}` } };
  if (created.state === 'done') return { state: 'completed', detail: { mrkdwn: mrkdwn`done by ${mention(created.closedBy)}` } };
  // The item's own detail, written by the core when its request was cancelled.
  return { state: 'in_progress', detail: { mrkdwn: trustedMrkdwn(created.itemDetail) } };
}

export function createManualConnector(ctx: AppContext): Connector {
  const assign = async (item: FulfillmentItem) => outcomeOf(createTask(ctx, await withSlackIdentity(ctx, item)));
  return {
    type: 'manual',
    // A person needs lead time: onboarding tasks go out at approval; offboarding waits for its date (the core schedules it).
    onboardsBeforeEffectiveDate: true,
    grant: assign,
    revoke: assign,
    withdraw: (itemId, actor) => withdrawTask(ctx, itemId, actor),
  };
}

/**
 * The manual plugin. TEMPORARY adapter (issue 11): the task module still takes the AppContext (it reads the
 * request service and looks subjects up in Slack), so `create` needs `deps.legacyAppContext` for now.
 */
export const manualPlugin = {
  kind: 'manual',
  appSchema: manualAppSchema,
  create(deps): Connector {
    if (!deps.legacyAppContext) throw new Error('the manual connector still needs the AppContext (temporary adapter)');
    return createManualConnector(deps.legacyAppContext);
  },
} satisfies ConnectorPlugin<typeof manualAppSchema>;
