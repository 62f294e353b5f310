/**
 * The approval lifecycle through the running bot: Slack requests in, Slack Web API calls out, the SQLite file
 * checked as an operator would. One bot for the file; each test uses its own request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Harness, PEOPLE, APPROVALS_CHANNEL } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, itemStates, requestAccess, today } from '../support/flows.js';

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
