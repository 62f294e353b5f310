/**
 * Do it by hand: a failed Autodesk item (a deactivated user the API cannot reactivate) is finished as a task from
 * IT's alert, through the running bot and both sandboxes: only IT admins may choose it, a double click makes one
 * task, the task says what the connector tried, and marking it done completes the item, audited with who did it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Harness, PEOPLE, IT_CHANNEL } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, itemStates, requestAccess } from '../support/flows.js';
import type { SandboxMessage } from '../../src/sandboxes/slack/server.js';
import { readWords } from '../../src/requests/words.js';

let h: Harness;
before(async () => {
  h = await Harness.start({ autodesk: { latencyMs: 0 } });
});
after(async () => {
  await h.close();
});

/** An onboarding of someone Autodesk holds deactivated, approved, failed, and IT's alert about it. */
async function failedOnboarding(subject: string, email: string) {
  h.autodesk.addUser({ email, firstName: 'Former', status: 'inactive' });
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['autodesk'], subjects: [subject], autodesk_teams: ['team-789'] });
  await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
  await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
  const alert = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('could not finish') && hasButtons(m)), { description: 'IT alert with buttons' });
  return { id, alert };
}

const tasksOf = (requestId: string) => h.query<{ id: number; assignee: string; state: string }>('SELECT id, assignee, state FROM tasks WHERE request_id = ?', requestId);
const taskDm = (requestId: string) => h.slack.messagesTo(PEOPLE.admin).find((m) => m.text.includes('Task #') && JSON.stringify(m.blocks).includes(requestId));

