/**
 * A manual task through the running bot: Slack-signed clicks and modal submissions from the driver, the task's
 * messages read back from the Slack sandbox. Checks the Bolt wiring of the task listeners.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Harness, PEOPLE } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, itemStates, requestAccess } from '../support/flows.js';

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.close();
});

test('an approved Axure item becomes a task: strangers are refused, Reassign and Mark done work from Slack', async () => {
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['axure'] });
  await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, id), 'Approve');
  const dm = await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.it1).find((m) => m.text.startsWith('Task #') && m.text.includes(`<@${PEOPLE.carol}>`)), {
    description: 'the task DM to the first assignee',
  });
  assert.match(JSON.stringify(dm.blocks), /Add members/);
  await h.slack.waitFor(() => JSON.stringify(h.slack.homeViews.get(PEOPLE.it1)?.view.blocks ?? []).includes('My tasks'), { description: "the task on the assignee's Home" });

  // The same message seen from a channel the stranger is in: refused, told only them, nothing changes.
  const stranger = await h.driver.clickButton(PEOPLE.stranger, { ...dm, channel: 'C0ELSEWHERE' } as typeof dm, 'Mark done');
  assert.equal(stranger.status, 200);
  const refusal = await h.slack.waitFor(() => h.slack.ephemerals.find((e) => e.user === PEOPLE.stranger && e.text.includes('Only the assignee')), { description: 'the refusal' });
  assert.equal(refusal.replaceOriginal, false);
  assert.ok(hasButtons(dm));

  await h.driver.clickButton(PEOPLE.it1, dm, 'Reassign');
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.it1, 'task_reassign'), { description: 'the reassign modal' });
  const submitted = await h.driver.submitView(PEOPLE.it1, modal, { assignee: PEOPLE.it2 });
  assert.equal(submitted.outcome, 'closed');
  const moved = await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.it2).find((m) => m.text.startsWith('Task #') && m.text.includes(`<@${PEOPLE.carol}>`)), {
    description: 'the task DM to the new assignee',
  });
  await h.slack.waitFor(() => !hasButtons(dm), { description: 'the old DM handed over' });

  await h.driver.clickButton(PEOPLE.it2, moved, 'Mark done');
  await h.slack.waitFor(() => !hasButtons(moved) && JSON.stringify(moved.blocks).includes(`Done by <@${PEOPLE.it2}>`), { description: 'the DM marked done' });
  await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((text) => text.includes(`Request ${id} is done`)), { description: 'the requester told' });
  assert.deepEqual(itemStates(h, id), ['completed']);
  assert.equal(h.query("SELECT COUNT(*) AS n FROM audit WHERE action = 'task.done'")[0]!.n, 1);
});
