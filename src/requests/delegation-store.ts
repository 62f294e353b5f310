/** Reads and writes of delegations (`/access delegate`). Callers own the transaction. */
import type { Db } from '../db/connection.js';

export interface Delegation {
  id: number;
  delegator: string;
  delegate: string;
  /** The last day it covers, as typed ("2026-12-24"). */
  untilDate: string;
  /** The first instant after `untilDate` in the config's timezone: from then on it is over. */
  endsAt: number;
  /** How the delegator is named on a plain-text button ("Approve (for @mona)"), as Slack gave it. */
  delegatorName: string | null;
  createdAt: number;
}

interface DelegationRow { id: number; delegator: string; delegate: string; until_date: string; ends_at: number; delegator_name: string | null; created_at: number }

const toDelegation = (row: DelegationRow): Delegation => ({
  id: row.id, delegator: row.delegator, delegate: row.delegate, untilDate: row.until_date, endsAt: row.ends_at, delegatorName: row.delegator_name, createdAt: row.created_at,
});

/**
 * The delegation this person has in force at `now`. One past its date counts as over even before its expiry
 * job has run, so a late job never lets a delegate decide a day too long.
 */
export function delegationOf(db: Db, delegator: string, now: number): Delegation | undefined {
  const row = db.prepare('SELECT * FROM delegations WHERE delegator = ? AND ended_at IS NULL AND ends_at > ?').get(delegator, now) as DelegationRow | undefined;
  return row && toDelegation(row);
}

/** The delegation not yet marked ended, whether or not its date has passed (to end it). */
export function unendedDelegationOf(db: Db, delegator: string): Delegation | undefined {
  const row = db.prepare('SELECT * FROM delegations WHERE delegator = ? AND ended_at IS NULL').get(delegator) as DelegationRow | undefined;
  return row && toDelegation(row);
}

export function delegationById(db: Db, id: number): (Delegation & { endedAt: number | null }) | undefined {
  const row = db.prepare('SELECT * FROM delegations WHERE id = ?').get(id) as (DelegationRow & { ended_at: number | null }) | undefined;
  return row && { ...toDelegation(row), endedAt: row.ended_at };
}

/** Who has handed their approvals to this person, in force at `now`. */
export function delegationsTo(db: Db, delegate: string, now: number): Delegation[] {
  return (db.prepare('SELECT * FROM delegations WHERE delegate = ? AND ended_at IS NULL AND ends_at > ? ORDER BY id').all(delegate, now) as DelegationRow[]).map(toDelegation);
}

export function insertDelegation(db: Db, delegation: Omit<Delegation, 'id'>): number {
  return Number(
    db.prepare('INSERT INTO delegations (delegator, delegate, until_date, ends_at, delegator_name, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(delegation.delegator, delegation.delegate, delegation.untilDate, delegation.endsAt, delegation.delegatorName, delegation.createdAt).lastInsertRowid,
  );
}

/** Compare-and-set: false when it had ended already. */
export function markDelegationEnded(db: Db, id: number, endedBy: string, now: number): boolean {
  return db.prepare('UPDATE delegations SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL').run(now, endedBy, id).changes === 1;
}

/** Requests with a pending, listed (not IT) step naming this approver: their cards change hands with a delegation. */
export function requestsWithPendingStepsOf(db: Db, approver: string): string[] {
  return (
    db.prepare(
      `SELECT DISTINCT request_id AS id FROM approvals WHERE state = 'pending' AND fallback_to_it = 0 AND EXISTS (SELECT 1 FROM json_each(approvers) WHERE value = ?)`,
    ).all(approver) as { id: string }[]
  ).map((row) => row.id);
}
