/**
 * Issue 13 §1, through the running bot and the Autodesk sandbox: once a card is posted it updates itself with
 * what approving will do, read from Autodesk in one listing (the card never waits for it); at execution an
 * account other than the one previewed stops the item and asks the approvers again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SandboxMessage } from '../../src/sandboxes/slack/server.js';
import { APPROVALS_CHANNEL, Harness, PEOPLE } from '../support/harness.js';
import { cardFor, dmsTo, itemStates, requestAccess } from '../support/flows.js';

let h: Harness;
before(async () => {
  h = await Harness.start({ autodesk: { latencyMs: 0 } });
  // The start-up credentials check lists one user: out of the way before anything is counted.
  await h.autodesk.waitFor(() => h.autodesk.countRequests({ method: 'GET', pathPrefix: '/users' }) >= 1, { timeoutMs: 10_000 });
});
after(async () => {
  await h.close();
});

const textOf = (message: { blocks: unknown[] }) => JSON.stringify(message.blocks);
/** The card's preview section, as one string (Slack's JSON escapes aside). */
const previewOf = (message: { blocks: unknown[] }) => textOf(message).replaceAll('\\n', '\n');

async function previewedCard(recipient: string, requestId: string, until: string): Promise<SandboxMessage> {
  const card = await cardFor(h, recipient, requestId);
  await h.slack.waitFor(() => textOf(card).includes(until), { timeoutMs: 10_000, description: `preview on the card: ${until}` });
  return card;
}

/** The preview line of one person, by the address the card shows for them. */
function lineFor(card: SandboxMessage, who: string): string {
  const line = previewOf(card).split('\n').find((candidate) => candidate.includes(who) && candidate.includes('Autodesk:'));
  assert.ok(line, `a preview line for ${who} in ${previewOf(card)}`);
  return line;
}

