/**
 * Do it by hand: the failed items of one app in a request (retries exhausted, or what its API cannot do) become
 * tasks, assigned like any task (the app's assignees, else the IT admins; never the person it is about), whose
 * steps say what the connector tried. Marking the task done completes the item (`completeTask`). Only the IT
 * admins may choose it; once chosen, the items are no longer failed, so Retry finds nothing, and the other way
 * round. Nothing here knows Slack: the refusal is a code, `src/slack/replies.ts` words it.
 */
import { isProtectedEmail } from '../config.js';
import { writeAudit } from '../db/audit.js';
import { inTransaction } from '../db/connection.js';
import { PermanentError } from '../jobs/errors.js';
import { failedItemIds, getItem, updateItemState } from './repository.js';
import { afterChange, fulfillmentItemOf, transition, type RequestDeps } from './service.js';
import { taskOfItem } from '../tasks/repository.js';
import { createTask, type TaskDeps } from '../tasks/service.js';

export type ByHandRefusal =
  /** `allowed`: the IT admins, who may. */
  | { reason: 'not_allowed'; allowed: string[] }
  | { reason: 'nothing_failed'; requestId: string };

/** `skipped`: failed items that stay failed, with why (a protected account, nobody but the subject to assign). */
export type ByHandResult =
  | { ok: true; tasks: { taskId: number; assignee: string }[]; skipped: { email: string; why: 'protected' | 'no_assignee' }[] }
  | ({ ok: false } & ByHandRefusal);

export function finishByHand(deps: RequestDeps & { tasks: TaskDeps }, requestId: string, appId: string, actor: string): ByHandResult {
  if (!deps.itAdmins.has(actor)) return { ok: false, reason: 'not_allowed', allowed: deps.itAdmins.members() };
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): ByHandResult => {
    // Read in the transaction: of two racing clicks (or Slack's retry of one) the second finds nothing failed.
    const ids = failedItemIds(deps.db, requestId, appId);
    if (ids.length === 0) return { ok: false, reason: 'nothing_failed', requestId };
    const tasks: { taskId: number; assignee: string }[] = [];
    const skipped: { email: string; why: 'protected' | 'no_assignee' }[] = [];
    for (const id of ids) {
      const item = getItem(deps.db, id)!;
      // A protected account is never changed, by the connector or by a task: it stays failed, and the answer says so.
      if (isProtectedEmail(deps.config, item.subject.email)) {
        skipped.push({ email: item.subject.email, why: 'protected' });
        continue;
      }
      const byHand = { tried: item.detail ?? 'failed', askedBy: actor, askedAt: now };
      try {
        // One savepoint per item: one that cannot become a task stays failed without undoing the others.
        inTransaction(deps.db, () => {
          transition(deps, item, 'in_progress', now, actor, { detail: ['being finished by hand, asked by ', { person: actor }] });
          const created = createTask(deps.tasks, fulfillmentItemOf(deps, id)!, byHand);
          if (created.state !== 'open') throw new Error(`task of item ${id} did not open: ${created.state}`);
          const taskId = taskOfItem(deps.db, id)!.id;
          updateItemState(deps.db, id, 'in_progress', 'in_progress', now, {
            detail: ['being finished by hand (asked by ', { person: actor }, `): task #${taskId} for `, { person: created.assignee }],
          });
          tasks.push({ taskId, assignee: created.assignee });
        });
      } catch (error) {
        if (!(error instanceof PermanentError)) throw error;
        skipped.push({ email: item.subject.email, why: 'no_assignee' });
      }
    }
    writeAudit(deps.db, now, { actor, action: 'request.by_hand', requestId, appId, detail: { items: ids, tasks, skipped } });
    afterChange(deps, requestId, 0);
    return { ok: true, tasks, skipped };
  });
  deps.wake();
  return result;
}

/** What IT last chose about an app's failed items of a request, for the alert once nothing is failed any more. */
export function lastFailureChoice(deps: Pick<RequestDeps, 'db'>, requestId: string, appId: string): { choice: 'retry' | 'by_hand'; by: string; at: number } | undefined {
  const row = deps.db
    .prepare("SELECT action, actor, at FROM audit WHERE request_id = ? AND app_id = ? AND action IN ('request.retried', 'request.by_hand') ORDER BY id DESC LIMIT 1")
    .get(requestId, appId) as { action: string; actor: string; at: number } | undefined;
  return row && { choice: row.action === 'request.by_hand' ? 'by_hand' : 'retry', by: row.actor, at: row.at };
}
