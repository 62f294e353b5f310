/**
 * The request lifecycle's operations: submit, decide, hand off to connectors, report progress, retry.
 * Each one is a single SQLite transaction that writes the change, its audit rows and the jobs for its
 * side effects together, so nothing is lost or done twice across a crash.
 */
import { randomBytes } from 'node:crypto';
import { appById, approvalStepsOf, type AccessConfig, type AppConfig } from '../config.js';
import type { ConnectorRegistry, FulfillmentItem, ItemDetail, ItemProgress } from '../connectors/types.js';
import { inTransaction, type Db } from '../db/connection.js';
import { writeAudit } from '../db/audit.js';
import { JOB } from '../jobs/kinds.js';
import { cancelJobs, enqueue } from '../jobs/queue.js';
import type { Logger } from '../util/log.js';
import { expandApprovers, type ApproverEntries } from './approver-entries.js';
import type { ValidRequest } from './intake.js';
import type { ItAdmins } from './it-admins.js';
import { notify, PROGRESS_REFRESH_MS, refreshHomes, syncMessages, type Notice } from './notices.js';
import { peopleFacts, type KnownEmails } from './people.js';
import { schedulePreview } from './previews.js';
import { queueReportsOnFinish, refreshReportsOf } from './person-report.js';
import { scheduleApprovalReminder } from './reminders.js';
import { scheduleExpiry } from './expiry.js';
import type { Words } from './words.js';
import { startOfDateInZone, type Clock } from '../util/time.js';
import { taskOfItem } from '../tasks/repository.js';
import { withdrawTask, type TaskDeps } from '../tasks/service.js';
import {
  canTransition, countStates, decidableBy, decidingFor, eligibleApprovers, isCancellable, isOpenRequest,
  type AccessRequest, type Approval, type DecisionRefusal, type Item, type ItemState, type RequestDetail,
} from './model.js';
import {
  approvalsOf, cancelApproval, decideApproval, failedItemIds, getItem, getRequest, getRequestDetail, insertApproval, insertItem, insertRequest, openItemCount,
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
  /** What approver entries (user groups, e-mails) name, as last read from Slack; absent: entries are user ids. */
  approverEntries?: ApproverEntries;
  /** Slack e-mails of approvers and clickers, when read: a subject known only by e-mail is matched with them. */
  knownEmails?: KnownEmails;
  /** Tells the job runner that work was enqueued. */
  wake: () => void;
  /** Where new request ids come from (tests force a collision); default `newRequestId`. */
  newRequestId?(): string;
  /** The task module, for items being finished by hand (their task is withdrawn on cancel). */
  tasks?: TaskDeps;
}