describe('approval preview', () => {
  test('an offboarding card names the exact account among near-matches, posted before the preview and filled in from one listing', async () => {
    const ann = h.autodesk.addUser({ email: 'Ann@Example.com', firstName: 'Ann', status: 'active' });
    h.autodesk.addUser({ email: 'ann.b@example.com', firstName: 'Ann', lastName: 'B' });
    h.autodesk.addUser({ email: 'anna@example.com', firstName: 'Anna' });
    const old = h.autodesk.addUser({ email: 'old.timer@example.com', status: 'inactive' });
    const listingsBefore = h.autodesk.countRequests({ method: 'GET', pathPrefix: '/users' });
    // A slow Autodesk: the card must be out (and the modal closed) long before the preview is read.
    h.autodesk.setLatency(400);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subject_emails: 'ann@example.com\nold.timer@example.com\nghost@example.com' });
    const card = await cardFor(h, PEOPLE.manager, id);
    const first = card.history[0] ?? card;
    assert.match(textOf(first), /Reading 3 accounts from Autodesk/, 'the first card says the preview is being read');
    assert.doesNotMatch(textOf(first), /will be deactivated/);
    await h.slack.waitFor(() => textOf(card).includes('no Autodesk account'), { timeoutMs: 10_000, description: 'preview on the card' });
    h.autodesk.setLatency(0);

    const annLine = lineFor(card, 'ann@example.com');
    assert.match(annLine, /will be deactivated/);
    assert.ok(annLine.includes(ann.id), 'names the account id of Ann@Example.com');
    assert.ok(annLine.includes('Ann@Example.com'), 'shows the e-mail exactly as Autodesk stores it');
    assert.match(annLine, /last login/);
    assert.ok(!previewOf(card).includes('ann.b@example.com') && !previewOf(card).includes('anna@example.com'), 'near-matches are not named');
    assert.match(lineFor(card, 'old.timer@example.com'), new RegExp(`already inactive.*${old.id}`));
    assert.match(lineFor(card, 'ghost@example.com'), /no Autodesk account/);
    assert.doesNotMatch(textOf(card), /Reading .* from Autodesk/, 'the reading note is gone once read');
    assert.equal(h.autodesk.countRequests({ method: 'GET', pathPrefix: '/users' }) - listingsBefore, 1, 'one listing page for the three people, no per-person reads');
    // Every copy shows it: the approvals channel mirror renders from the same rows.
    const mirror = await cardFor(h, APPROVALS_CHANNEL, id);
    await h.slack.waitFor(() => textOf(mirror).includes('no Autodesk account'), { description: 'the preview on the mirror' });
    const stored = h.query<{ n: number }>("SELECT COUNT(*) AS n FROM item_previews p JOIN items i ON i.id = p.item_id WHERE i.request_id = ? AND p.state = 'ok'", id)[0]!.n;
    assert.equal(stored, 3, 'kept in SQLite, so a restart shows the same preview');
  });

  test('an onboarding card says who is invited, who only gains teams and who cannot be reactivated', async () => {
    h.autodesk.addUser({ email: 'carol@example.com', firstName: 'Carol', role: 'admin', status: 'active' });
    h.autodesk.addUser({ email: 'dave@example.com', firstName: 'Dave', status: 'inactive' });
    const id = await requestAccess(h, PEOPLE.requester, {
      kind: 'onboard', apps: ['autodesk'], subjects: [PEOPLE.carol, PEOPLE.dave],
      new_hire_email: 'nina.new@example.com', new_hire_first_name: 'Nina', new_hire_last_name: 'New', autodesk_role: 'viewer', autodesk_teams: ['team-789'],
    });
    const card = await previewedCard(PEOPLE.manager, id, 'will invite');
    assert.match(lineFor(card, 'nina.new@example.com'), /will invite nina\.new@example\.com as viewer, then join Design Team once accepted/);
    const lines = previewOf(card).split('\n');
    assert.ok(lines.some((line) => line.includes(`<@${PEOPLE.carol}>`) && line.includes('already active as admin: will only add Design Team')), previewOf(card));
    assert.ok(lines.some((line) => line.includes(`<@${PEOPLE.dave}>`) && line.includes('deactivated: cannot be reactivated through the API')), previewOf(card));
  });

  test('an account that changed between card and approval stops the item, which goes back to the approvers with the new preview', async () => {
    const previewed = h.autodesk.addUser({ email: 'zed@example.com', firstName: 'Zed', status: 'active' });
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subject_emails: 'zed@example.com' });
    const managerCard = await previewedCard(PEOPLE.manager, id, previewed.id);

    // In the Admin Center someone renames the account and another one takes the address.
    h.autodesk.changeEmail(previewed.id, 'zed.former@example.com');
    const newcomer = h.autodesk.addUser({ email: 'zed@example.com', firstName: 'Zed', lastName: 'Two', status: 'active' });
    await h.driver.clickButton(PEOPLE.manager, managerCard, 'Approve');
    const ownerCard = await cardFor(h, PEOPLE.owner1, id);
    assert.ok(textOf(ownerCard).includes(previewed.id), `the owner approves what the card previewed: ${previewOf(ownerCard)}`);
    await h.driver.clickButton(PEOPLE.owner1, ownerCard, 'Approve');

    await h.slack.waitFor(() => dmsTo(h, PEOPLE.owner1).some((text) => text.includes(id) && text.includes('decide again')), { timeoutMs: 10_000, description: 'the owner is asked again' });
    assert.deepEqual(itemStates(h, id), ['awaiting_approval']);
    const [detail] = h.query<{ detail: string }>('SELECT detail FROM items WHERE request_id = ?', id).map((row) => row.detail);
    assert.match(detail!, /stopped before any change/);
    assert.ok(detail!.includes(previewed.id) && detail!.includes(newcomer.id), 'says which account was previewed and which was found');
    assert.equal(h.autodesk.userByEmail('zed.former@example.com')!.status, 'active', 'nothing was done to the account previewed');
    assert.equal(h.autodesk.userByEmail('zed@example.com')!.status, 'active', 'nor to the one found');
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((text) => text.includes(id) && text.includes('the approvers were asked again')), { description: 'the requester is told' });
    await h.slack.waitFor(() => textOf(ownerCard).includes(newcomer.id) && textOf(ownerCard).includes('"type":"button"'), { description: 'the card shows the new account, with buttons again' });
    assert.ok(!lineFor(ownerCard, 'zed@example.com').includes(previewed.id), 'the old account is no longer previewed');

    await h.driver.clickButton(PEOPLE.owner1, ownerCard, 'Approve');
    await h.slack.waitFor(() => itemStates(h, id)[0] === 'completed', { timeoutMs: 10_000, description: 'offboarded after the second approval' });
    assert.equal(h.autodesk.userByEmail('zed@example.com')!.status, 'inactive', 'the account approved the second time is deactivated');
    assert.equal(h.autodesk.userByEmail('zed.former@example.com')!.status, 'active', 'the renamed account is left alone');
  });

  test('while Autodesk does not answer the card says the preview is unavailable, approval still works, and a later answer fills it in', async () => {
    h.autodesk.addUser({ email: 'una@example.com', status: 'active' });
    h.autodesk.setOutage(503);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subject_emails: 'una@example.com' });
    const card = await previewedCard(PEOPLE.manager, id, 'preview unavailable for now');
    h.autodesk.setOutage(null);
    assert.ok(textOf(card).includes('"type":"button"'), 'the approver can still decide');
    await h.driver.clickButton(PEOPLE.manager, card, 'Approve');
    await h.slack.waitFor(() => lineFor(card, 'una@example.com').includes('will be deactivated'), { timeoutMs: 15_000, description: 'the preview read once Autodesk answers' });
  });
});
