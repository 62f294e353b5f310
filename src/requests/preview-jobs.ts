/**
 * The preview job (what approving a request will do, read from the apps after its cards are posted) and what
 * happens when, at execution, the connector finds another account than the approvers saw: the item goes back
 * to them instead of being acted on.
 */
import type { Connector, FulfillmentItem } from '../connectors/types.js';
import type { PreviewChanged } from '../connectors/preview.js';
import { writeAudit } from '../db/audit.js';
import { inTransaction } from '../db/connection.js';
import { PermanentError } from '../jobs/errors.js';
import { retireKey } from '../jobs/queue.js';
import type { JobRunner } from '../jobs/runner.js';
import { eligibleApprovers } from './model.js';
import { notify } from './notices.js';
import { peopleFacts } from './people.js';
import { PREVIEW_JOB, previewsOfRequest, storePreview } from './previews.js';
import { scheduleApprovalReminder } from './reminders.js';
import { approvalsOf, getItem, getRequestDetail, touchRequest } from './repository.js';
import { afterChange, fulfillmentItemOf, syncMessages, transition, type RequestDeps } from './service.js';

/** A preview the app does not answer for is tried this many times (a few seconds apart), then the card says so for good. */
export const PREVIEW_ATTEMPTS = 4;

export const UNAVAILABLE_RETRYING = 'preview unavailable for now (the app did not answer); trying again. Approving does not wait for it';
export const UNAVAILABLE = 'preview unavailable (the app did not answer)';

export function registerPreviewJob(runner: JobRunner, deps: RequestDeps): void {
  runner.register(PREVIEW_JOB, {
    logFields: ({ requestId }) => ({ requestId }),
    async run({ requestId }, job) {
      const detail = getRequestDetail(deps.db, requestId);
      if (!detail) return;
      const read = new Set(previewsOfRequest(deps.db, requestId).filter((preview) => preview.state === 'ok').map((preview) => preview.itemId));
      // Grouped by connector instance: every Autodesk app of the request shares one listing.
      const batches = new Map<Connector, FulfillmentItem[]>();
      for (const item of detail.items) {
        const connector = deps.connectors.get(item.appId);
        if (!connector?.preview || item.state !== 'awaiting_approval' || read.has(item.id)) continue;
        batches.set(connector, [...(batches.get(connector) ?? []), fulfillmentItemOf(deps, item.id)!]);
      }
      for (const [connector, items] of batches) {
        try {
          const previews = await connector.preview!(items, detail.request.createdAt, job);
          inTransaction(deps.db, () => {
            for (const preview of previews) storePreview(deps.db, preview);
            syncMessages(deps, requestId);
          });
          deps.wake();
        } catch (error) {
          const last = error instanceof PermanentError || job.attempts + 1 >= PREVIEW_ATTEMPTS;
          const now = deps.clock.now();
          inTransaction(deps.db, () => {
            const summary = last ? UNAVAILABLE : UNAVAILABLE_RETRYING;
            for (const item of items) storePreview(deps.db, { itemId: item.itemId, accountId: null, email: null, status: null, lastLogin: null, summary, readAt: now }, 'unavailable');
            syncMessages(deps, requestId);
          });
          deps.wake();
          if (!last) throw error;
          job.log.warn('approval preview unavailable; the cards say so', { requestId, error: (error as Error).message });
        }
      }
    },
  });
}

/**
 * The connector found another account than the approvers were shown, before doing anything: the item goes back to
 * the last approval step of its app, which reopens (compare-and-set: only an approved step reopens), with the new
 * account as its preview. Earlier steps stay decided: they approved the request; the last one approves the account.
 * False when it could not be reopened (the step is no longer approved): the caller fails the item instead.
 */
export function askApproversAgain(deps: RequestDeps, itemId: number, changed: PreviewChanged): boolean {
  const now = deps.clock.now();
  const result = inTransaction(deps.db, () => {
    const item = getItem(deps.db, itemId);
    if (!item || item.state !== 'in_progress') return false;
    const approvals = approvalsOf(deps.db, item.requestId, item.appId);
    const last = approvals.reduce((a, b) => (b.stepIndex > a.stepIndex ? b : a));
    const reopened = deps.db.prepare(
      `UPDATE approvals SET state = 'pending', decided_by = NULL, decided_for = NULL, decided_at = NULL, reason = NULL, created_at = ?, reminders_sent = 0, escalated_at = NULL
       WHERE id = ? AND state = 'approved'`,
    ).run(now, last.id).changes === 1;
    // Another item of the app already reopened it: this one joins the same decision.
    if (!reopened && last.state !== 'pending') return false;
    const detail = `stopped before any change: ${changed.message}; the approvers were asked again`;
    if (!transition(deps, item, 'awaiting_approval', now, 'accessbot', { detail, stepIndex: last.stepIndex })) return false;
    storePreview(deps.db, changed.current);
    // The running fulfillment job holds the item's job key; the re-approval must be able to queue a new one under it.
    retireKey(deps.db, now, `fulfill:${itemId}`);
    writeAudit(deps.db, now, {
      actor: 'accessbot', action: 'item.preview_changed', requestId: item.requestId, itemId, appId: item.appId,
      detail: { previewed: changed.previewed, found: changed.current, reopenedStep: last.stepIndex },
    });
    const request = getRequestDetail(deps.db, item.requestId)!;
    const notice = { type: 'preview_changed', requestId: item.requestId, appId: item.appId, subject: item.subject, change: changed.message } as const;
    if (reopened) {
      writeAudit(deps.db, now, { actor: 'accessbot', action: 'approval.reopened', requestId: item.requestId, appId: item.appId, detail: { stepIndex: last.stepIndex, itemId } });
      scheduleApprovalReminder(deps, last.id, now);
      const deciders = last.fallbackToIt ? [deps.config.itChannel] : eligibleApprovers(request, item.appId, last.stepIndex, last.approvers, peopleFacts(deps));
      for (const decider of deciders) notify(deps, decider, { ...notice, audience: 'approver' });
      // Once per reopening: the status message lists every item that went back.
      notify(deps, request.request.requesterId, { ...notice, audience: 'requester' });
    }
    touchRequest(deps.db, item.requestId, now);
    afterChange(deps, item.requestId, 0);
    return true;
  });
  deps.wake();
  return result;
}
