/**
 * Cancelling a request through the running bot: the requester's Cancel button and `/access cancel <id>`.
 * What was not done yet ends cancelled and never runs; cards lose their buttons and say who cancelled; the
 * people waiting on it are told; only the requester and IT admins may cancel.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Harness, PEOPLE, APPROVALS_CHANNEL } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, itemStates, requestAccess } from '../support/flows.js';
import type { SandboxMessage } from '../../src/sandboxes/slack/server.js';

let h: Harness;
before(async () => {
  h = await Harness.start({ autodesk: { latencyMs: 0 } });
});
after(async () => {
  await h.close();
});

function tomorrow(): string {
  return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
}

/** The requester's own message about the request, once the bot has posted it. */
function statusMessage(requestId: string): Promise<SandboxMessage> {
  return h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.requester).find((m) => m.text.includes(`request ${requestId}`) && m.text.startsWith('Your ')), {
    description: `the requester's status message of ${requestId}`,
  });
}

/** Types `/access <text>` and returns what the bot answered to that person only. */
async function command(userId: string, text: string): Promise<string> {
  const before = h.slack.ephemerals.length;
  const response = await h.driver.slashCommand(userId, text);
  assert.equal(response.status, 200);
  const reply = h.slack.ephemerals.slice(before).find((e) => e.user === userId);
  assert.ok(reply, `an answer to /access ${text}`);
  return reply.text;
}

/** Polls the bot's database (jobs leave no trace in Slack); resolves as soon as the condition holds. */
async function untilDb(check: () => boolean, description: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('cancel during approval', () => {
  test("the requester's Cancel button ends the items, cards lose their buttons and say who cancelled, approvers are told", async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk', 'axure'] });
    const managerCard = await cardFor(h, PEOPLE.manager, id);
    const axureCard = await cardFor(h, PEOPLE.axureOwner, id);
    const mirror = await h.slack.waitFor(() => h.slack.messagesTo(APPROVALS_CHANNEL).find((m) => m.text.includes(id)), { description: 'the mirror card' });
    const status = await statusMessage(id);
    assert.ok(hasButtons(status), 'Cancel is offered while the request is waiting');

    await h.driver.clickButton(PEOPLE.requester, status, 'Cancel');
    const answer = await h.slack.waitFor(() => h.slack.ephemerals.find((e) => e.user === PEOPLE.requester && e.text.includes(`Request ${id} cancelled`)), { description: 'the answer' });
    assert.match(answer.text, /2 items will not be done/);
    for (const card of [managerCard, axureCard, mirror]) {
      await h.slack.waitFor(() => !hasButtons(card) && JSON.stringify(card.blocks).includes(`request cancelled by <@${PEOPLE.requester}>`), { description: 'a card settled as cancelled' });
    }
    await h.slack.waitFor(() => !hasButtons(status) && JSON.stringify(status.blocks).includes('cancelled by'), { description: 'the status message without Cancel' });
    for (const approver of [PEOPLE.manager, PEOPLE.axureOwner]) {
      await h.slack.waitFor(() => dmsTo(h, approver).some((t) => t.includes(`Request ${id} was cancelled`) && t.includes('no longer needed')), { description: `${approver} told` });
    }
    assert.deepEqual(itemStates(h, id), ['cancelled', 'cancelled']);
    assert.equal(h.query("SELECT COUNT(*) AS n FROM approvals WHERE request_id = ? AND state = 'cancelled'", id)[0]!.n, 2);
    assert.equal(h.query("SELECT actor FROM audit WHERE request_id = ? AND action = 'request.cancelled'", id)[0]!.actor, PEOPLE.requester);
    assert.equal(h.slack.messagesTo(PEOPLE.owner1).filter((m) => m.text.includes(id)).length, 0, 'step 2 never opened');

    // Cancelling again says so, and changes nothing.
    assert.match(await command(PEOPLE.requester, `cancel ${id.toLowerCase()}`), new RegExp(`Request ${id} was already cancelled by <@${PEOPLE.requester}>`));
    assert.equal(h.query("SELECT COUNT(*) AS n FROM audit WHERE request_id = ? AND action = 'request.cancelled'", id)[0]!.n, 1);
  });

  test('who may cancel: the subject, an approver, an assignee and a stranger are refused; an IT admin may, and the requester is told', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['autodesk'] });
    const managerCard = await cardFor(h, PEOPLE.manager, id);
    for (const person of [PEOPLE.dave, PEOPLE.manager, PEOPLE.it1, PEOPLE.stranger]) {
      assert.match(await command(person, `cancel ${id}`), new RegExp(`Only the requester <@${PEOPLE.requester}> or an IT admin can cancel request ${id}\\. Nothing was changed`), person);
    }
    assert.deepEqual(itemStates(h, id), ['awaiting_approval']);
    assert.ok(hasButtons(managerCard));

    assert.match(await command(PEOPLE.admin, `cancel ${id}`), new RegExp(`Request ${id} cancelled: 1 item will not be done`));
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(`<@${PEOPLE.admin}> cancelled your request ${id}`)), { description: 'the requester told' });
    await h.slack.waitFor(() => !hasButtons(managerCard), { description: 'the card settled' });
    assert.deepEqual(itemStates(h, id), ['cancelled']);

    assert.match(await command(PEOPLE.requester, 'cancel AR-NOSUCH'), /There is no request AR-NOSUCH/);
    assert.match(await command(PEOPLE.requester, 'cancel <!channel>'), /`&lt;!CHANNEL&gt;` is not a request id/);
  });
});

