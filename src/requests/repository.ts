/** Reads and writes of requests, items and approvals. Callers own the transaction. */
import type { Db } from '../db/connection.js';
import { TERMINAL_STATES, type AccessRequest, type Approval, type ApprovalState, type Item, type ItemState, type RequestDetail, type RequestKind, type RequestOptions, type Subject } from './model.js';
import { previewsOfRequest } from './previews.js';
import { readWords, storeWords, type StoredWords } from './words.js';

interface RequestRow { id: string; kind: RequestKind; requester_id: string; justification: string; effective_date: string; options: string; created_at: number; updated_at: number }
interface ItemRow {
  id: number; request_id: string; app_id: string; subject_slack_id: string | null; subject_email: string; subject_first_name: string | null;
  subject_last_name: string | null; state: ItemState; step_index: number; detail: string | null; external_id: string | null; updated_at: number;
  end_date?: string | null;
}
interface ApprovalRow {
  id: number; request_id: string; app_id: string; step_index: number; approvers: string; fallback_to_it: number; state: ApprovalState;
  decided_by: string | null; decided_at: number | null; reason: string | null; created_at: number; decided_for?: string | null;
}

const toRequest = (row: RequestRow): AccessRequest => ({
  id: row.id, kind: row.kind, requesterId: row.requester_id, justification: row.justification, effectiveDate: row.effective_date,
  options: JSON.parse(row.options) as RequestOptions, createdAt: row.created_at, updatedAt: row.updated_at,
});
export const toItem = (row: ItemRow): Item => ({
  id: row.id, requestId: row.request_id, appId: row.app_id,
  subject: { slackId: row.subject_slack_id, email: row.subject_email, firstName: row.subject_first_name, lastName: row.subject_last_name },
  state: row.state, stepIndex: row.step_index, detail: row.detail === null ? null : readWords(row.detail), externalId: row.external_id, updatedAt: row.updated_at, endDate: row.end_date ?? null,
});
const toApproval = (row: ApprovalRow): Approval => ({
  id: row.id, requestId: row.request_id, appId: row.app_id, stepIndex: row.step_index, approvers: JSON.parse(row.approvers) as string[],
  fallbackToIt: row.fallback_to_it === 1, state: row.state, decidedBy: row.decided_by, decidedFor: row.decided_for ?? null, decidedAt: row.decided_at, reason: row.reason, openedAt: row.created_at,
});

