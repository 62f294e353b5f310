/**
 * Autodesk work through the running bot: a new hire invited, accepted and put in a team; a bulk offboarding
 * that survives the bot being killed; a failure IT can retry. Approvals are clicked as people would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Harness, PEOPLE, IT_CHANNEL } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, itemStates, requestAccess } from '../support/flows.js';
import { readWords } from '../../src/requests/words.js';

let h: Harness;
before(async () => {
  h = await Harness.start({ autodesk: { latencyMs: 0 }, env: { AUTODESK_MAX_CONCURRENT: '3' }, });
});
after(async () => {
  await h.close();
});

/** Both Autodesk steps: the manager, then an app owner. */
async function approveAutodesk(requestId: string): Promise<void> {
  await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, requestId), 'Approve');
  await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, requestId), 'Approve');
}

describe('Autodesk onboarding', () => {
  test('a new hire is invited, waits while pending, and joins the team once the acceptance webhook arrives', async () => {
    const id = await requestAccess(h, PEOPLE.requester, {
      kind: 'onboard', apps: ['autodesk'], new_hire_email: 'Nina.New@Example.com', new_hire_first_name: 'Nina', new_hire_last_name: 'New',
      autodesk_role: 'viewer', autodesk_teams: ['team-789'],
    });
    await approveAutodesk(id);
    const invited = await h.autodesk.waitFor(() => h.autodesk.userByEmail('nina.new@example.com'), { timeoutMs: 10_000 });
    assert.equal(invited.status, 'pending');
    assert.equal(invited.role, 'viewer');
    assert.equal(invited.email, 'Nina.New@Example.com', 'casing kept as typed');
    const status = await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.requester).find((m) => m.text.includes(`request ${id}`) && JSON.stringify(m.blocks).includes('invited, waiting for the user to accept')), { description: 'requester sees the invitation' });
    assert.equal(h.autodesk.countRequests({ method: 'POST', pathPrefix: `/users/${invited.id}/teams` }), 0, 'no team assignment while pending');

    h.autodesk.accept(invited.id);
    await h.autodesk.flushWebhooks();
    await h.autodesk.waitFor(() => h.autodesk.userByEmail('nina.new@example.com')!.teams.some((team) => team.id === 'team-789'), { timeoutMs: 10_000 });
    await h.slack.waitFor(() => itemStates(h, id)[0] === 'completed' && dmsTo(h, PEOPLE.requester).some((t) => t.includes(`Request ${id} is done`)), { description: 'requester told it is done' });
    await h.slack.waitFor(() => JSON.stringify(status.blocks).includes('1/1 onboarded'), { description: 'progress line on the status message' });
  });

  test('a deactivated Autodesk account is not re-invited: the item fails in words and IT is alerted', async () => {
    h.autodesk.addUser({ email: 'carol@example.com', firstName: 'Carol', status: 'inactive' });
    const invitations = () => h.autodesk.requests.filter((r) => r.method === 'POST' && r.path === '/users').length;
    const invitationsBefore = invitations();
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['autodesk'], subjects: [PEOPLE.carol] });
    await approveAutodesk(id);
    const alert = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('could not finish')), { description: 'IT alert' });
    assert.match(JSON.stringify(alert.blocks), /cannot be reactivated through the API; open an Autodesk support case/);
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id) && t.includes('could not be done') && t.includes('support case')));
    assert.equal(invitations(), invitationsBefore, 'no invitation was even attempted');
    assert.equal(h.autodesk.users().filter((u) => u.email.toLowerCase() === 'carol@example.com').length, 1, 'no second account created');
  });
});

