/**
 * Access that ends by itself (`end_date`). When an onboarding item with an end date completes, two jobs keyed by
 * the item are queued in the same transaction: a warning `accessEndingWarning` before the date, and the expiry at
 * the first instant of the date in the config's timezone. The expiry files an offboarding of that person from that
 * app, pre-approved by the original approval (no new round), and hands it to the connector like any other.
 *
 * Both jobs ask at run time whether the end still stands, so nothing has to be cancelled when it moves: a later
 * onboarding of the same person to the same app (an extension, approved or done) supersedes it, and so does an
 * offboarding already filed. A job run twice (a crash after the offboarding was filed) finds the audit row and
 * files nothing.
 */
import { z } from 'zod';
import { writeAudit } from '../db/audit.js';
import { inTransaction, type Db } from '../db/connection.js';
import { defineJob } from '../jobs/kinds.js';
import { cancelJobs, enqueue } from '../jobs/queue.js';
import type { JobRunner } from '../jobs/runner.js';
import { startOfDateInZone } from '../util/time.js';
import type { Item } from './model.js';
import { notify, refreshHomes, syncMessages } from './notices.js';
import { approvalsOf, decideApproval, getItem, getRequest, getRequestDetail, insertApproval, insertItem } from './repository.js';
import { handOff, insertRequestWithFreshId, type RequestDeps } from './service.js';

declare module '../jobs/kinds.js' {
  interface JobPayloads {
    'access.ending_warning': { itemId: number };
    'access.expire': { itemId: number };
  }
}

export const EXPIRY_JOB = {
  /** Tell the person and the requester that an access ends soon, with a way to ask for more. */
  warn: defineJob('access.ending_warning', z.object({ itemId: z.number().int() })),
  /** File the offboarding of an access whose end date has come. */
  expire: defineJob('access.expire', z.object({ itemId: z.number().int() })),
} as const;

const warnKey = (itemId: number) => `access-ending:${itemId}`;
const expireKey = (itemId: number) => `access-expire:${itemId}`;

/** Call in the transaction that completed an onboarding item with an end date. */
export function scheduleExpiry(deps: Pick<RequestDeps, 'db' | 'config'>, item: Pick<Item, 'id'>, endDate: string, now: number): void {
  const endsAt = startOfDateInZone(endDate, deps.config.timezone);
  enqueue(deps.db, now, EXPIRY_JOB.warn, { itemId: item.id }, { key: warnKey(item.id), runAt: Math.max(now, endsAt - deps.config.accessEndingWarning) });
  enqueue(deps.db, now, EXPIRY_JOB.expire, { itemId: item.id }, { key: expireKey(item.id), runAt: Math.max(now, endsAt) });
}

/**
 * Why an end no longer stands, or undefined when it does: the item is not a completed onboarding with an end date,
 * or something later about the same person and app took over (an extension, an offboarding).
 */
export function endSuperseded(db: Db, item: Item): string | undefined {
  if (item.state !== 'completed' || !item.endDate) return `the item is ${item.state}`;
  const later = db
    .prepare(
      `SELECT items.request_id AS requestId, requests.kind AS kind FROM items JOIN requests ON requests.id = items.request_id
       WHERE items.app_id = ? AND lower(items.subject_email) = lower(?) AND items.id > ?
         AND ((requests.kind = 'onboard' AND items.state IN ('approved', 'in_progress', 'completed'))
           OR (requests.kind = 'offboard' AND items.state NOT IN ('denied', 'cancelled')))
       ORDER BY items.id DESC LIMIT 1`,
    )
    .get(item.appId, item.subject.email, item.id) as { requestId: string; kind: string } | undefined;
  if (!later) return undefined;
  return later.kind === 'onboard' ? `extended by ${later.requestId}` : `offboarding already filed: ${later.requestId}`;
}

function alreadyExpired(db: Db, itemId: number): string | undefined {
  const row = db
    .prepare("SELECT request_id AS requestId FROM audit WHERE action = 'access.expired' AND json_extract(detail, '$.expiredItemId') = ? LIMIT 1")
    .get(itemId) as { requestId: string } | undefined;
  return row?.requestId;
}