export function insertRequest(db: Db, request: AccessRequest): void {
  db.prepare(
    'INSERT INTO requests (id, kind, requester_id, justification, effective_date, options, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(request.id, request.kind, request.requesterId, request.justification, request.effectiveDate, JSON.stringify(request.options), request.createdAt, request.updatedAt);
}

export function insertItem(db: Db, requestId: string, appId: string, subject: Subject, now: number, endDate: string | null = null): number {
  return Number(
    db.prepare(
      `INSERT INTO items (request_id, app_id, subject_slack_id, subject_email, subject_first_name, subject_last_name, state, step_index, updated_at, end_date)
       VALUES (?, ?, ?, ?, ?, ?, 'awaiting_approval', 0, ?, ?)`,
    ).run(requestId, appId, subject.slackId, subject.email, subject.firstName, subject.lastName, now, endDate).lastInsertRowid,
  );
}

/** Returns the new approval's id. */
export function insertApproval(db: Db, approval: Omit<Approval, 'id' | 'state' | 'decidedBy' | 'decidedAt' | 'reason' | 'openedAt'>, now: number): number {
  const { lastInsertRowid } = db.prepare(
    `INSERT INTO approvals (request_id, app_id, step_index, approvers, fallback_to_it, state, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)`,
  ).run(approval.requestId, approval.appId, approval.stepIndex, JSON.stringify(approval.approvers), approval.fallbackToIt ? 1 : 0, now);
  return Number(lastInsertRowid);
}

export function getRequestDetail(db: Db, requestId: string): RequestDetail | undefined {
  const request = getRequest(db, requestId);
  if (!request) return undefined;
  const items = (db.prepare('SELECT * FROM items WHERE request_id = ? ORDER BY id').all(requestId) as ItemRow[]).map(toItem);
  return { request, items, approvals: approvalsOf(db, requestId), previews: previewsOfRequest(db, requestId) };
}

export function getRequest(db: Db, requestId: string): AccessRequest | undefined {
  const row = db.prepare('SELECT * FROM requests WHERE id = ?').get(requestId) as RequestRow | undefined;
  return row && toRequest(row);
}

export function approvalsOf(db: Db, requestId: string, appId?: string): Approval[] {
  const rows = appId
    ? db.prepare('SELECT * FROM approvals WHERE request_id = ? AND app_id = ? ORDER BY step_index').all(requestId, appId)
    : db.prepare('SELECT * FROM approvals WHERE request_id = ? ORDER BY app_id, step_index').all(requestId);
  return (rows as ApprovalRow[]).map(toApproval);
}

/** Items not yet completed, failed or denied: a request with none is finished. */
export function openItemCount(db: Db, requestId: string): number {
  const terminal = TERMINAL_STATES.map(() => '?').join(', ');
  return (db.prepare(`SELECT COUNT(*) AS n FROM items WHERE request_id = ? AND state NOT IN (${terminal})`).get(requestId, ...TERMINAL_STATES) as { n: number }).n;
}

export function getItem(db: Db, itemId: number): Item | undefined {
  const row = db.prepare('SELECT * FROM items WHERE id = ?').get(itemId) as ItemRow | undefined;
  return row && toItem(row);
}

/** Compare-and-set on the approval's state: false when someone else decided first. */
export function decideApproval(db: Db, approvalId: number, state: 'approved' | 'denied', actor: string, reason: string | null, now: number, decidedFor: string | null = null): boolean {
  return (
    db.prepare("UPDATE approvals SET state = ?, decided_by = ?, decided_for = ?, decided_at = ?, reason = ? WHERE id = ? AND state = 'pending'")
      .run(state, actor, decidedFor, now, reason, approvalId).changes === 1
  );
}

/** A step still pending when its request is cancelled: nobody decides it any more. */
export function cancelApproval(db: Db, approvalId: number, actor: string, now: number): boolean {
  return (
    db.prepare("UPDATE approvals SET state = 'cancelled', decided_by = ?, decided_at = ? WHERE id = ? AND state = 'pending'")
      .run(actor, now, approvalId).changes === 1
  );
}

/** Compare-and-set on the item's state; false when it had moved on already. */
export function updateItemState(db: Db, itemId: number, from: ItemState, to: ItemState, now: number, changes: { detail?: StoredWords | null; stepIndex?: number; externalId?: string | null } = {}): boolean {
  const result = db
    .prepare(
      `UPDATE items SET state = @to, updated_at = @now,
         detail = CASE WHEN @setDetail THEN @detail ELSE detail END,
         step_index = COALESCE(@stepIndex, step_index),
         external_id = CASE WHEN @setExternal THEN @externalId ELSE external_id END
       WHERE id = @id AND state = @from`,
    )
    .run({
      to, now, id: itemId, from, setDetail: 'detail' in changes ? 1 : 0, detail: changes.detail === undefined || changes.detail === null ? null : storeWords(changes.detail), stepIndex: changes.stepIndex ?? null,
      setExternal: 'externalId' in changes ? 1 : 0, externalId: changes.externalId ?? null,
    });
  return result.changes === 1;
}

export function touchRequest(db: Db, requestId: string, now: number): void {
  db.prepare('UPDATE requests SET updated_at = ? WHERE id = ?').run(now, requestId);
}

export function requestsOf(db: Db, requesterId: string, limit = 20): RequestDetail[] {
  const ids = db.prepare('SELECT id FROM requests WHERE requester_id = ? ORDER BY created_at DESC LIMIT ?').all(requesterId, limit) as { id: string }[];
  return ids.map(({ id }) => getRequestDetail(db, id)!);
}

/** Requests with an approval this person could be asked to decide (listed approver, or IT fallback for an IT admin). */
export function requestsAwaiting(db: Db, userId: string, isItAdmin = true): RequestDetail[] {
  const ids = db.prepare(
    `SELECT DISTINCT request_id AS id FROM approvals WHERE state = 'pending' AND ((? AND fallback_to_it = 1) OR EXISTS (SELECT 1 FROM json_each(approvers) WHERE value = ?))
     ORDER BY created_at`,
  ).all(isItAdmin ? 1 : 0, userId) as { id: string }[];
  return ids.map(({ id }) => getRequestDetail(db, id)!);
}

export function failedItemIds(db: Db, requestId: string, appId?: string): number[] {
  return (
    db.prepare(`SELECT id FROM items WHERE request_id = ? AND state = 'failed' ${appId ? 'AND app_id = ?' : ''} ORDER BY id`)
      .all(...(appId ? [requestId, appId] : [requestId])) as { id: number }[]
  ).map((row) => row.id);
}

/** Marks an external event (view submission, webhook delivery) as handled; false if it was already. */
export function markSeen(db: Db, eventId: string, now: number): boolean {
  return db.prepare('INSERT OR IGNORE INTO seen_events (id, at) VALUES (?, ?)').run(eventId, now).changes === 1;
}
