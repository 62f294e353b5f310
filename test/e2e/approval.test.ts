/**
 * The approval lifecycle through the running bot: Slack requests in, Slack Web API calls out, the SQLite file
 * checked as an operator would. One bot for the file; each test uses its own request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Harness, PEOPLE, APPROVALS_CHANNEL, IT_CHANNEL, baseConfig } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, itemStates, requestAccess } from '../support/flows.js';

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.close();
});

describe('approval routing', () => {
  test('a two-step Autodesk approval reaches fulfillment, every card updated and the requester told each step', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk'], autodesk_teams: ['team-789'] });
    const managerCard = await cardFor(h, PEOPLE.manager, id);
    assert.ok(hasButtons(managerCard));
    assert.match(JSON.stringify(managerCard.blocks), /Design Team/, 'the card shows the teams asked for');
    assert.equal(h.slack.messagesTo(PEOPLE.owner1).filter((m) => m.text.includes(id)).length, 0, 'step 2 approvers wait for step 1');

    await h.driver.clickButton(PEOPLE.manager, managerCard, 'Approve');
    await h.slack.waitFor(() => !hasButtons(managerCard) && JSON.stringify(managerCard.blocks).includes('approved by'), { description: 'manager card updated' });
    const ownerCard = await cardFor(h, PEOPLE.owner1, id);
    await cardFor(h, PEOPLE.owner2, id);
    await h.driver.clickButton(PEOPLE.owner2, ownerCard.channel === h.slack.dmChannelOf(PEOPLE.owner2) ? ownerCard : await cardFor(h, PEOPLE.owner2, id), 'Approve');
    await h.slack.waitFor(() => !hasButtons(ownerCard), { description: 'owner1 card loses its buttons once owner2 decided' });
    const mirror = await h.slack.waitFor(() => h.slack.messagesTo(APPROVALS_CHANNEL).find((m) => m.text.includes(id)));
    await h.slack.waitFor(() => !hasButtons(mirror), { description: 'mirror card settled' });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(`<@${PEOPLE.owner2}> approved Autodesk`)), { description: 'requester told of final approval' });
    assert.ok(dmsTo(h, PEOPLE.requester).some((t) => t.includes(`<@${PEOPLE.manager}> approved step 1 of 2`)));
    assert.ok(itemStates(h, id).every((state) => state !== 'awaiting_approval'));
  });
});

describe('deciding', () => {
  test('deny asks for a reason, the requester reads it, and nothing is fulfilled', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['axure'] });
    const card = await cardFor(h, PEOPLE.axureOwner, id);
    await h.driver.clickButton(PEOPLE.axureOwner, card, 'Deny');
    const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.axureOwner, 'deny_reason'));
    const empty = await h.driver.submitView(PEOPLE.axureOwner, modal, { reason: '   ' });
    assert.equal(empty.outcome, 'errors', 'a blank reason is refused on the field');
    await h.driver.submitView(PEOPLE.axureOwner, modal, { reason: 'No Axure seats left this quarter' });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id) && t.includes('No Axure seats left this quarter')), { description: 'requester told why' });
    await h.slack.waitFor(() => !hasButtons(card) && JSON.stringify(card.blocks).includes('denied by'));
    assert.deepEqual(itemStates(h, id), ['denied']);
  });

  test('the requester, a subject listed as approver, and a stranger are refused and nothing changes', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.bob], apps: ['autodesk'] });
    const card = await cardFor(h, PEOPLE.manager, id);
    const before = h.slack.ephemerals.length;
    await h.driver.clickButton(PEOPLE.stranger, { ...card, channel: 'C0APPROVALS' }, 'Approve');
    await h.slack.waitFor(() => h.slack.ephemerals.slice(before).some((e) => e.user === PEOPLE.stranger), { description: "the stranger's click on a copied card refused" });
    const clicks = h.slack.ephemerals.length;
    const mirror = await h.slack.waitFor(() => h.slack.messagesTo(APPROVALS_CHANNEL).find((m) => m.text.includes(id)));
    await h.driver.clickButton(PEOPLE.stranger, mirror, 'Approve');
    await h.driver.clickButton(PEOPLE.requester, mirror, 'Approve');
    await h.driver.clickButton(PEOPLE.stranger, mirror, 'Deny');
    // Replies come in whatever order the clicks finish: wait for the requester's and both of the mirror's stranger clicks.
    await h.slack.waitFor(() => {
      const replies = h.slack.ephemerals.slice(clicks);
      return replies.some((e) => e.user === PEOPLE.requester) && replies.filter((e) => e.user === PEOPLE.stranger).length >= 2;
    }, { description: 'the refusals of the requester and the stranger' });
    const refusals = h.slack.ephemerals.slice(clicks).map((e) => e.text);
    assert.ok(refusals.some((t) => /Only <@U0MANAGER> can decide/.test(t)), refusals.join(' | '));
    assert.ok(refusals.some((t) => /your own request/.test(t)));
    assert.equal(h.slack.openViewOf(PEOPLE.stranger, 'deny_reason'), undefined, 'no deny modal for a stranger');
    assert.deepEqual(itemStates(h, id), ['awaiting_approval']);
    assert.equal(h.query("SELECT COUNT(*) AS n FROM approvals WHERE request_id = ? AND state != 'pending'", id)[0]!.n, 0);
  });

  test('two approvers clicking at once decide exactly once', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk'] });
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
    const [c1, c2] = [await cardFor(h, PEOPLE.owner1, id), await cardFor(h, PEOPLE.owner2, id)];
    // Two owners, and each of them double-clicking, all in flight together.
    await Promise.all([
      h.driver.clickButton(PEOPLE.owner1, c1, 'Approve'), h.driver.clickButton(PEOPLE.owner2, c2, 'Approve'),
      h.driver.clickButton(PEOPLE.owner1, c1, 'Approve'), h.driver.clickButton(PEOPLE.owner2, c2, 'Approve'),
    ]);
    const decisions = h.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit WHERE request_id = ? AND action = 'approval.approved'", id)[0]!.n;
    assert.equal(decisions, 2, 'step 1 by the manager, step 2 by exactly one owner');
    await h.slack.waitFor(() => !hasButtons(c1) && !hasButtons(c2), { description: 'both owner cards settled' });
    const jobs = h.query<{ n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'item.fulfill' AND payload LIKE ?", `%${h.query<{ id: number }>('SELECT id FROM items WHERE request_id = ?', id)[0]!.id}%`)[0]!.n;
    assert.equal(jobs, 1, 'one fulfillment job');
  });

  test('when every approver of a step is the requester or a subject, the step goes to the IT channel, where only an IT admin decides', async () => {
    const id = await requestAccess(h, PEOPLE.axureOwner, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['axure'] });
    const itCard = await h.slack.waitFor(() => h.slack.messagesTo('C0ITOPS').find((m) => m.text.includes(id)), { description: 'card in IT channel' });
    assert.ok(hasButtons(itCard));
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.axureOwner).some((t) => t.includes(id) && t.includes('sent to the IT channel')));
    await h.driver.clickButton(PEOPLE.axureOwner, itCard, 'Approve');
    await h.slack.waitFor(() => h.slack.ephemerals.some((e) => e.user === PEOPLE.axureOwner && /own request/.test(e.text)));
    await h.driver.clickButton(PEOPLE.it1, itCard, 'Approve');
    await h.slack.waitFor(() => h.slack.ephemerals.some((e) => e.user === PEOPLE.it1 && /only the IT admins \(<@U0ADMIN>\)/.test(e.text)), { description: 'a channel member who is no IT admin is refused' });
    assert.deepEqual(itemStates(h, id), ['awaiting_approval']);
    await h.driver.clickButton(PEOPLE.admin, itCard, 'Approve');
    await h.slack.waitFor(() => !hasButtons(itCard), { description: 'IT card settled' });
    assert.match(JSON.stringify(itCard.blocks), /approved by <@U0ADMIN>/);
    // Approved, and already handed to the Axure task if its job ran: anything else (denied, still waiting) is wrong.
    assert.ok(['approved', 'in_progress'].includes(itemStates(h, id).join()), itemStates(h, id).join());
  });
});

describe('durability', () => {
  test('a bot restarted between step 1 and step 2 keeps the request, its cards and their buttons', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', subjects: [PEOPLE.dave], apps: ['autodesk'] });
    const managerCard = await cardFor(h, PEOPLE.manager, id);
    assert.match(JSON.stringify(managerCard.blocks), /cannot be undone through the API/, 'the card warns that deactivation is irreversible');
    const since = h.slack.calls.length;
    await h.driver.clickButton(PEOPLE.manager, managerCard, 'Approve');
    await cardFor(h, PEOPLE.owner1, id);
    // The requester's status is the sync job's last write: by then the owners' card coordinates are stored.
    // (A crash between Slack's answer and that store is the one window that can leave a duplicate card.)
    await h.slack.waitForCall('chat.update', (call) => call.args.channel === h.slack.dmChannelOf(PEOPLE.requester), { since });
    await h.restartBot('SIGKILL');
    const ownerCard = await cardFor(h, PEOPLE.owner1, id);
    await h.driver.clickButton(PEOPLE.owner1, ownerCard, 'Approve');
    await h.slack.waitFor(() => !hasButtons(ownerCard) && !hasButtons(managerCard), { description: 'cards posted before the crash updated after it' });
    assert.deepEqual(itemStates(h, id).map((s) => s === 'awaiting_approval'), [false]);
    assert.equal(h.slack.messagesTo(PEOPLE.owner1).filter((m) => m.text.includes(id)).length, 1, 'no second card after restart');
  });
});

describe('Slack outages', () => {
  test('a Slack outage (500s, then a 429) delays the approval card instead of losing it, and it is posted once', async () => {
    h.slack.failNext('chat.postMessage', 3, { status: 500 });
    h.slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 1 });
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['axure'] });
    await cardFor(h, PEOPLE.axureOwner, id);
    assert.ok(h.slack.calls.some((call) => call.method === 'chat.postMessage' && call.status === 429), 'the rate limit was hit');
    await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.requester).some((m) => m.text.includes(`Your onboarding request ${id}`)));
    assert.equal(h.slack.messagesTo(PEOPLE.axureOwner).filter((m) => m.text.includes(id)).length, 1);
  });
});

describe('misconfiguration', () => {
  test('an approver id that is no Slack user: the other cards still go out, and IT is told', async () => {
    const config = baseConfig();
    config.apps[1].approvers = ['U0NOBODY', PEOPLE.axureOwner];
    const bad = await Harness.start({ config });
    try {
      const id = await requestAccess(bad, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['axure'] });
      await cardFor(bad, PEOPLE.axureOwner, id);
      const alert = await bad.slack.waitFor(() => bad.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('could not post')), { timeoutMs: 20_000, description: 'IT told' });
      assert.match(alert.text, /channel_not_found/);
    } finally {
      await bad.close();
    }
  });
});
