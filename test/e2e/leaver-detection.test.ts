/**
 * Leavers noticed (`leaverDetection`), through the running bot: a signed `user_change` event for a deactivated
 * Slack user files an offboarding for every app accessbot granted them (not for apps never granted), with an IT
 * admin as requester, and it runs through approval to Autodesk like any offboarding. Slack's retries and a second
 * deactivation file nothing twice; an event for someone Slack says is active, or for someone with no access,
 * files nothing; with the key absent, nothing is filed at all.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { LogLine } from '../../src/sandboxes/bot-process.js';
import { USERS } from '../../src/sandboxes/stack.js';
import { baseConfig, Harness, PEOPLE } from '../support/harness.js';
import { cardFor, itemStates, requestAccess } from '../support/flows.js';

/** The test's config: a third app nobody is granted, so "only apps granted" has something to leave out. */
function config(leaverDetection?: boolean) {
  const base = baseConfig();
  base.apps.push({ id: 'miro', name: 'Miro', connector: 'manual', approvers: [PEOPLE.axureOwner], assignees: [PEOPLE.it1, PEOPLE.it2] });
  return leaverDetection === undefined ? base : { ...base, leaverDetection };
}

let h: Harness;
before(async () => {
  h = await Harness.start({ config: config(), autodesk: { latencyMs: 0 } });
});
after(async () => {
  await h.close();
});

const shown = (blocks: unknown) => JSON.stringify(blocks);
const offboardings = () => h.query<{ id: string; requester_id: string; justification: string }>("SELECT id, requester_id, justification FROM requests WHERE kind = 'offboard' ORDER BY created_at, rowid");
const appsOf = (requestId: string) => h.query<{ app_id: string }>('SELECT app_id FROM items WHERE request_id = ? ORDER BY app_id', requestId).map((row) => row.app_id);

/** Waits for a log line the bot writes after this call (older lines do not count). */
function nextLine(pick: (line: LogLine) => boolean): Promise<LogLine> {
  const old = new Set(h.bot.lines);
  return h.bot.waitForLine((line) => !old.has(line) && pick(line), 15_000);
}

/** Slack's `user_change` event for this user as the sandbox holds them, `deleted` as given. */
function userChange(userId: string, deleted: boolean) {
  const user = USERS.find((u) => u.id === userId)!;
  return { type: 'user_change', user: { id: user.id, name: user.name, real_name: user.realName, deleted, profile: { email: user.email } } };
}

/** Deactivates (or reactivates) the user in the Slack sandbox, as an admin would in Slack. */
function setDeleted(userId: string, deleted: boolean): void {
  h.slack.addUser({ ...USERS.find((u) => u.id === userId)!, deleted });
}

/** Marks done the Axure tasks of a request, once the bot has posted all `count` of them. */
async function markTasksDone(requestId: string, count: number): Promise<void> {
  const open = () => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => h.slack.messagesTo(it)).filter((m) => shown(m.blocks).includes(requestId) && shown(m.blocks).includes('Mark done'));
  const tasks = await h.slack.waitFor(() => (open().length === count ? open() : undefined), { description: `${count} tasks of ${requestId}`, timeoutMs: 15_000 });
  for (const task of tasks) await h.driver.clickButton(h.slack.dmUserOf(task.channel)!, task, 'Mark done');
}

const completed = (id: string) => h.slack.waitFor(() => itemStates(h, id).every((state) => state === 'completed'), { description: `${id} completed`, timeoutMs: 15_000 });

