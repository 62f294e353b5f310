/** What people do, as steps a test can call: ask for access, find a card, click. */
import assert from 'node:assert/strict';
import type { FieldValue } from '../../src/sandboxes/slack/driver.js';
import type { SandboxMessage } from '../../src/sandboxes/slack/server.js';
import type { Harness } from './harness.js';

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Types `/access`, fills the modal and submits it; returns the new request id. */
export async function requestAccess(h: Harness, requester: string, values: Record<string, FieldValue>, command = ''): Promise<string> {
  const before = h.query<{ n: number }>('SELECT COUNT(*) AS n FROM requests')[0]!.n;
  const response = await h.driver.slashCommand(requester, command);
  assert.equal(response.status, 200);
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(requester, 'access_request'), { description: 'request modal opened' });
  const submitted = await h.driver.submitView(requester, modal, { justification: 'Needs it for the Q4 project', ...values });
  assert.equal(submitted.outcome, 'closed', `modal should close, got ${submitted.outcome}: ${submitted.body}`);
  const rows = h.query<{ id: string }>('SELECT id FROM requests ORDER BY created_at DESC, rowid DESC');
  assert.equal(rows.length, before + 1, 'one request stored');
  return rows[0]!.id;
}

/** The approval card about a request in someone's DM (or a channel), once the bot has posted it. */
export function cardFor(h: Harness, recipient: string, requestId: string): Promise<SandboxMessage> {
  return h.slack.waitFor(
    () => h.slack.messagesTo(recipient).find((message) => message.text.includes(requestId) && message.text.includes('needs a decision')),
    { description: `approval card for ${requestId} to ${recipient}` },
  );
}

export function hasButtons(message: SandboxMessage): boolean {
  return JSON.stringify(message.blocks).includes('"type":"button"');
}

export function itemStates(h: Harness, requestId: string): string[] {
  return h.query<{ state: string }>('SELECT state FROM items WHERE request_id = ? ORDER BY id', requestId).map((row) => row.state);
}

export function dmsTo(h: Harness, userId: string): string[] {
  return h.slack.messagesTo(userId).map((message) => message.text);
}
