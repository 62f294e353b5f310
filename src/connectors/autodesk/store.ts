/** The connector's bookkeeping rows: invitations being waited on, and intents before irreversible calls. */
import type { Db } from '../../db/connection.js';

export interface PendingInvitation {
  itemId: number;
  userId: string;
  invitedAt: number;
}

export type OffboardAction = 'deactivate' | 'delete';

export interface Intent {
  itemId: number;
  userId: string;
  email: string;
  action: OffboardAction;
  createdAt: number;
  /** Set once the outcome was confirmed and audited. */
  confirmedAt: number | null;
}

/** Keeps the first invitation time: re-running an item must not restart its give-up window. */
export function rememberPending(db: Db, itemId: number, userId: string, now: number): PendingInvitation {
  db.prepare(
    `INSERT INTO autodesk_pending (item_id, user_id, invited_at) VALUES (?, ?, ?)
     ON CONFLICT (item_id) DO UPDATE SET user_id = excluded.user_id, invited_at = excluded.invited_at WHERE autodesk_pending.user_id <> excluded.user_id`,
  ).run(itemId, userId, now);
  return pendingOf(db, itemId)!;
}

export function pendingOf(db: Db, itemId: number): PendingInvitation | undefined {
  const row = db.prepare('SELECT item_id, user_id, invited_at FROM autodesk_pending WHERE item_id = ?').get(itemId) as
    | { item_id: number; user_id: string; invited_at: number }
    | undefined;
  return row && { itemId: row.item_id, userId: row.user_id, invitedAt: row.invited_at };
}

export function pendingItemsOfUser(db: Db, userId: string): number[] {
  return (db.prepare('SELECT item_id FROM autodesk_pending WHERE user_id = ?').all(userId) as { item_id: number }[]).map((row) => row.item_id);
}

export function forgetPending(db: Db, itemId: number): void {
  db.prepare('DELETE FROM autodesk_pending WHERE item_id = ?').run(itemId);
}

export function intentOf(db: Db, itemId: number): Intent | undefined {
  const row = db.prepare('SELECT * FROM autodesk_intents WHERE item_id = ?').get(itemId) as
    | { item_id: number; user_id: string; email: string; action: OffboardAction; created_at: number; confirmed_at: number | null }
    | undefined;
  return row && { itemId: row.item_id, userId: row.user_id, email: row.email, action: row.action, createdAt: row.created_at, confirmedAt: row.confirmed_at };
}

/** Written (and committed) before the call, so a later run knows the call may have happened. */
export function recordIntent(db: Db, intent: Omit<Intent, 'confirmedAt'>): void {
  db.prepare(
    `INSERT INTO autodesk_intents (item_id, user_id, email, action, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (item_id) DO UPDATE SET user_id = excluded.user_id, email = excluded.email, action = excluded.action`,
  ).run(intent.itemId, intent.userId, intent.email, intent.action, intent.createdAt);
}

export function confirmIntent(db: Db, itemId: number, at: number): void {
  db.prepare('UPDATE autodesk_intents SET confirmed_at = ? WHERE item_id = ? AND confirmed_at IS NULL').run(at, itemId);
}