describe('cancel after approval', () => {
  test('an approved offboarding cancelled before its effective date never reaches Autodesk, even if its job runs', async () => {
    const leaver = h.autodesk.addUser({ email: 'dave@example.com', firstName: 'Dave', status: 'active' });
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', subjects: [PEOPLE.dave], apps: ['autodesk'], effective_date: tomorrow() });
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
    await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
    const status = await statusMessage(id);
    await h.slack.waitFor(() => JSON.stringify(status.blocks).includes(`scheduled for ${tomorrow()}`) && hasButtons(status), { description: 'approved, waiting for its date, Cancel offered' });

    await h.driver.clickButton(PEOPLE.requester, status, 'Cancel');
    await h.slack.waitFor(() => !hasButtons(status), { description: 'the status message without Cancel' });
    assert.deepEqual(itemStates(h, id), ['cancelled']);
    const itemId = h.query<{ id: number }>('SELECT id FROM items WHERE request_id = ?', id)[0]!.id;
    assert.equal(h.query<{ state: string }>('SELECT state FROM jobs WHERE key = ?', `fulfill:${itemId}`)[0]!.state, 'cancelled');

    // The effective date arrives for a job that escaped the cancel (a copy restored from a backup, a race): it finds
    // the item cancelled and does nothing.
    const db = new Database(h.env.DATABASE_PATH);
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare('UPDATE requests SET effective_date = ? WHERE id = ?').run(new Date().toISOString().slice(0, 10), id);
      db.prepare("UPDATE jobs SET state = 'queued', run_at = 0 WHERE key = ?").run(`fulfill:${itemId}`);
    } finally {
      db.close();
    }
    const ran = () => h.query<{ state: string; run_at: number }>('SELECT state, run_at FROM jobs WHERE key = ?', `fulfill:${itemId}`)[0]!;
    await untilDb(() => ran().state !== 'queued' && ran().state !== 'running', 'the revived job to run');
    assert.deepEqual(itemStates(h, id), ['cancelled']);
    assert.equal(h.autodesk.countRequests({ method: 'PATCH', pathPrefix: '/users' }) + h.autodesk.countRequests({ method: 'DELETE', pathPrefix: '/users' }), 0, 'no deactivation sent');
    assert.equal(h.autodesk.users().find((u) => u.id === leaver.id)!.status, 'active');
  });

  test('an open Axure task is withdrawn: its DM loses its buttons, the assignee is told, the assignee can no longer close it', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.bob], apps: ['axure'] });
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, id), 'Approve');
    const task = await h.slack.waitFor(() => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => h.slack.messagesTo(it)).find((m) => m.text.startsWith('Task #') && m.text.includes(`<@${PEOPLE.bob}>`)), {
      description: 'the task DM',
    });
    const assignee = h.slack.dmUserOf(task.channel)!;
    const status = await statusMessage(id);
    await h.slack.waitFor(() => itemStates(h, id)[0] === 'in_progress' && hasButtons(status), { description: 'the task open, Cancel offered' });

    assert.match(await command(PEOPLE.requester, `cancel ${id}`), new RegExp(`Request ${id} cancelled: 1 item will not be done`));
    await h.slack.waitFor(() => !hasButtons(task) && task.text.startsWith('Withdrawn:'), { description: 'the task DM withdrawn' });
    await h.slack.waitFor(() => dmsTo(h, assignee).some((t) => t.includes('is withdrawn') && t.includes(`cancelled request ${id}`)), { description: 'the assignee told' });
    assert.deepEqual(itemStates(h, id), ['cancelled']);
    assert.equal(h.query("SELECT state FROM tasks WHERE request_id = ?", id)[0]!.state, 'cancelled');
    assert.equal(h.query("SELECT COUNT(*) AS n FROM jobs WHERE key LIKE 'task-remind:%' AND state = 'queued' AND payload LIKE ?", `%${h.query<{ id: number }>('SELECT id FROM tasks WHERE request_id = ?', id)[0]!.id}%`)[0]!.n, 0, 'no reminders left');
  });

  test('work underway in Autodesk is listed, not undone, while the open Axure task is withdrawn; then nothing is left to cancel', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk', 'axure'] });
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, id), 'Approve');
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
    await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
    await h.autodesk.waitFor(() => h.autodesk.userByEmail('carol@example.com')?.status === 'pending', { timeoutMs: 10_000 });
    const task = await h.slack.waitFor(() => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => h.slack.messagesTo(it)).find((m) => m.text.startsWith('Task #') && JSON.stringify(m.blocks).includes(id)), {
      description: 'the task DM',
    });
    await h.slack.waitFor(() => itemStates(h, id).every((state) => state === 'in_progress'), { description: 'both items in progress' });

    const answer = await command(PEOPLE.requester, `cancel ${id}`);
    assert.match(answer, new RegExp(`Request ${id} cancelled: 1 item will not be done`));
    assert.match(answer, new RegExp(`Not undone by cancelling[\\s\\S]*<@${PEOPLE.carol}> · Autodesk: in progress`));
    await h.slack.waitFor(() => !hasButtons(task), { description: 'the task withdrawn' });
    assert.deepEqual(itemStates(h, id), ['in_progress', 'cancelled'], 'the invitation stays; the task does not');
    assert.equal(h.autodesk.userByEmail('carol@example.com')!.status, 'pending');

    assert.match(await command(PEOPLE.requester, `cancel ${id}`), new RegExp(`Nothing in request ${id} can be cancelled any more: what is left is already underway`));
  });
});
