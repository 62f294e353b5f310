/**
 * The request lifecycle's operations: submit, decide, hand off to connectors, report progress, retry.
 * Each one is a single SQLite transaction that writes the change, its audit rows and the jobs for its
 * side effects together, so nothing is lost or done twice across a crash.
 */
import { randomBytes } from 'node:crypto';
import { approvalStepsOf, type AccessConfig, type AppConfig } from '../config.js';
import type { ConnectorRegistry, FulfillmentItem, ItemProgress } from '../connectors/types.js';
import { inTransaction, type Db } from '../db/connection.js';
import { writeAudit } from '../db/audit.js';
import { JOB } from '../jobs/kinds.js';
import { enqueue } from '../jobs/queue.js';
import type { Logger } from '../util/log.js';
import type { ItAdmins } from './it-admins.js';
import { startOfDateInZone, type Clock } from '../util/time.js';
import {
  canTransition, decidableBy, eligibleApprovers, excludedDeciders, subjectLabel, summarizeStates,
  type AccessRequest, type Approval, type DecisionRefusal, type Item, type ItemState, type RequestDetail, type RequestKind, type RequestOptions, type Subject,
} from './model.js';
import {
  approvalsOf, decideApproval, failedItemIds, getItem, getRequest, getRequestDetail, insertApproval, insertItem, insertRequest, openItemCount,
  touchRequest, updateItemState,
} from './repository.js';

export interface RequestDeps {
  db: Db;
  config: AccessConfig;
  clock: Clock;
  log: Logger;
  connectors: ConnectorRegistry;
  /** The IT team (config `itAdmins`): decides steps nobody listed may decide, retries, cancels. */
  itAdmins: ItAdmins;
  /** Tells the job runner that work was enqueued. */
  wake(): void;
  /** Where new request ids come from (tests force a collision); default `newRequestId`. */
  newRequestId?(): string;
}

export interface NewRequest {
  kind: RequestKind;
  requesterId: string;
  subjects: Subject[];
  appIds: string[];
  effectiveDate: string;
  justification: string;
  options: RequestOptions;
  /** Slack's view id: a retried submission of the same modal creates nothing new. */
  submissionId?: string;
}

/**
 * An id people can read aloud and search for: "AR-7K3Q9XW2MB". Ten characters of 32 (50 bits): a collision is
 * unlikely before tens of millions of requests, and `submitRequest` draws again when one happens anyway.
 */
export function newRequestId(): string {
  const alphabet = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  return `AR-${[...randomBytes(10)].map((byte) => alphabet[byte % alphabet.length]).join('')}`;
}

/** Inserts the request under a fresh id, drawing again on the (rare) id already taken. */
function insertRequestWithFreshId(deps: RequestDeps, request: Omit<AccessRequest, 'id'>): AccessRequest {
  for (let attempt = 1; ; attempt++) {
    const withId = { ...request, id: (deps.newRequestId ?? newRequestId)() };
    try {
      insertRequest(deps.db, withId);
      return withId;
    } catch (error) {
      // A failed statement rolls back only itself in SQLite: the transaction goes on with the next id.
      if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY' || attempt >= 5) throw error;
    }
  }
}

export function appById(config: AccessConfig, appId: string): AppConfig | undefined {
  return config.apps.find((app) => app.id === appId);
}

/** Debounce for re-rendering messages while a bulk run reports progress. */
export const PROGRESS_REFRESH_MS = 3000;

export function syncMessages(deps: RequestDeps, requestId: string, delayMs = 0): void {
  enqueue(deps.db, deps.clock.now(), JOB.syncRequestMessages, { requestId }, { key: `sync:${requestId}`, mode: 'coalesce', runAt: deps.clock.now() + delayMs, queue: `sync:${requestId}` });
}

export function refreshHomes(deps: RequestDeps, userIds: Iterable<string>): void {
  for (const userId of new Set(userIds)) {
    enqueue(deps.db, deps.clock.now(), JOB.refreshHome, { userId }, { key: `home:${userId}`, mode: 'coalesce', runAt: deps.clock.now() + 500 });
  }
}

export function sendDm(deps: RequestDeps, channel: string, text: string, key?: string): void {
  enqueue(deps.db, deps.clock.now(), JOB.sendMessage, { channel, text }, key ? { key } : {});
}

/** Everyone whose Home tab shows this request. */
function peopleOf(detail: Pick<RequestDetail, 'request' | 'approvals'>): string[] {
  return [detail.request.requesterId, ...detail.approvals.flatMap((approval) => approval.approvers)];
}

