/** SQL for manual tasks. Every state change is a compare-and-set on `state`, so racing clicks act once. */
import type { FulfillmentItem } from '../connectors/types.js';
import type { Db } from '../db/connection.js';
import type { ByHand, Task, TaskState } from './model.js';

export type { Task, TaskState } from './model.js';

interface TaskRow {
  id: number; item_id: number; request_id: string; app_id: string; kind: 'onboard' | 'offboard'; item_json: string;
  assignee: string; state: TaskState; snoozed_until: number | null; reminders_sent: number; reminders_since_progress: number;
  last_progress_at: number; last_reminder_at: number | null; message_channel: string | null; message_ts: string | null;
  escalation_channel: string | null; escalation_ts: string | null; escalations: number; created_at: number; updated_at: number;
  closed_at: number | null; closed_by: string | null; note: string | null; by_hand_json: string | null;
}

function toTask(row: TaskRow): Task {
  return {
    id: row.id, itemId: row.item_id, requestId: row.request_id, appId: row.app_id, kind: row.kind,
    item: JSON.parse(row.item_json) as FulfillmentItem, assignee: row.assignee, state: row.state, snoozedUntil: row.snoozed_until,
    remindersSent: row.reminders_sent, remindersSinceProgress: row.reminders_since_progress, lastProgressAt: row.last_progress_at,
    lastReminderAt: row.last_reminder_at, messageChannel: row.message_channel, messageTs: row.message_ts,
    escalationChannel: row.escalation_channel, escalationTs: row.escalation_ts, escalations: row.escalations,
    createdAt: row.created_at, updatedAt: row.updated_at, closedAt: row.closed_at, closedBy: row.closed_by, note: row.note,
    byHand: row.by_hand_json === null ? null : (JSON.parse(row.by_hand_json) as ByHand),
  };
}

export function getTask(db: Db, id: number): Task | undefined {
  const row = db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as TaskRow | undefined;
  return row && toTask(row);
}

export function taskOfItem(db: Db, itemId: number): Task | undefined {
  const row = db.prepare('SELECT * FROM tasks WHERE item_id = ?').get(itemId) as TaskRow | undefined;
  return row && toTask(row);
}

/** Open tasks assigned to a person, oldest first. */
export function openTasksOf(db: Db, assignee: string): Task[] {
  return (db.prepare("SELECT * FROM tasks WHERE state = 'open' AND assignee = ? ORDER BY created_at, id").all(assignee) as TaskRow[]).map(toTask);
}

/** Open tasks of these apps, oldest first. */
export function openTasksOfApps(db: Db, appIds: readonly string[]): Task[] {
  if (appIds.length === 0) return [];
  const rows = db
    .prepare(`SELECT * FROM tasks WHERE state = 'open' AND app_id IN (${appIds.map(() => '?').join(',')}) ORDER BY created_at, id`)
    .all(...appIds) as TaskRow[];
  return rows.map(toTask);
}

/** Open tasks per person, across all apps: one person's workload is what balancing evens out. */
export function openCounts(db: Db, people: readonly string[]): Map<string, number> {
  const counts = new Map(people.map((person) => [person, 0]));
  const rows = db.prepare("SELECT assignee, COUNT(*) AS n FROM tasks WHERE state = 'open' GROUP BY assignee").all() as { assignee: string; n: number }[];
  for (const row of rows) if (counts.has(row.assignee)) counts.set(row.assignee, row.n);
  return counts;
}

export function lastAssignee(db: Db, appId: string): string | undefined {
  return (db.prepare('SELECT last_assignee FROM task_rotation WHERE app_id = ?').get(appId) as { last_assignee: string } | undefined)?.last_assignee;
}

export function setLastAssignee(db: Db, appId: string, assignee: string): void {
  db.prepare('INSERT INTO task_rotation (app_id, last_assignee) VALUES (?, ?) ON CONFLICT (app_id) DO UPDATE SET last_assignee = excluded.last_assignee').run(appId, assignee);
}