describe('Do it by hand on a failed item', () => {
  test('refused for a non-admin; one task for a double click; its steps say what was tried; done completes the item, audited', async () => {
    const { id, alert } = await failedOnboarding(PEOPLE.carol, 'carol@example.com');

    // An app owner may Retry, but finishing by hand is the IT admins' call: told so, nothing changes.
    const before = h.slack.ephemerals.length;
    await h.driver.clickButton(PEOPLE.owner1, alert, 'Do it by hand');
    const refusal = await h.slack.waitFor(() => h.slack.ephemerals.slice(before).find((e) => e.user === PEOPLE.owner1), { description: 'owner told' });
    assert.match(refusal.text, /Only the IT admins can finish Autodesk items by hand \(<@U0ADMIN>\)\. Nothing was changed\./);
    // The refusal is answered after the check ran: by then a change would be stored.
    assert.deepEqual(itemStates(h, id), ['failed']);
    assert.equal(tasksOf(id).length, 0);
    assert.ok(hasButtons(alert), 'the alert keeps its buttons');

    // A double click (or Slack retrying the action): one task.
    await Promise.all([h.driver.clickButton(PEOPLE.admin, alert, 'Do it by hand'), h.driver.clickButton(PEOPLE.admin, alert, 'Do it by hand')]);
    await h.slack.waitFor(() => h.slack.ephemerals.filter((e) => e.user === PEOPLE.admin && e.text.includes(id)).length === 2, { description: 'both clicks answered' });
    const tasks = tasksOf(id);
    assert.equal(tasks.length, 1, 'one task');
    assert.equal(tasks[0]!.assignee, PEOPLE.admin, 'Autodesk has no assignees of its own: an IT admin takes it');
    assert.deepEqual(itemStates(h, id), ['in_progress']);
    const answers = h.slack.ephemerals.filter((e) => e.user === PEOPLE.admin && e.text.includes(id)).map((e) => e.text);
    assert.ok(answers.some((t) => t.includes(`became task: #${tasks[0]!.id} for <@U0ADMIN>`)), answers.join('\n'));
    assert.ok(answers.some((t) => t.includes('<@U0ADMIN> already chose Do it by hand')), answers.join('\n'));

    // The alert says who chose what, without buttons: Retry can no longer run the connector over the task.
    await h.slack.waitFor(() => !hasButtons(alert) && JSON.stringify(alert.blocks).includes('<@U0ADMIN> chose *Do it by hand*'), { description: 'alert updated' });

    const dm = await h.slack.waitFor(() => taskDm(id), { description: 'task DM to the IT admin' });
    const shown = JSON.stringify(dm.blocks);
    assert.match(shown, /Tried:\* the Autodesk connector could not finish it: [^"]*cannot be reactivated through the API/);
    assert.match(shown, /Create or invite the account for carol@example\.com/);
    assert.match(shown, /Add them to the Autodesk teams: team-789/);
    assert.match(shown, /Role:\* user/, 'the task names the role the request asked for');
    const status = await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.requester).find((m) => m.text.includes(`request ${id}`) && JSON.stringify(m.blocks).includes('being finished by hand')), { description: 'requester sees it is being finished by hand' });

    await h.driver.clickButton(PEOPLE.admin, dm, 'Mark done');
    await h.slack.waitFor(() => itemStates(h, id)[0] === 'completed', { description: 'item completed' });
    const detail = readWords(h.query<{ detail: string }>('SELECT detail FROM items WHERE request_id = ?', id)[0]!.detail);
    assert.deepEqual(detail, ['finished by hand by ', { person: PEOPLE.admin }]);
    const audit = h.query<{ actor: string; detail: string }>("SELECT actor, detail FROM audit WHERE request_id = ? AND action = 'item.finished_by_hand'", id);
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor, PEOPLE.admin);
    assert.equal(JSON.parse(audit[0]!.detail).askedBy, PEOPLE.admin);
    await h.slack.waitFor(() => JSON.stringify(status.blocks).includes('finished by hand by <@U0ADMIN>'), { description: 'status message says who finished it' });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(`Request ${id} is done`)), { description: 'requester told it is done' });
    assert.equal(h.autodesk.users().filter((u) => u.email.toLowerCase() === 'carol@example.com').length, 1, 'the connector did not act again');
  });

  test('cancelling the request withdraws the by-hand task like any task', async () => {
    const { id, alert } = await failedOnboarding(PEOPLE.dave, 'dave@example.com');
    await h.driver.clickButton(PEOPLE.admin, alert, 'Do it by hand');
    const dm = await h.slack.waitFor(() => taskDm(id), { description: 'task DM' });
    const response = await h.driver.slashCommand(PEOPLE.requester, `cancel ${id}`);
    assert.equal(response.status, 200);
    await h.slack.waitFor(() => itemStates(h, id)[0] === 'cancelled', { description: 'item cancelled' });
    assert.equal(tasksOf(id)[0]!.state, 'cancelled');
    await h.slack.waitFor(() => JSON.stringify(dm.blocks).includes('Withdrawn') && !hasButtons(dm), { description: 'task DM withdrawn' });
  });

  test("the requester's status offers Cancel while the item is finished by hand; clicking it withdraws the task and tells the assignee", async () => {
    const { id, alert } = await failedOnboarding(PEOPLE.bob, 'bob.builder@example.com');
    const status = () => h.slack.messagesTo(PEOPLE.requester).find((m) => m.text === `Your onboarding request ${id}`);
    const hasCancel = (m: SandboxMessage) => JSON.stringify(m.blocks).includes('"Cancel request"');
    // Failed, nothing can be stopped: no Cancel (the status message is brought up to date after the alert's change).
    await h.slack.waitFor(() => status() && !hasCancel(status()!) && JSON.stringify(status()!.blocks).includes('failed'), { description: 'failed status without Cancel' });
    await h.driver.clickButton(PEOPLE.admin, alert, 'Do it by hand');
    const dm = await h.slack.waitFor(() => taskDm(id), { description: 'task DM' });
    // Once it is a person's task again, cancelling would stop it, so the button is back.
    const withCancel = await h.slack.waitFor(() => (JSON.stringify(status()?.blocks).includes('being finished by hand') && hasCancel(status()!) ? status() : undefined), { description: 'Cancel on the by-hand item' });
    await h.driver.clickButton(PEOPLE.requester, withCancel, 'Cancel request');
    await h.slack.waitFor(() => itemStates(h, id)[0] === 'cancelled', { description: 'item cancelled' });
    assert.equal(tasksOf(id)[0]!.state, 'cancelled');
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.admin).some((t) => t.includes('is withdrawn') && t.includes(`cancelled request ${id}`)), { description: 'assignee told' });
    await h.slack.waitFor(() => JSON.stringify(dm.blocks).includes('Withdrawn') && !hasButtons(dm), { description: 'task DM withdrawn' });
    await h.slack.waitFor(() => !hasCancel(withCancel), { description: 'Cancel gone once nothing is left to stop' });
  });
});
