/**
 * `POST /webhooks/autodesk`: user lifecycle events keep the directory current and wake team assignments that
 * wait for an invitation to be accepted. Polling works without them; they only make things sooner.
 *
 * With a secret configured, a delivery must carry `X-Autodesk-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`,
 * computed over the exact bytes received; anything else is answered 401.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { inTransaction, type Db } from '../../db/connection.js';
import { markSeen } from '../../requests/repository.js';
import type { Logger } from '../../util/log.js';
import type { Clock } from '../../util/time.js';
import { parseWebhookEvent } from './api.js';
import type { AutodeskDirectory } from './directory.js';
import { header, type Headers } from './http.js';

export const SIGNATURE_HEADER = 'X-Autodesk-Signature';

export interface WebhookAnswer {
  status: number;
  body: string;
}

export interface WebhookDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  directory: AutodeskDirectory;
  /** Unset: unsigned deliveries are accepted. */
  secret: string | undefined;
  /** The user can now join teams: run whatever waits for them. */
  onActivated(userId: string): void;
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

export async function handleAutodeskWebhook(deps: WebhookDeps, rawBody: Buffer | string, headers: Headers): Promise<WebhookAnswer> {
  const raw = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  if (deps.secret && !isValidSignature(deps.secret, raw, header(headers, SIGNATURE_HEADER))) {
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
  if (event.kind === 'unknown') {
    deps.log.info('autodesk webhook: event ignored', { event: event.event });
    return answer(200, { ok: true, ignored: event.event });
  }

  const now = deps.clock.now();
  const fresh = inTransaction(deps.db, () => {
    // Deliveries are retried by the sender: a repeat changes nothing.
    if (!markSeen(deps.db, `autodesk:${event.id}`, now)) return false;
    if (event.kind === 'deleted') deps.directory.remove(event.userId);
    else deps.directory.record(event.user, now);
    return true;
  });
  if (!fresh) return answer(200, { ok: true, duplicate: true });
  if (event.kind === 'user' && event.user.status === 'active') deps.onActivated(event.user.id);
  return answer(200, { ok: true });
}