/** Opens the next approval step of an app: the listed approvers, or the IT channel when none may decide. */
function openStep(deps: RequestDeps, detail: Pick<RequestDetail, 'request' | 'items'>, app: AppConfig, stepIndex: number, now: number): void {
  const step = approvalStepsOf(app)[stepIndex]!;
  const eligible = eligibleApprovers(step.approvers, excludedDeciders(detail.request, detail.items, app.id));
  const fallbackToIt = eligible.length === 0;
  insertApproval(deps.db, { requestId: detail.request.id, appId: app.id, stepIndex, approvers: step.approvers, fallbackToIt }, now);
  if (fallbackToIt) {
    writeAudit(deps.db, now, { actor: 'accessbot', action: 'approval.routed_to_it', requestId: detail.request.id, appId: app.id, detail: { stepIndex } });
    sendDm(
      deps, detail.request.requesterId,
      `Nobody listed for step ${stepIndex + 1} of ${app.name} may approve request ${detail.request.id} (you cannot approve your own request, and people cannot approve their own access). It has been sent to the IT channel <#${deps.config.itChannel}> to decide.`,
    );
  }
}

export function submitRequest(deps: RequestDeps, input: NewRequest): { requestId: string; duplicate: boolean } {
  const now = deps.clock.now();
  const result = inTransaction(deps.db, () => {
    if (input.submissionId) {
      const existing = deps.db.prepare('SELECT request_id FROM submissions WHERE submission_id = ?').get(input.submissionId) as { request_id: string } | undefined;
      if (existing) return { requestId: existing.request_id, duplicate: true };
    }
    const request = insertRequestWithFreshId(deps, {
      kind: input.kind, requesterId: input.requesterId, justification: input.justification,
      effectiveDate: input.effectiveDate, options: input.options, createdAt: now, updatedAt: now,
    });
    if (input.submissionId) deps.db.prepare('INSERT INTO submissions (submission_id, request_id, at) VALUES (?, ?, ?)').run(input.submissionId, request.id, now);
    const items: Item[] = [];
    for (const appId of input.appIds) {
      for (const subject of input.subjects) {
        const id = insertItem(deps.db, request.id, appId, subject, now);
        items.push({ id, requestId: request.id, appId, subject, state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: now });
      }
    }
    writeAudit(deps.db, now, {
      actor: input.requesterId, action: 'request.submitted', requestId: request.id, toState: 'awaiting_approval',
      detail: { kind: input.kind, apps: input.appIds, subjects: input.subjects.map((s) => s.email), effectiveDate: input.effectiveDate, submissionId: input.submissionId },
    });
    for (const appId of input.appIds) openStep(deps, { request, items }, appById(deps.config, appId)!, 0, now);
    syncMessages(deps, request.id);
    refreshHomes(deps, peopleOf(getRequestDetail(deps.db, request.id)!));
    return { requestId: request.id, duplicate: false };
  });
  deps.wake();
  return result;
}

export type DecisionResult = { ok: true; decided: Approval[]; detail: RequestDetail } | ({ ok: false } & DecisionRefusal);

/** Whether this person may decide anything on the request now (before opening the deny-reason modal). */
export function checkDecision(deps: RequestDeps, requestId: string, actor: string): DecisionResult {
  const detail = getRequestDetail(deps.db, requestId);
  if (!detail) return { ok: false, reason: 'not_found' };
  const verdict = decidableBy(detail, actor);
  return 'approvals' in verdict ? { ok: true, decided: verdict.approvals, detail } : { ok: false, ...verdict };
}

/**
 * Approve or deny every pending step this person may decide on the request. Compare-and-set per approval:
 * of two racing clicks exactly one wins; the other is told who decided.
 */
