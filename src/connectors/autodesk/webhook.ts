/**
 * `POST /webhooks/autodesk`: user lifecycle deliveries are hints, never facts. A delivery only wakes the work
 * waiting for the user id it names (an invitation being waited on), and that work then reads the account from
 * the Autodesk API. Nothing in a payload is written anywhere: a signed delivery can still be replayed, reordered
 * or sent by whoever holds the secret, and what the bot acts on (above all an irreversible call) must come from
 * Autodesk itself. Polling does the same job without them, more slowly.
 *
 * Off (404) while no secret is configured. With one, a delivery must carry
 * `X-Autodesk-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, computed over the exact bytes received
 * (401 otherwise), and, when it says when it was sent (`createdAt`), be at most five minutes old (400 otherwise).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { inTransaction, type Db } from '../../db/connection.js';
import type { Logger } from '../../util/log.js';
import type { Clock } from '../../util/time.js';
import { parseWebhookEvent } from './api.js';
import { header, type Headers } from './http.js';

export const SIGNATURE_HEADER = 'X-Autodesk-Signature';
/** A signed delivery older than this (or this far in the future) is a replay or a broken clock. */
export const MAX_DELIVERY_AGE_MS = 5 * 60_000;
/** Seen delivery ids are kept this long; older repeats are refused by their age anyway. */
export const SEEN_DELIVERIES_KEPT_MS = 24 * 3_600_000;

export interface WebhookAnswer {
  status: number;
  body: string;
}

export interface WebhookDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Unset: the route is off and answers 404. */
  secret: string | undefined;
  /** Something may have happened to this Autodesk user: whatever waits for them should look again now. */
  onHint(userId: string): void;
  /** Remembers a delivery id (the core's seen-events table); false when it was seen before. */
  markSeen(eventId: string): boolean;
}

export function signatureOf(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export function isValidSignature(secret: string, rawBody: Buffer, given: string | undefined): boolean {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(given?.trim() ?? '');
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(match[1]!, 'hex'), expected);
}

const answer = (status: number, body: Record<string, unknown>): WebhookAnswer => ({ status, body: JSON.stringify(body) });

export const WEBHOOKS_OFF: WebhookAnswer = answer(404, { error: 'Autodesk webhooks are off: AUTODESK_WEBHOOK_SECRET is not set (polling is used)' });

export async function handleAutodeskWebhook(deps: WebhookDeps, rawBody: Buffer | string, headers: Headers): Promise<WebhookAnswer> {
  if (!deps.secret) return WEBHOOKS_OFF;
  const raw = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  if (!isValidSignature(deps.secret, raw, header(headers, SIGNATURE_HEADER))) {
    deps.log.warn('autodesk webhook: bad or missing signature');
    return answer(401, { error: 'invalid signature' });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString('utf8'));
  } catch {
    return answer(400, { error: 'malformed JSON' });
  }
  const event = parseWebhookEvent(payload);
  if (!event) return answer(400, { error: 'not an Autodesk user lifecycle event' });

  const now = deps.clock.now();
  if (event.createdAt !== undefined) {
    const sentAt = Date.parse(event.createdAt);
    if (Number.isNaN(sentAt)) return answer(400, { error: 'createdAt is not a time' });
    if (Math.abs(now - sentAt) > MAX_DELIVERY_AGE_MS) {
      deps.log.warn('autodesk webhook: stale delivery refused', { id: event.id, createdAt: event.createdAt });
      return answer(400, { error: 'stale delivery: createdAt is more than 5 minutes away from now' });
    }
  }
  if (event.kind === 'unknown') {
    deps.log.info('autodesk webhook: event ignored', { event: event.event });
    return answer(200, { ok: true, ignored: event.event });
  }

  const fresh = inTransaction(deps.db, () => {
    deps.db.prepare("DELETE FROM seen_events WHERE id LIKE 'autodesk:%' AND at < ?").run(now - SEEN_DELIVERIES_KEPT_MS);
    // Deliveries are retried by the sender: a repeat wakes nothing.
    return deps.markSeen(`autodesk:${event.id}`);
  });
  if (!fresh) return answer(200, { ok: true, duplicate: true });
  deps.onHint(event.userId);
  return answer(200, { ok: true });
}
