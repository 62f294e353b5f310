/**
 * Approval previews in SQLite (migration 011): written by the preview job once a request's cards are posted,
 * read by the cards and by a connector comparing, at execution, what it finds with what the approvers saw.
 */
import type { ItemPreview } from '../connectors/preview.js';
import type { Db } from '../db/connection.js';
import { z } from 'zod';
import { defineJob } from '../jobs/kinds.js';
import { enqueue } from '../jobs/queue.js';

declare module '../jobs/kinds.js' {
  interface JobPayloads { 'request.preview': { requestId: string } }
}
export const PREVIEW_JOB = defineJob('request.preview', z.object({ requestId: z.string() }));

/** `unavailable`: the app did not answer; the card says so and approval goes on without it. */
export type StoredPreview = ItemPreview & { state: 'ok' | 'unavailable' };

interface PreviewRow {
  item_id: number; state: 'ok' | 'unavailable'; account_id: string | null; email: string | null; status: string | null; last_login: string | null;
  summary: string; read_at: number;
}

const toPreview = (row: PreviewRow): StoredPreview => ({
  itemId: row.item_id, state: row.state, accountId: row.account_id, email: row.email, status: row.status, lastLogin: row.last_login, summary: row.summary, readAt: row.read_at,
});

export function storedPreviewOf(db: Db, itemId: number): StoredPreview | undefined {
  const row = db.prepare('SELECT * FROM item_previews WHERE item_id = ?').get(itemId) as PreviewRow | undefined;
  return row && toPreview(row);
}

export function previewsOfRequest(db: Db, requestId: string): StoredPreview[] {
  return (db.prepare('SELECT p.* FROM item_previews p JOIN items i ON i.id = p.item_id WHERE i.request_id = ? ORDER BY p.item_id').all(requestId) as PreviewRow[]).map(toPreview);
}

/** A preview read replaces any other; "unavailable" never replaces one that was read. */
export function storePreview(db: Db, preview: ItemPreview, state: StoredPreview['state'] = 'ok'): void {
  db.prepare(
    `INSERT INTO item_previews (item_id, state, account_id, email, status, last_login, summary, read_at)
     VALUES (@itemId, @state, @accountId, @email, @status, @lastLogin, @summary, @readAt)
     ON CONFLICT (item_id) DO UPDATE SET state = excluded.state, account_id = excluded.account_id, email = excluded.email, status = excluded.status,
       last_login = excluded.last_login, summary = excluded.summary, read_at = excluded.read_at
     WHERE excluded.state = 'ok' OR item_previews.state = 'unavailable'`,
  ).run({ ...preview, state });
}

/** Asks for the request's previews; call in the transaction that filed it, after its cards are queued. */
export function schedulePreview(db: Db, now: number, requestId: string): void {
  enqueue(db, now, PREVIEW_JOB, { requestId }, { key: `preview:${requestId}`, mode: 'coalesce' });
}
