import type { Db } from './connection.js';

export interface AuditEntry {
  actor: string;
  action: string;
  requestId?: string;
  itemId?: number;
  appId?: string;
  fromState?: string | null;
  toState?: string | null;
  detail?: unknown;
}

/** Call inside the transaction that makes the change, so the trail and the change never disagree. */
export function writeAudit(db: Db, at: number, entry: AuditEntry): void {
  db.prepare(
    `INSERT INTO audit (at, actor, action, request_id, item_id, app_id, from_state, to_state, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    at, entry.actor, entry.action, entry.requestId ?? null, entry.itemId ?? null, entry.appId ?? null,
    entry.fromState ?? null, entry.toState ?? null, entry.detail === undefined ? null : JSON.stringify(entry.detail),
  );
}

export interface AuditRow {
  id: number; at: number; actor: string; action: string; request_id: string | null; item_id: number | null;
  app_id: string | null; from_state: string | null; to_state: string | null; detail: string | null;
}

export function auditSince(db: Db, since: number): AuditRow[] {
  return db.prepare('SELECT * FROM audit WHERE at >= ? ORDER BY id').all(since) as AuditRow[];
}