/** A request intake found valid, and who files it. */
export interface NewRequest extends ValidRequest {
  requesterId: string;
  /** Slack's view id: a retried submission of the same modal creates nothing new. */
  submissionId?: string;
  /** Who the audit says submitted it, when not the requester (`accessbot` filing for a leaver). */
  submittedBy?: string;
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
export function insertRequestWithFreshId(deps: RequestDeps, request: Omit<AccessRequest, 'id'>): AccessRequest {
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

// Where they were defined before notices.ts: connectors import them from here (slices A/B move those imports).
export { PROGRESS_REFRESH_MS, refreshHomes, syncMessages };

/** Re-renders every message about a request (a click on a card that no longer matches it). */
export function rerenderRequest(deps: RequestDeps, requestId: string): void {
  if (!getRequest(deps.db, requestId)) return;
  syncMessages(deps, requestId);
  deps.wake();
}

/** Everyone whose Home tab shows this request: the IT admins too while a step is theirs to decide, and delegates. */
function peopleOf(deps: RequestDeps, detail: Pick<RequestDetail, 'request' | 'approvals'>): string[] {
  const it = detail.approvals.some((approval) => approval.fallbackToIt) ? deps.itAdmins.members() : [];
  const facts = peopleFacts(deps);
  const approvers = detail.approvals.flatMap((approval) => approval.approvers);
  const delegates = approvers.flatMap((approver) => facts.delegateOf?.(approver) ?? []);
  return [detail.request.requesterId, ...approvers, ...delegates, ...it];
}

/**
 * Opens the next approval step of an app: the listed approvers who may decide it, or the IT admins when none
 * may (each is the requester, a subject, or decided an earlier step of this chain).
 */
function openStep(deps: RequestDeps, detail: Pick<RequestDetail, 'request' | 'items'>, app: AppConfig, stepIndex: number, now: number): void {
  const step = approvalStepsOf(app)[stepIndex]!;
  // Stored with the step: a user group that changes later does not move a step already open.
  const approvers = expandApprovers(deps, step.approvers);
  // Read afresh: the step just decided is not in the caller's snapshot.
  const approvals = approvalsOf(deps.db, detail.request.id, app.id);
  const eligible = eligibleApprovers({ ...detail, approvals }, app.id, stepIndex, approvers, peopleFacts(deps));
  const fallbackToIt = eligible.length === 0;
  const approvalId = insertApproval(deps.db, { requestId: detail.request.id, appId: app.id, stepIndex, approvers, fallbackToIt }, now);
  scheduleApprovalReminder(deps, approvalId, now);
  if (fallbackToIt) {
    writeAudit(deps.db, now, { actor: 'accessbot', action: 'approval.routed_to_it', requestId: detail.request.id, appId: app.id, detail: { stepIndex } });
    // IT steps are decided by IT admins themselves: an admin's delegation does not hand them on.
    if (eligibleApprovers({ ...detail, approvals }, app.id, stepIndex, deps.itAdmins.members(), { ...peopleFacts(deps), delegateOf: undefined }).length === 0) {
      // Every IT admin is barred too (they asked, it is their access, or they decided step 1): say so rather than let it wait unseen.
      notify(deps, deps.config.itChannel, { type: 'step_undecidable', requestId: detail.request.id, appId: app.id, stepIndex });
    }
    notify(deps, detail.request.requesterId, { type: 'step_routed_to_it', requestId: detail.request.id, appId: app.id, stepIndex, itChannel: deps.config.itChannel });
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
        const endDate = input.kind === 'onboard' ? input.endDate ?? null : null;
        const id = insertItem(deps.db, request.id, appId, subject, now, endDate);
        items.push({ id, requestId: request.id, appId, subject, state: 'awaiting_approval', stepIndex: 0, detail: null, externalId: null, updatedAt: now, endDate });
      }
    }
    writeAudit(deps.db, now, {
      actor: input.submittedBy ?? input.requesterId, action: 'request.submitted', requestId: request.id, toState: 'awaiting_approval',
      detail: { kind: input.kind, apps: input.appIds, subjects: input.subjects.map((s) => s.email), effectiveDate: input.effectiveDate, ...(input.endDate ? { endDate: input.endDate } : {}), submissionId: input.submissionId },
    });
    for (const appId of input.appIds) openStep(deps, { request, items }, appById(deps.config, appId)!, 0, now);
    syncMessages(deps, request.id);
    // After the cards, in its own job: they never wait for what the app says approving will do.
    if (input.appIds.some((appId) => connectorOf(deps, appId)?.preview)) schedulePreview(deps.db, now, request.id);
    refreshHomes(deps, peopleOf(deps, getRequestDetail(deps.db, request.id)!));
    return { requestId: request.id, duplicate: false };
  });
  deps.wake();
  return result;
}

export type DecisionResult = { ok: true; decided: Approval[]; detail: RequestDetail } | ({ ok: false } & DecisionRefusal);

export interface DecisionOptions {
  /** The approvals the clicked button was rendered for; it decides none other. Absent: all this person may decide. */
  approvalIds?: readonly number[];
  reason?: string;
}

/** What this person's click would decide now (before opening the deny-reason modal). */
export function checkDecision(deps: RequestDeps, requestId: string, actor: string, approvalIds?: readonly number[]): DecisionResult {
  const detail = getRequestDetail(deps.db, requestId);
  if (!detail) return { ok: false, reason: 'not_found' };
  const verdict = decidableBy(detail, actor, peopleFacts(deps), approvalIds);
  return 'approvals' in verdict ? { ok: true, decided: verdict.approvals, detail } : { ok: false, ...verdict };
}

/**
 * Approve or deny the pending steps the clicked button was rendered for, of those this person may decide.
 * Compare-and-set per approval: of two racing clicks exactly one wins; the other is told who decided.
 */