describe('leavers noticed', () => {
  test('off unless configured: a deactivation of someone with access files nothing', async () => {
    // Carol gets Autodesk and Axure through accessbot; Bob gets Autodesk only.
    h.autodesk.addUser({ email: 'carol@example.com', firstName: 'Carol', status: 'active' });
    h.autodesk.addUser({ email: 'Bob.Builder@Example.com', firstName: 'Bob', status: 'active' });
    const onboarding = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['autodesk', 'axure'], subjects: [PEOPLE.carol, PEOPLE.bob], autodesk_role: 'user' });
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, onboarding), 'Approve');
    await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, onboarding), 'Approve');
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, onboarding), 'Approve');
    await markTasksDone(onboarding, 2);
    await completed(onboarding);

    setDeleted(PEOPLE.carol, true);
    const ignored = nextLine((line) => line.msg?.includes('leaverDetection is off') === true && line.userId === PEOPLE.carol);
    assert.equal((await h.driver.event(userChange(PEOPLE.carol, true))).status, 200);
    await ignored;
    assert.deepEqual(offboardings(), [], 'no offboarding filed while leaverDetection is off');
    // The event's body is not believed, but Carol's directory row is marked to be read from Slack before it is next relied on.
    assert.deepEqual(h.query('SELECT deleted, fetched_at FROM slack_people WHERE id = ?', PEOPLE.carol), [{ deleted: 0, fetched_at: 0 }]);
  });

  test('on: the deactivation files one offboarding of the apps granted, told to IT in one line, and it runs to Autodesk once approved', async () => {
    writeFileSync(h.env.ACCESS_CONFIG!, JSON.stringify(config(true)));
    await h.restartBot();

    const done = nextLine((line) => line.msg === 'leaver check done' && line.userId === PEOPLE.carol);
    const ack = await h.driver.event(userChange(PEOPLE.carol, true));
    assert.equal(ack.status, 200);
    await done;
    const [filed, ...more] = offboardings();
    assert.ok(filed, 'an offboarding was filed');
    assert.deepEqual(more, []);
    assert.deepEqual(appsOf(filed.id), ['autodesk', 'axure'], 'the apps Carol was granted, not Miro');
    assert.equal(h.query<{ subject_slack_id: string }>('SELECT DISTINCT subject_slack_id FROM items WHERE request_id = ?', filed.id)[0]!.subject_slack_id, PEOPLE.carol);
    assert.equal(filed.requester_id, PEOPLE.admin, 'an IT admin is the requester of record');
    assert.match(filed.justification, /leaver detection/);
    const audit = h.query<{ actor: string; action: string }>("SELECT actor, action FROM audit WHERE request_id = ? AND action IN ('request.submitted', 'leaver.offboarding_filed')", filed.id);
    assert.deepEqual(audit.map((row) => `${row.actor} ${row.action}`).sort(), ['accessbot leaver.offboarding_filed', 'accessbot request.submitted'], 'audited as filed by accessbot');

    const line = await h.slack.waitFor(() => h.slack.messagesTo('C0ITOPS').find((m) => m.text.includes(filed.id) && m.text.includes('deactivated in Slack')), {
      description: 'the IT channel is told', timeoutMs: 10_000,
    });
    assert.ok(line.text.includes(`<@${PEOPLE.carol}>`) && line.text.includes('carol@example.com') && line.text.includes('Autodesk, Axure RP'), line.text);

    // Slack retries the same event, and the profile changes again: nothing new is filed.
    const settled = nextLine((l) => l.msg?.startsWith('leaver check') === true && l.userId === PEOPLE.carol);
    await h.driver.event(userChange(PEOPLE.carol, true), { retryNum: 1 });
    await h.driver.event(userChange(PEOPLE.carol, true));
    await settled;
    await h.slack.waitFor(() => h.query<{ n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'slack.leaver_check' AND state IN ('queued', 'running')")[0]!.n === 0, {
      description: 'every leaver check ran',
    });
    assert.equal(offboardings().length, 1, 'a repeated deactivation files nothing twice');

    // Approved like any request: the listed approvers decide, the connector deactivates the account.
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, filed.id), 'Approve');
    await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, filed.id), 'Approve');
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, filed.id), 'Approve');
    await markTasksDone(filed.id, 1);
    await completed(filed.id);
    assert.equal(h.autodesk.userByEmail('carol@example.com')!.status, 'inactive', 'deactivated in Autodesk');
    assert.equal(h.autodesk.userByEmail('bob.builder@example.com')!.status, 'active', 'nobody else touched');
  });

  test('a forged event for someone Slack says is active, a reactivation, and a leaver with no access file nothing', async () => {
    const checksOf = (userId: string) => h.query<{ n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'slack.leaver_check' AND json_extract(payload, '$.userId') = ?", userId)[0]!.n;
    // Bob has Autodesk and is active in Slack: the event's body is not believed.
    const forged = nextLine((line) => line.msg?.includes('Slack says the user is active') === true && line.userId === PEOPLE.bob);
    await h.driver.event(userChange(PEOPLE.bob, true));
    await forged;
    const bobChecks = checksOf(PEOPLE.bob);
    assert.equal(h.query<{ deleted: number }>('SELECT deleted FROM slack_people WHERE id = ?', PEOPLE.bob)[0]?.deleted, 0, "the directory holds Slack's answer, not the event's");

    // A reactivation (deleted: false) queues no check at all.
    await h.driver.event(userChange(PEOPLE.bob, false));
    // Sam never had access through accessbot; his check, queued after Bob's event, shows the bot got that far.
    setDeleted(PEOPLE.stranger, true);
    const nothing = nextLine((line) => line.msg?.includes('nothing to offboard') === true && line.userId === PEOPLE.stranger);
    await h.driver.event(userChange(PEOPLE.stranger, true));
    await nothing;
    assert.equal(checksOf(PEOPLE.bob), bobChecks, 'the reactivation queued no check');
    assert.equal(offboardings().length, 1, 'still only the one offboarding filed for Carol');
  });

  test('a new hire onboarded by e-mail, who joined Slack after the directory was last read, is noticed when deactivated', async () => {
    // Onboarded before they had a Slack account: the item holds only the address.
    const email = 'nora.new@example.com';
    const onboarding = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], new_hire_email: email, new_hire_first_name: 'Nora', new_hire_last_name: 'New' });
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, onboarding), 'Approve');
    await markTasksDone(onboarding, 1);
    await completed(onboarding);
    // Nora joins Slack and is deactivated before the bot's next read of the directory: it holds no row for her.
    const nora = 'U0NORA';
    h.slack.addUser({ id: nora, name: 'nora', realName: 'Nora New', email, deleted: true });
    assert.deepEqual(h.query('SELECT id FROM slack_people WHERE id = ?', nora), []);
    const before = offboardings().length;

    const done = nextLine((line) => line.msg?.startsWith('leaver check') === true && line.userId === nora);
    await h.driver.event({ type: 'user_change', user: { id: nora, name: 'nora', real_name: 'Nora New', deleted: true, profile: { email } } });
    assert.equal((await done).msg, 'leaver check done', 'Slack was asked who she is, and her access found by e-mail');
    const filed = offboardings().slice(before);
    assert.equal(filed.length, 1, 'one offboarding filed');
    assert.deepEqual(appsOf(filed[0]!.id), ['axure']);
  });
});
