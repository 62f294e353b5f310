/**
 * The connector for apps without an API: an approved item becomes a task (src/tasks) for one of the app's
 * assignees, reminded until a person marks it done. The task module does the work and the Slack side shows
 * it; this file only turns an item into a task and the task's state into the item's outcome.
 */
import type { TaskCreation } from '../../tasks/service.js';
import type { Connector, ConnectorDeps, ConnectorPlugin, FulfillmentItem, Outcome } from '../types.js';
import { manualAppSchema, type ManualAppConfig } from './config.js';

type ManualDeps = Pick<ConnectorDeps<ManualAppConfig>, 'tasks' | 'slackUserIdOfEmail'>;

/**
 * A subject known only by e-mail (a new hire, a leaver typed in) may still be a Slack user, even an assignee:
 * the task must not go to them, nor be closed by them, so they are looked up once before it is created. When
 * Slack cannot say, the lookup throws and the job retries rather than risk giving a person their own task.
 */
async function withSlackIdentity(deps: ManualDeps, item: FulfillmentItem): Promise<FulfillmentItem> {
  if (item.subject.slackId) return item;
  const id = await deps.slackUserIdOfEmail(item.subject.email);
  return id ? { ...item, subject: { ...item.subject, slackId: id } } : item;
}

function outcomeOf(created: TaskCreation): Outcome {
  if (created.state === 'open') return { state: 'in_progress', detail: created.detail };
  if (created.state === 'done') return { state: 'completed', detail: created.detail };
  // The item moved on meanwhile (its request was cancelled): the core refuses this report and keeps the item's own detail.
  return { state: 'in_progress', detail: created.itemState };
}

export function createManualConnector(deps: ManualDeps): Connector {
  const assign = async (item: FulfillmentItem) => outcomeOf(deps.tasks.create(await withSlackIdentity(deps, item)));
  return {
    type: 'manual',
    // A person needs lead time: onboarding tasks go out at approval; offboarding waits for its date (the core schedules it).
    onboardsBeforeEffectiveDate: true,
    grant: assign,
    revoke: assign,
    withdraw: (itemId, actor) => deps.tasks.withdraw(itemId, actor),
  };
}

/** The manual plugin: its apps' tasks go through the core task module it is given. */
export const manualPlugin = {
  kind: 'manual',
  appSchema: manualAppSchema,
  actorName: 'a manual task',
  create: (deps): Connector => createManualConnector(deps),
} satisfies ConnectorPlugin<typeof manualAppSchema>;
