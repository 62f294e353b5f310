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