describe('Autodesk webhooks without AUTODESK_WEBHOOK_SECRET (the default)', () => {
  test('the route is off: a forged unsigned user.deactivated is answered 404, and the offboarding still deactivates', async () => {
    const bob = h.autodesk.addUser({ email: 'Bob.Builder@Example.com', firstName: 'Bob', status: 'active' });
    const forged = JSON.stringify({ id: 'evt-forged-unsigned', event: 'user.deactivated', createdAt: new Date().toISOString(), data: { ...bob, status: 'inactive' } });
    const answer = await fetch(`${h.botUrl}/webhooks/autodesk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: forged });
    assert.equal(answer.status, 404);
    const started = h.bot.lines.find((line) => line.msg === 'accessbot started');
    assert.equal(started?.autodeskWebhooks, 'webhooks off: polling', 'the start-up line says webhooks are off');
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.bob] });
    await approveAutodesk(id);
    await h.slack.waitFor(() => itemStates(h, id)[0] === 'completed', { timeoutMs: 10_000, description: 'offboarding completed' });
    assert.equal(h.autodesk.userByEmail('bob.builder@example.com')!.status, 'inactive');
    assert.deepEqual(h.query<{ detail: string }>('SELECT detail FROM items WHERE request_id = ?', id).map((row) => readWords(row.detail)), ['deactivated']);
  });
});

describe('Autodesk failures', () => {
  test('when retries run out IT gets Retry; a stranger cannot use it; an approver re-runs only the failed item', async () => {
    h.autodesk.addUser({ email: 'dave@example.com', firstName: 'Dave', status: 'active' });
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.dave] });
    h.autodesk.injectFailures(1000, 503);
    await approveAutodesk(id);
    const alert = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('could not finish')), { timeoutMs: 20_000, description: 'IT alert after retries' });
    assert.ok(hasButtons(alert));
    assert.equal(h.autodesk.userByEmail('dave@example.com')!.status, 'active');
    h.autodesk.injectFailures(0);
    await h.driver.clickButton(PEOPLE.stranger, alert, 'Retry');
    await h.slack.waitFor(() => h.slack.ephemerals.some((e) => e.user === PEOPLE.stranger && /Only the IT admins and Autodesk approvers can retry/.test(e.text)));
    assert.deepEqual(itemStates(h, id), ['failed']);
    await h.driver.clickButton(PEOPLE.owner2, alert, 'Retry');
    await h.autodesk.waitFor(() => h.autodesk.userByEmail('dave@example.com')!.status === 'inactive', { timeoutMs: 10_000 });
    await h.slack.waitFor(() => itemStates(h, id)[0] === 'completed' && JSON.stringify(alert.blocks).includes('No item is failed any more'), { description: 'alert updated after the retry' });
  });
});

describe('bulk offboarding', () => {
  test('30 people, the bot killed mid-run, finished after restart with no one deactivated twice', async () => {
    const subjects: string[] = [];
    for (let n = 1; n <= 30; n++) {
      const id = `U0BULK${String(n).padStart(2, '0')}`;
      h.slack.addUser({ id, name: `bulk${n}`, realName: `Bulk ${n}`, email: `bulk${n}@example.com` });
      h.autodesk.addUser({ email: `Bulk${n}@Example.com`, firstName: 'Bulk', lastName: String(n), status: 'active' });
      subjects.push(id);
    }
    h.autodesk.setLatency(60);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects });
    const card = await cardFor(h, PEOPLE.manager, id);
    assert.equal(h.slack.messagesTo(PEOPLE.manager).filter((m) => m.text.includes(id)).length, 1, 'one card for 30 people');
    await approveAutodesk(id);
    const patchesBefore = h.autodesk.countRequests({ method: 'PATCH' });
    await h.autodesk.waitFor(() => h.autodesk.countRequests({ method: 'PATCH', status: 200 }) >= patchesBefore + 8, { timeoutMs: 20_000 });
    await h.restartBot('SIGKILL');
    await h.autodesk.waitFor(() => h.autodesk.users().filter((u) => u.email.startsWith('Bulk') && u.status === 'inactive').length === 30, { timeoutMs: 30_000 });
    h.autodesk.setLatency(0);
    const patchedIds = h.autodesk.requests.filter((r) => r.method === 'PATCH' && r.status === 200).map((r) => r.path);
    assert.equal(new Set(patchedIds).size, patchedIds.length, 'each account deactivated by exactly one PATCH');
    await h.slack.waitFor(() => itemStates(h, id).every((s) => s === 'completed'), { timeoutMs: 15_000, description: 'all items completed' });
    await h.slack.waitFor(() => JSON.stringify(card.blocks).includes('Autodesk: 30/30 deactivated'), { description: 'live progress line on the card' });
    const audited = h.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit WHERE request_id = ? AND action = 'autodesk.deactivated'", id)[0]!.n;
    assert.equal(audited, 30);
  });
});