/** The offboarding an end date files, or why none was filed. Exported for tests that run it directly. */
export function expireItem(deps: RequestDeps, itemId: number): { filed: string } | { skipped: string } {
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): { filed: string } | { skipped: string } => {
    const item = getItem(deps.db, itemId);
    if (!item) return { skipped: 'no such item' };
    const filedBefore = alreadyExpired(deps.db, itemId);
    if (filedBefore) return { skipped: `already filed as ${filedBefore}` };
    const superseded = endSuperseded(deps.db, item);
    if (superseded) {
      writeAudit(deps.db, now, { actor: 'accessbot', action: 'access.expiry_skipped', requestId: item.requestId, itemId, appId: item.appId, detail: { endDate: item.endDate, why: superseded } });
      return { skipped: superseded };
    }
    const original = getRequest(deps.db, item.requestId)!;
    const endDate = item.endDate!;
    const request = insertRequestWithFreshId(deps, {
      kind: 'offboard', requesterId: original.requesterId, effectiveDate: endDate, options: {}, createdAt: now, updatedAt: now,
      justification: `Access ended on ${endDate}, the end date of ${original.id}.`,
    });
    const newItemId = insertItem(deps.db, request.id, item.appId, item.subject, now);
    // The original approvers' decision covered the whole span, its end included: no new round.
    const preApproved = `pre-approved by the approval of ${original.id}`;
    for (const approval of approvalsOf(deps.db, original.id, item.appId).filter((a) => a.state === 'approved')) {
      const id = insertApproval(deps.db, { requestId: request.id, appId: item.appId, stepIndex: approval.stepIndex, approvers: approval.approvers, fallbackToIt: approval.fallbackToIt }, now);
      decideApproval(deps.db, id, 'approved', approval.decidedBy!, preApproved, now, approval.decidedFor);
    }
    writeAudit(deps.db, now, {
      actor: 'accessbot', action: 'access.expired', requestId: request.id, itemId: newItemId, appId: item.appId, toState: 'approved',
      detail: { subject: item.subject.email, endDate, expiredItemId: itemId, expiredRequestId: original.id, approval: preApproved },
    });
    const detail = getRequestDetail(deps.db, request.id)!;
    handOff(deps, detail, detail.items[0]!, now, 'accessbot');
    cancelJobs(deps.db, now, warnKey(itemId));
    syncMessages(deps, request.id);
    refreshHomes(deps, [original.requesterId]);
    return { filed: request.id };
  });
  deps.wake();
  return result;
}

function warn(deps: RequestDeps, itemId: number): void {
  inTransaction(deps.db, () => {
    const item = getItem(deps.db, itemId);
    if (!item || endSuperseded(deps.db, item)) return;
    const request = getRequest(deps.db, item.requestId)!;
    const notice = { type: 'access_ending', requestId: request.id, itemId, appId: item.appId, subject: item.subject, endDate: item.endDate! } as const;
    if (item.subject.slackId) notify(deps, item.subject.slackId, { ...notice, audience: 'subject' });
    if (request.requesterId !== item.subject.slackId) notify(deps, request.requesterId, { ...notice, audience: 'requester' });
    writeAudit(deps.db, deps.clock.now(), { actor: 'accessbot', action: 'access.ending_warned', requestId: request.id, itemId, appId: item.appId, detail: { endDate: item.endDate } });
  });
  deps.wake();
}

export function registerExpiryJobs(runner: JobRunner, deps: RequestDeps): void {
  runner.register(EXPIRY_JOB.warn, {
    logFields: ({ itemId }) => ({ itemId }),
    run: ({ itemId }) => Promise.resolve(warn(deps, itemId)),
  });
  runner.register(EXPIRY_JOB.expire, {
    logFields: ({ itemId }) => ({ itemId }),
    run: ({ itemId }) => {
      const outcome = expireItem(deps, itemId);
      deps.log.info('file' in outcome ? 'access ended: offboarding filed' : 'access end did not fire', { itemId, ...outcome });
      return Promise.resolve();
    },
  });
}