export function decide(deps: RequestDeps, requestId: string, actor: string, decision: 'approve' | 'deny', options: DecisionOptions = {}): DecisionResult {
  const { approvalIds, reason } = options;
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): DecisionResult => {
    const check = checkDecision(deps, requestId, actor, approvalIds);
    if (!check.ok) return check;
    const { detail } = check;
    const decided: Approval[] = [];
    const facts = peopleFacts(deps);
    for (const approval of check.decided) {
      const forWhom = decidingFor(detail, approval, actor, facts);
      if (!decideApproval(deps.db, approval.id, decision === 'approve' ? 'approved' : 'denied', actor, reason ?? null, now, forWhom)) continue;
      decided.push(approval);
      const app = appById(deps.config, approval.appId);
      const items = detail.items.filter((item) => item.appId === approval.appId && item.state === 'awaiting_approval');
      writeAudit(deps.db, now, {
        actor, action: decision === 'approve' ? 'approval.approved' : 'approval.denied', requestId, appId: approval.appId,
        fromState: 'pending', toState: decision === 'approve' ? 'approved' : 'denied', detail: { stepIndex: approval.stepIndex, reason, ...(forWhom ? { for: forWhom } : {}) },
      });
      const decider = { requestId, appId: approval.appId, by: actor, forWhom };
      if (decision === 'deny') {
        for (const item of items) transition(deps, item, 'denied', now, actor, { detail: reason ? `denied: ${reason}` : 'denied' });
        notify(deps, detail.request.requesterId, { type: 'denied', ...decider, reason: reason ?? null });
        continue;
      }
      const steps = app ? approvalStepsOf(app) : [];
      if (app && approval.stepIndex + 1 < steps.length) {
        for (const item of items) transition(deps, item, 'awaiting_approval', now, actor, { stepIndex: approval.stepIndex + 1 });
        openStep(deps, detail, app, approval.stepIndex + 1, now);
        notify(deps, detail.request.requesterId, { type: 'step_approved', ...decider, stepIndex: approval.stepIndex, steps: steps.length });
      } else {
        for (const item of items) handOff(deps, detail, item, now, actor);
        notify(deps, detail.request.requesterId, { type: 'approved', ...decider, fulfillment: handOffWhen(deps, detail, approval.appId) });
      }
    }
    if (decided.length === 0) {
      const refreshed = checkDecision(deps, requestId, actor, approvalIds);
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

function handOffWhen(deps: RequestDeps, detail: RequestDetail, appId: string): Extract<Notice, { type: 'approved' }>['fulfillment'] {
  if (!connectorOf(deps, appId)) return { when: 'no_connector' };
  const startsAt = fulfillmentStartsAt(deps, detail, appId, deps.clock.now());
  return startsAt > deps.clock.now() ? { when: 'on', date: detail.request.effectiveDate } : { when: 'now' };
}

export function handOff(deps: RequestDeps, detail: RequestDetail, item: Item, now: number, actor: string): void {
  const connector = connectorOf(deps, item.appId);
  const startsAt = fulfillmentStartsAt(deps, detail, item.appId, now);
  const waiting = !connector ? 'approved, waiting for fulfillment' : startsAt > now ? `approved, scheduled for ${detail.request.effectiveDate}` : 'approved, starting';
  transition(deps, item, 'approved', now, actor, { detail: waiting });
  if (connector) enqueue(deps.db, now, JOB.fulfillItem, { itemId: item.id }, { key: `fulfill:${item.id}`, runAt: startsAt });
}

/**
 * The one place an item changes state: the state machine's rule, compare-and-set, and its audit row. A late
 * report (a webhook about an item already completed, a click on a denied one) cannot move it back. The detail is
 * words (src/requests/words.ts): Slack words them when it shows the item.
 */
export function transition(deps: RequestDeps, item: Item, to: ItemState, now: number, actor: string, changes: { detail?: Words | null; stepIndex?: number; externalId?: string | null } = {}): boolean {
  if (!canTransition(item.state, to)) {
    deps.log.warn('item change refused by the state machine', { itemId: item.id, requestId: item.requestId, from: item.state, to });
    return false;
  }
  if (!updateItemState(deps.db, item.id, item.state, to, now, changes)) return false;
  writeAudit(deps.db, now, {
    actor, action: `item.${to}`, requestId: item.requestId, itemId: item.id, appId: item.appId, fromState: item.state, toState: to,
    detail: { subject: item.subject.email, ...changes },
  });
  refreshReportsOf(deps.db, now, item.subject.email);
  if (to === 'completed' && item.endDate) scheduleExpiry(deps, item, item.endDate, now);
  return true;
}

/**
 * Re-render messages and Home tabs; a request that just finished tells its requester how it ended. Called once
 * per item change, so it reads no more than it needs: a bulk request must not reload all its items each time.
 */
export function afterChange(deps: RequestDeps, requestId: string, delayMs: number, wasFinished?: boolean): void {
  const request = getRequest(deps.db, requestId)!;
  syncMessages(deps, requestId, delayMs);
  refreshHomes(deps, peopleOf(deps, { request, approvals: approvalsOf(deps.db, requestId) }));
  if (wasFinished === false && openItemCount(deps.db, requestId) === 0) {
    const detail = getRequestDetail(deps.db, requestId)!;
    notify(deps, detail.request.requesterId, { type: 'request_finished', requestId, states: countStates(detail.items) });
    queueReportsOnFinish(deps.db, deps.clock.now(), requestId);
  }
}

/** Connector-facing progress reporting. */
export function createItemProgress(deps: RequestDeps): ItemProgress {
  const change = (itemId: number, to: ItemState, detail: ItemDetail, actor: string, externalId?: string) => {
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
        notify(deps, getRequest(deps.db, item.requestId)!.requesterId, { type: 'item_failed', requestId: item.requestId, appId: item.appId, subject: item.subject, detail });
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
    // As stored; each plugin parses its own keys with its own schema. `role` is typed for the manual tasks' sake.
    options: request.options,
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

export type RetryRefusal =
  | { reason: 'app_gone'; appId: string }
  /** `allowed`: the IT admins and the app's approvers, who may. */
  | { reason: 'not_allowed'; appId: string; allowed: string[] }
  | { reason: 'nothing_failed'; requestId: string };
export type RetryResult = { ok: true; retried: number } | ({ ok: false } & RetryRefusal);

/** Puts a request's failed items of one app back in the queue; only the IT admins and that app's approvers may. */
export function retryFailed(deps: RequestDeps, requestId: string, appId: string, actor: string): RetryResult {
  const app = appById(deps.config, appId);
  if (!app) return { ok: false, reason: 'app_gone', appId };
  const approvers = new Set(expandApprovers(deps, approvalStepsOf(app).flatMap((step) => step.approvers)));
  if (!approvers.has(actor) && !deps.itAdmins.has(actor)) {
    return { ok: false, reason: 'not_allowed', appId, allowed: [...new Set([...deps.itAdmins.members(), ...approvers])] };
  }
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): RetryResult => {
    const ids = failedItemIds(deps.db, requestId, appId);
    if (ids.length === 0) return { ok: false, reason: 'nothing_failed', requestId };
    for (const id of ids) {
      const item = getItem(deps.db, id)!;
      transition(deps, item, 'approved', now, actor, { detail: ['retry requested by ', { person: actor }] });
      enqueue(deps.db, now, JOB.fulfillItem, { itemId: id }, { key: `fulfill:${id}:retry:${now}` });
    }
    writeAudit(deps.db, now, { actor, action: 'request.retried', requestId, appId, detail: { items: ids } });
    afterChange(deps, requestId, 0);
    return { ok: true, retried: ids.length };
  });
  deps.wake();
  return result;
}

export type CancelRefusal = { ok: false; requestId: string } & (
  | { reason: 'not_found' }
  | { reason: 'not_allowed'; requesterId: string }
  /** What is left is underway (`open`: its states), or nothing is left: `cancelledBy` whoever cancelled it. */
  | { reason: 'nothing_to_cancel'; open: [ItemState, number][]; all: [ItemState, number][]; cancelledBy: string | null }
);
/** `cancelled`: the items that will not be done; `kept`: done, underway or ended otherwise, listed, not undone. */
export type CancelResult = { ok: true; cancelled: Item[]; kept: Item[]; detail: RequestDetail } | CancelRefusal;

function nothingToCancel(deps: RequestDeps, detail: RequestDetail): CancelRefusal {
  const { id } = detail.request;
  const open = detail.items.filter((item) => isOpenRequest({ items: [item] }));
  const cancelled = open.length > 0 ? undefined
    : deps.db.prepare("SELECT actor FROM audit WHERE request_id = ? AND action = 'request.cancelled' ORDER BY id DESC LIMIT 1").get(id) as { actor: string } | undefined;
  return { ok: false, requestId: id, reason: 'nothing_to_cancel', open: countStates(open), all: countStates(detail.items), cancelledBy: cancelled?.actor ?? null };
}

/** A failed item an IT admin turned into a task (src/requests/by-hand.ts), not done yet. */
function beingFinishedByHand(deps: Pick<RequestDeps, 'db'>, item: Item): boolean {
  return item.state === 'in_progress' && taskOfItem(deps.db, item.id)?.byHand != null;
}

/**
 * Whether cancelling the request now would still stop this item: the one rule `cancelRequest` acts on and the
 * requester's Cancel button is shown by. An item being finished by hand is a person's task, whatever its app's
 * connector, so it is withdrawn like one whose connector can withdraw its work.
 */
export function cancelWouldStop(deps: Pick<RequestDeps, 'db' | 'connectors'>, item: Item): boolean {
  return isCancellable(item, beingFinishedByHand(deps, item) || deps.connectors.get(item.appId)?.withdraw !== undefined);
}

/**
 * The requester, or an IT admin, withdraws what has not been done yet: items awaiting approval, approved ones
 * waiting for their date, and manual tasks nobody has done. Pending steps end cancelled (the cards lose their
 * buttons), their approvers and the tasks' assignees are told. Done or underway work is listed, never undone.
 * A cancelled item is final, so a fulfillment job that runs later finds nothing to do.
 */
export function cancelRequest(deps: RequestDeps, requestId: string, actor: string): CancelResult {
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): CancelResult => {
    const detail = getRequestDetail(deps.db, requestId);
    if (!detail) return { ok: false, reason: 'not_found', requestId };
    const { request } = detail;
    if (actor !== request.requesterId && !deps.itAdmins.has(actor)) {
      return { ok: false, reason: 'not_allowed', requestId, requesterId: request.requesterId };
    }
    const cancelled: Item[] = [];
    for (const item of detail.items) {
      if (!cancelWouldStop(deps, item)) continue;
      const connector = connectorOf(deps, item.appId);
      const byHand = beingFinishedByHand(deps, item);
      // A task is withdrawn first: one done meanwhile keeps its item, which completes as usual.
      if (item.state === 'in_progress' && !(byHand ? deps.tasks !== undefined && withdrawTask(deps.tasks, item.id, actor) : connector?.withdraw?.(item.id, actor))) continue;
      if (!transition(deps, item, 'cancelled', now, actor, { detail: ['cancelled by ', { person: actor }] })) continue;
      cancelJobs(deps.db, now, `fulfill:${item.id}`);
      cancelled.push(item);
    }
    if (cancelled.length === 0) return nothingToCancel(deps, getRequestDetail(deps.db, requestId)!);
    const cancelledIds = new Set(cancelled.map((item) => item.id));
    const approversToTell = new Set<string>();
    let tellIt = false;
    for (const approval of detail.approvals) {
      if (approval.state !== 'pending') continue;
      const stillWaiting = detail.items.some((item) => item.appId === approval.appId && item.state === 'awaiting_approval' && !cancelledIds.has(item.id));
      if (stillWaiting || !cancelApproval(deps.db, approval.id, actor, now)) continue;
      writeAudit(deps.db, now, { actor, action: 'approval.cancelled', requestId, appId: approval.appId, fromState: 'pending', toState: 'cancelled', detail: { stepIndex: approval.stepIndex } });
      if (approval.fallbackToIt) tellIt = true;
      else for (const approver of eligibleApprovers(detail, approval.appId, approval.stepIndex, approval.approvers, peopleFacts(deps))) approversToTell.add(approver);
    }
    const kept = detail.items.filter((item) => !cancelledIds.has(item.id));
    writeAudit(deps.db, now, {
      actor, action: 'request.cancelled', requestId,
      detail: { cancelled: cancelled.map((item) => item.id), kept: kept.map((item) => ({ id: item.id, state: item.state })) },
    });
    const withdrawn = { type: 'decision_withdrawn', requestId, by: actor, byRequester: actor === request.requesterId } as const;
    for (const approver of approversToTell) notify(deps, approver, { ...withdrawn, audience: 'approver' });
    if (tellIt) notify(deps, deps.config.itChannel, { ...withdrawn, audience: 'it' });
    if (actor !== request.requesterId) notify(deps, request.requesterId, { type: 'cancelled_for_you', requestId, by: actor, cancelled: cancelled.length });
    touchRequest(deps.db, requestId, now);
    afterChange(deps, requestId, 0);
    return { ok: true, cancelled, kept, detail: getRequestDetail(deps.db, requestId)! };
  });
  deps.wake();
  return result;
}