export function insertTask(db: Db, item: FulfillmentItem, assignee: string, now: number, byHand: ByHand | null = null): number {
  const result = db
    .prepare(
      `INSERT INTO tasks (item_id, request_id, app_id, kind, item_json, assignee, state, last_progress_at, created_at, updated_at, by_hand_json)
       VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?)`,
    )
    .run(item.itemId, item.requestId, item.appId, item.kind, JSON.stringify(item), assignee, now, now, now, byHand && JSON.stringify(byHand));
  return Number(result.lastInsertRowid);
}

/** A task closed by "Can't do" whose item is retried becomes a fresh assignment. */
export function reopenTask(db: Db, id: number, item: FulfillmentItem, assignee: string, now: number, byHand: ByHand | null = null): boolean {
  return (
    db
      .prepare(
        `UPDATE tasks SET state = 'open', item_json = ?, assignee = ?, snoozed_until = NULL, reminders_since_progress = 0, last_progress_at = ?,
           message_channel = NULL, message_ts = NULL, closed_at = NULL, closed_by = NULL, note = NULL, created_at = ?, updated_at = ?, by_hand_json = ?
         WHERE id = ? AND state <> 'open'`,
      )
      .run(JSON.stringify(item), assignee, now, now, now, byHand && JSON.stringify(byHand), id).changes === 1
  );
}

/** Compare-and-set close: false when someone else closed it first. */
export function closeTask(db: Db, id: number, to: 'done' | 'cant_do' | 'cancelled', actor: string, note: string | null, now: number): boolean {
  return (
    db
      .prepare("UPDATE tasks SET state = ?, closed_at = ?, closed_by = ?, note = ?, updated_at = ? WHERE id = ? AND state = 'open'")
      .run(to, now, actor, note, now, id).changes === 1
  );
}

export function reassignTaskRow(db: Db, id: number, from: string, to: string, now: number): boolean {
  return (
    db
      .prepare(
        `UPDATE tasks SET assignee = ?, message_channel = NULL, message_ts = NULL, reminders_since_progress = 0, last_progress_at = ?, updated_at = ?
         WHERE id = ? AND state = 'open' AND assignee = ?`,
      )
      .run(to, now, now, id, from).changes === 1
  );
}

export function snoozeTaskRow(db: Db, id: number, until: number, now: number): boolean {
  return (
    db
      .prepare("UPDATE tasks SET snoozed_until = ?, reminders_since_progress = 0, last_progress_at = ?, updated_at = ? WHERE id = ? AND state = 'open'")
      .run(until, now, now, id).changes === 1
  );
}

export function recordReminder(db: Db, id: number, now: number): boolean {
  return (
    db
      .prepare(
        `UPDATE tasks SET reminders_sent = reminders_sent + 1, reminders_since_progress = reminders_since_progress + 1, last_reminder_at = ?, updated_at = ?
         WHERE id = ? AND state = 'open'`,
      )
      .run(now, now, id).changes === 1
  );
}

/** Stores where the task DM landed; only the DM of the current assignee (a reassign clears it first). */
export function setTaskMessage(db: Db, id: number, assignee: string, channel: string, ts: string): boolean {
  return (
    db.prepare('UPDATE tasks SET message_channel = ?, message_ts = ? WHERE id = ? AND assignee = ? AND message_ts IS NULL').run(channel, ts, id, assignee)
      .changes === 1
  );
}

export function setEscalationMessage(db: Db, id: number, channel: string, ts: string): void {
  db.prepare('UPDATE tasks SET escalation_channel = ?, escalation_ts = ? WHERE id = ?').run(channel, ts, id);
}

export function countEscalation(db: Db, id: number): void {
  db.prepare('UPDATE tasks SET escalations = escalations + 1 WHERE id = ?').run(id);
}

/** A snooze that has ended is cleared, so the task DM stops showing it. */
export function clearEndedSnooze(db: Db, id: number, now: number): boolean {
  return db.prepare('UPDATE tasks SET snoozed_until = NULL, updated_at = ? WHERE id = ? AND snoozed_until IS NOT NULL AND snoozed_until <= ?').run(now, id, now).changes === 1;
}
