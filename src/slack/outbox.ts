/**
 * The messages the bot has posted about requests (table `slack_messages`): where each one is (channel, ts) so it
 * is updated in place rather than posted twice, and a hash of what it last showed.
 */
import type { Db } from '../db/connection.js';

export interface StoredMessage { id: number; channel: string; ts: string; contentHash: string | null }

/** The purposes of messages: one approval card per approver, the mirror, IT's copy, the requester's status… */
export interface MessageKey { requestId: string | null; purpose: string; recipient: string }

export function storedMessage(db: Db, key: MessageKey): StoredMessage | undefined {
  const row = db.prepare('SELECT id, channel, ts, content_hash FROM slack_messages WHERE request_id IS ? AND purpose = ? AND recipient = ?').get(key.requestId, key.purpose, key.recipient) as
    | { id: number; channel: string; ts: string; content_hash: string | null }
    | undefined;
  return row && { id: row.id, channel: row.channel, ts: row.ts, contentHash: row.content_hash };
}

export function recordUpdated(db: Db, id: number, contentHash: string): void {
  db.prepare('UPDATE slack_messages SET content_hash = ? WHERE id = ?').run(contentHash, id);
}

export function recordPosted(db: Db, key: MessageKey, posted: { channel: string; ts: string; contentHash: string }, at: number): void {
  db.prepare('INSERT INTO slack_messages (request_id, purpose, recipient, channel, ts, content_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(key.requestId, key.purpose, key.recipient, posted.channel, posted.ts, posted.contentHash, at);
}

/** Like `recordPosted`, replacing the one stored under the same key (a reminder posted again in a later round). */
export function recordReposted(db: Db, key: MessageKey, posted: { channel: string; ts: string; contentHash: string }, at: number): void {
  db.prepare(
    `INSERT INTO slack_messages (request_id, purpose, recipient, channel, ts, content_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (request_id, purpose, recipient) DO UPDATE SET ts = excluded.ts, content_hash = excluded.content_hash`,
  ).run(key.requestId, key.purpose, key.recipient, posted.channel, posted.ts, posted.contentHash, at);
}

/** Everyone who was ever sent an approval card of this request. */
export function cardRecipients(db: Db, requestId: string): string[] {
  return (db.prepare("SELECT recipient FROM slack_messages WHERE request_id = ? AND purpose = 'approval_card'").all(requestId) as { recipient: string }[]).map((row) => row.recipient);
}

const FAILURE_ALERT = 'failure_alert:';
export const failureAlertPurpose = (appId: string) => `${FAILURE_ALERT}${appId}`;

/** The apps of this request IT has had a failure alert about. */
export function appsWithFailureAlerts(db: Db, requestId: string): string[] {
  return (db.prepare("SELECT purpose FROM slack_messages WHERE request_id = ? AND purpose LIKE 'failure_alert:%'").all(requestId) as { purpose: string }[])
    .map((row) => row.purpose.slice(FAILURE_ALERT.length));
}
