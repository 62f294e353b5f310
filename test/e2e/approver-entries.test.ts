/**
 * Approvers and IT admins named as Slack user groups or by e-mail, through the running bot: a group's members
 * decide (read with usergroups.users.list when the step opens, and stored with it, so a group that changes
 * later does not move a step already open); an e-mail approver is looked up once at start-up and decides; an IT
 * admin given by e-mail is one; an approver e-mail no Slack user has stops start-up naming its JSON path.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BotProcess } from '../../src/sandboxes/bot-process.js';
import { APPROVALS_CHANNEL, Harness, PEOPLE, baseConfig, freePort } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, itemStates, requestAccess } from '../support/flows.js';

const AXURE_TEAM = 'S0AXURE';
const OWNERS = 'S0OWNERS';

function entriesConfig(): Record<string, any> {
  const config = baseConfig();
  config.itAdmins = ['Adam@Example.com'];
  config.apps[0].approvalSteps = [{ name: 'Manager', approvers: ['mona@example.com'] }, { name: 'App owner', approvers: [OWNERS] }];
  config.apps[1].approvers = [AXURE_TEAM];
  return config;
}

let h: Harness;
before(async () => {
  h = await Harness.start({ config: entriesConfig(), userGroups: { [AXURE_TEAM]: [PEOPLE.axureOwner, PEOPLE.carol], [OWNERS]: [PEOPLE.owner1] } });
});
after(async () => {
  await h.close();
});

const approversOf = (requestId: string, appId: string) =>
  h.query<{ approvers: string }>('SELECT approvers FROM approvals WHERE request_id = ? AND app_id = ? ORDER BY step_index', requestId, appId).map((row) => JSON.parse(row.approvers) as string[]);

describe('approvers as user groups and e-mails', () => {
  test("a user group's members each get the card and any one of them decides; someone outside the group is refused", async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.bob], apps: ['axure'] });
    const adaCard = await cardFor(h, PEOPLE.axureOwner, id);
    const carolCard = await cardFor(h, PEOPLE.carol, id);
    assert.deepEqual(approversOf(id, 'axure'), [[PEOPLE.axureOwner, PEOPLE.carol]]);

    const mirror = await h.slack.waitFor(() => h.slack.messagesTo(APPROVALS_CHANNEL).find((message) => message.text.includes(id)), { description: 'the mirrored card' });
    const since = h.slack.ephemerals.length;
    await h.driver.clickButton(PEOPLE.stranger, mirror, 'Approve');
    const told = await h.slack.waitFor(() => h.slack.ephemerals.slice(since).find((e) => e.user === PEOPLE.stranger), { description: 'a non-member told why' });
    assert.match(told.text, new RegExp(`Only <@${PEOPLE.axureOwner}> or <@${PEOPLE.carol}> can decide`));
    assert.deepEqual(itemStates(h, id), ['awaiting_approval']);

    await h.driver.clickButton(PEOPLE.carol, carolCard, 'Approve');
    await h.slack.waitFor(() => !hasButtons(adaCard), { description: "the other member's card settles once Carol decided" });
    await h.slack.waitFor(() => !itemStates(h, id).includes('awaiting_approval'), { description: 'approved' });
  });

  test('an approver given by e-mail decides step 1, and a group decides step 2', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['autodesk'] });
    const monaCard = await cardFor(h, PEOPLE.manager, id);
    await h.driver.clickButton(PEOPLE.manager, monaCard, 'Approve');
    const ownerCard = await cardFor(h, PEOPLE.owner1, id);
    assert.deepEqual(approversOf(id, 'autodesk'), [[PEOPLE.manager], [PEOPLE.owner1]]);
    await h.driver.clickButton(PEOPLE.owner1, ownerCard, 'Approve');
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((text) => text.includes(id) && text.includes(`<@${PEOPLE.owner1}> approved Autodesk`)), {
      description: 'the requester told of the final approval',
    });
  });

  test('a group that changes while a step is open: the open step keeps its approvers, a new request gets the new members', async () => {
    const before = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['axure'] });
    const adaCard = await cardFor(h, PEOPLE.axureOwner, before);
    h.slack.userGroups.set(AXURE_TEAM, [PEOPLE.owner2]);

    const afterChange = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.bob], apps: ['axure'] });
    await cardFor(h, PEOPLE.owner2, afterChange);
    assert.deepEqual(approversOf(afterChange, 'axure'), [[PEOPLE.owner2]], 'the new step has the members of the moment it opened');
    assert.deepEqual(approversOf(before, 'axure'), [[PEOPLE.axureOwner, PEOPLE.carol]], 'the open step kept its approvers');
    assert.ok(!h.slack.messagesTo(PEOPLE.owner2).some((message) => message.text.includes(before)), 'the newcomer got no card for the step already open');

    // Ada left the group, but the step she was asked to decide is still hers.
    await h.driver.clickButton(PEOPLE.axureOwner, adaCard, 'Approve');
    await h.slack.waitFor(() => !itemStates(h, before).includes('awaiting_approval'), { description: 'Ada decided the step opened with her' });
    h.slack.userGroups.set(AXURE_TEAM, [PEOPLE.axureOwner, PEOPLE.carol]);
  });

  test('an IT admin given by e-mail may cancel anyone\'s request', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk'] });
    await cardFor(h, PEOPLE.manager, id);
    await h.driver.slashCommand(PEOPLE.admin, `cancel ${id}`);
    await h.slack.waitFor(() => itemStates(h, id).every((state) => state === 'cancelled'), { description: 'cancelled by the IT admin' });
  });
});

describe('start-up', () => {
  test('an approver e-mail no Slack user has stops start-up with one line naming its JSON path', async () => {
    const config = entriesConfig();
    config.apps[1].approvers = [AXURE_TEAM, 'oscar@example.com'];
    const configPath = join(h.dir, 'unknown-approver.config.json');
    writeFileSync(configPath, JSON.stringify(config));
    const bot = new BotProcess({ ...h.env, ACCESS_CONFIG: configPath, DATABASE_PATH: join(h.dir, 'unknown-approver.db'), PORT: String(await freePort()) });
    await assert.rejects(bot.start(), /bot exited \(code 1\)/);
    assert.equal(bot.stderr.join('').trim(), `accessbot cannot start: ${configPath}: 1 problem: apps[1].approvers[1]: no Slack user has the e-mail oscar@example.com (a deactivated account counts as none)`);
  });
});