export function decide(deps: RequestDeps, requestId: string, actor: string, decision: 'approve' | 'deny', reason?: string): DecisionResult {
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): DecisionResult => {
    const check = checkDecision(deps, requestId, actor);
    if (!check.ok) return check;
    const { detail } = check;
    const decided: Approval[] = [];
    for (const approval of check.decided) {
      if (!decideApproval(deps.db, approval.id, decision === 'approve' ? 'approved' : 'denied', actor, reason ?? null, now)) continue;
      decided.push(approval);
      const app = appById(deps.config, approval.appId);
      const items = detail.items.filter((item) => item.appId === approval.appId && item.state === 'awaiting_approval');
      writeAudit(deps.db, now, {
        actor, action: decision === 'approve' ? 'approval.approved' : 'approval.denied', requestId, appId: approval.appId,
        fromState: 'pending', toState: decision === 'approve' ? 'approved' : 'denied', detail: { stepIndex: approval.stepIndex, reason },
      });
      const appName = app?.name ?? approval.appId;
      if (decision === 'deny') {
        for (const item of items) transition(deps, item, 'denied', now, actor, { detail: reason ? `denied: ${reason}` : 'denied' });
        sendDm(deps, detail.request.requesterId, `Request ${requestId}: <@${actor}> denied ${appName} access${reason ? `: "${reason}"` : ''}.`);
        continue;
      }
      const steps = app ? approvalStepsOf(app) : [];
      if (app && approval.stepIndex + 1 < steps.length) {
        for (const item of items) transition(deps, item, 'awaiting_approval', now, actor, { stepIndex: approval.stepIndex + 1 });
        openStep(deps, detail, app, approval.stepIndex + 1, now);
        sendDm(deps, detail.request.requesterId, `Request ${requestId}: <@${actor}> approved step ${approval.stepIndex + 1} of ${steps.length} for ${appName}; waiting for the next approver.`);
      } else {
        for (const item of items) handOff(deps, detail, item, now, actor);
        sendDm(deps, detail.request.requesterId, `Request ${requestId}: <@${actor}> approved ${appName} access. ${handOffWhen(deps, detail, approval.appId)}`);
      }
    }
    if (decided.length === 0) {
      const refreshed = checkDecision(deps, requestId, actor);
      return refreshed.ok ? { ok: false, reason: 'already_decided', decidedBy: null, state: 'approved', decidedAt: null } : refreshed;
    }
    touchRequest(deps.db, requestId, now);
    afterChange(deps, requestId, 0);
    return { ok: true, decided, detail: getRequestDetail(deps.db, requestId)! };
  });
  deps.wake();
  return result;
}

function connectorOf(deps: RequestDeps, appId: string) {
  return deps.connectors.get(appId);
}

/** When an approved item's fulfillment may start: the effective date, or at once for connectors that need lead time. */
function fulfillmentStartsAt(deps: RequestDeps, detail: RequestDetail, appId: string, now: number): number {
  const connector = connectorOf(deps, appId);
  if (detail.request.kind === 'onboard' && connector?.onboardsBeforeEffectiveDate) return now;
  return Math.max(now, startOfDateInZone(detail.request.effectiveDate, deps.config.timezone));
}

function handOffWhen(deps: RequestDeps, detail: RequestDetail, appId: string): string {
  if (!connectorOf(deps, appId)) return 'It waits for fulfillment: no connector is configured for this app yet.';
  const startsAt = fulfillmentStartsAt(deps, detail, appId, deps.clock.now());
  return startsAt > deps.clock.now() ? `It will be carried out on ${detail.request.effectiveDate}.` : 'It is being carried out now.';
}

function handOff(deps: RequestDeps, detail: RequestDetail, item: Item, now: number, actor: string): void {
  const connector = connectorOf(deps, item.appId);
  const startsAt = fulfillmentStartsAt(deps, detail, item.appId, now);
  const waiting = !connector ? 'approved, waiting for fulfillment' : startsAt > now ? `approved, scheduled for ${detail.request.effectiveDate}` : 'approved, starting';
  transition(deps, item, 'approved', now, actor, { detail: waiting });
  if (connector) enqueue(deps.db, now, JOB.fulfillItem, { itemId: item.id }, { key: `fulfill:${item.id}`, runAt: startsAt });
}

/**
 * The one place an item changes state: the state machine's rule, compare-and-set, and its audit row. A late
 * report (a webhook about an item already completed, a click on a denied one) cannot move it back.
 */
function transition(deps: RequestDeps, item: Item, to: ItemState, now: number, actor: string, changes: { detail?: string | null; stepIndex?: number; externalId?: string | null } = {}): boolean {
  if (!canTransition(item.state, to)) {
    deps.log.warn('item change refused by the state machine', { itemId: item.id, requestId: item.requestId, from: item.state, to });
    return false;
  }
  if (!updateItemState(deps.db, item.id, item.state, to, now, changes)) return false;
  writeAudit(deps.db, now, {
    actor, action: `item.${to}`, requestId: item.requestId, itemId: item.id, appId: item.appId, fromState: item.state, toState: to,
    detail: { subject: item.subject.email, ...changes },
  });
  return true;
}

/**
 * Re-render messages and Home tabs; a request that just finished tells its requester how it ended. Called once
 * per item change, so it reads no more than it needs: a bulk request must not reload all its items each time.
 */
function afterChange(deps: RequestDeps, requestId: string, delayMs: number, wasFinished?: boolean): void {
  const request = getRequest(deps.db, requestId)!;
  syncMessages(deps, requestId, delayMs);
  refreshHomes(deps, peopleOf({ request, approvals: approvalsOf(deps.db, requestId) }));
  if (wasFinished === false && openItemCount(deps.db, requestId) === 0) {
    const detail = getRequestDetail(deps.db, requestId)!;
    const failed = detail.items.filter((item) => item.state === 'failed');
    const text = failed.length
      ? `Request ${requestId} finished with problems: ${summarizeStates(detail.items)}. IT has been alerted and can retry the failed items.`
      : `Request ${requestId} is done: ${summarizeStates(detail.items)}.`;
    sendDm(deps, detail.request.requesterId, text);
  }
}

/** Connector-facing progress reporting. */
export function createItemProgress(deps: RequestDeps): ItemProgress {
  const change = (itemId: number, to: ItemState, detail: string, actor: string, externalId?: string) => {
    const now = deps.clock.now();
    inTransaction(deps.db, () => {
      const item = getItem(deps.db, itemId);
      if (!item) return;
      if (item.state === to && to !== 'in_progress') return;
      const wasFinished = openItemCount(deps.db, item.requestId) === 0;
      const changes = externalId === undefined ? { detail } : { detail, externalId };
      if (!transition(deps, item, to, now, actor, changes)) {
        deps.log.warn('item did not move: it had changed meanwhile', { itemId, from: item.state, to });
        return;
      }
      touchRequest(deps.db, item.requestId, now);
      if (to === 'failed') {
        const app = appById(deps.config, item.appId);
        sendDm(deps, getRequest(deps.db, item.requestId)!.requesterId,
          `Request ${item.requestId}: ${app?.name ?? item.appId} for ${subjectLabel(item.subject)} could not be done: ${detail}. IT has been alerted.`);
      }
      afterChange(deps, item.requestId, to === 'in_progress' ? PROGRESS_REFRESH_MS : 0, wasFinished);
    });
    deps.wake();
  };
  return {
    update: (itemId, detail, actor = 'accessbot', externalId) => change(itemId, 'in_progress', detail, actor, externalId),
    complete: (itemId, detail, actor = 'accessbot', externalId) => change(itemId, 'completed', detail, actor, externalId),
    fail: (itemId, reason, actor = 'accessbot') => change(itemId, 'failed', reason, actor),
  };
}

/** The connector's view of an item. */
export function fulfillmentItemOf(deps: RequestDeps, itemId: number): FulfillmentItem | undefined {
  const item = getItem(deps.db, itemId);
  if (!item) return undefined;
  const request = getRequest(deps.db, item.requestId)!;
  const approved = approvalsOf(deps.db, item.requestId, item.appId).filter((a) => a.state === 'approved');
  return {
    itemId, requestId: item.requestId, appId: item.appId, kind: request.kind, subject: item.subject, externalId: item.externalId,
    effectiveDate: request.effectiveDate, requesterId: request.requesterId, justification: request.justification,
    approvedBy: approved.map((a) => a.decidedBy!),
    approvedAt: Math.max(0, ...approved.map((a) => a.decidedAt ?? 0)),
    options: { role: request.options.autodeskRole, teams: request.options.autodeskTeams },
  };
}

/** Marks an approved item as being worked on; false when it is no longer the connector's to do. */
export function beginFulfillment(deps: RequestDeps, itemId: number): boolean {
  const now = deps.clock.now();
  return inTransaction(deps.db, () => {
    const item = getItem(deps.db, itemId);
    if (!item) return false;
    if (item.state === 'in_progress') return true;
    if (item.state !== 'approved') return false;
    const moved = transition(deps, item, 'in_progress', now, 'accessbot', { detail: 'in progress' });
    if (moved) afterChange(deps, item.requestId, PROGRESS_REFRESH_MS);
    return moved;
  });
}

export type RetryResult = { ok: true; retried: number } | { ok: false; message: string };

/** Puts a request's failed items of one app back in the queue; only that app's approvers may. */
export function retryFailed(deps: RequestDeps, requestId: string, appId: string, actor: string): RetryResult {
  const app = appById(deps.config, appId);
  if (!app) return { ok: false, message: `The app "${appId}" is no longer configured.` };
  const approvers = new Set(approvalStepsOf(app).flatMap((step) => step.approvers));
  if (!approvers.has(actor)) return { ok: false, message: `Only ${app.name} approvers can retry it (${[...approvers].map((a) => `<@${a}>`).join(', ')}).` };
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): RetryResult => {
    const ids = failedItemIds(deps.db, requestId, appId);
    if (ids.length === 0) return { ok: false, message: 'Nothing to retry: no item of this request is failed any more.' };
    for (const id of ids) {
      const item = getItem(deps.db, id)!;
      transition(deps, item, 'approved', now, actor, { detail: `retry requested by <@${actor}>` });
      enqueue(deps.db, now, JOB.fulfillItem, { itemId: id }, { key: `fulfill:${id}:retry:${now}` });
    }
    writeAudit(deps.db, now, { actor, action: 'request.retried', requestId, appId, detail: { items: ids } });
    afterChange(deps, requestId, 0);
    return { ok: true, retried: ids.length };
  });
  deps.wake();
  return result;
}
