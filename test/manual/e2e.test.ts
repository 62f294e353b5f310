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
  const stranger = await h.driver.clickButton(PEOPLE.stranger, { ...dm, channel: 'C0ELSEWHERE' }, 'Mark done');
  assert.equal(stranger.status, 200);
  const refusal = await h.slack.waitFor(() => h.slack.ephemerals.find((e) => e.user === PEOPLE.stranger && e.text.includes('Only the assignee')), { description: 'the refusal' });
  assert.equal(refusal.replaceOriginal, false);
  assert.ok(hasButtons(dm));

  const usersInfo = () => h.slack.calls.filter((call) => call.method === 'users.info').length;
  const asked = usersInfo();
  await h.driver.clickButton(PEOPLE.it1, dm, 'Reassign');
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.it1, 'task_reassign'), { description: 'the reassign modal' });
  const choices = (modal.view.blocks as any[]).find((block) => block.block_id === 'assignee').element.options.map((option: any) => option.text.text);
  assert.deepEqual(choices, ['Ivy Tech', 'Adam Admin'], 'named from the directory the bot listed at start-up');
  assert.equal(usersInfo(), asked, 'without asking Slack for each choice');
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

test('Reassign through Slack offers only the app\'s assignees and IT admins; a tampered submission naming someone else is refused on the field', async () => {
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['axure'] });
  await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, id), 'Approve');
  const dm = await h.slack.waitFor(() => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => h.slack.messagesTo(it)).find((m) => m.text.startsWith('Task #') && m.text.includes(`<@${PEOPLE.dave}>`)), {
    description: 'the task DM',
  });
  const assignee = h.slack.dmUserOf(dm.channel)!;
  const other = assignee === PEOPLE.it1 ? PEOPLE.it2 : PEOPLE.it1;
  await h.driver.clickButton(assignee, dm, 'Reassign');
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(assignee, 'task_reassign'), { description: 'the reassign modal' });
  const select = (modal.view.blocks as any[]).find((block) => block.block_id === 'assignee').element;
  assert.deepEqual(select.options.map((option: any) => option.value), [other, PEOPLE.admin]);
  assert.equal(select.options[1].text.text, 'Adam Admin', 'people are shown by name');

  // A client that adds an option of its own: the bot checks the person, not the form.
  select.options.push({ text: { type: 'plain_text', text: 'Sam' }, value: PEOPLE.stranger });
  const forged = await h.driver.submitView(assignee, modal, { assignee: PEOPLE.stranger });
  assert.equal(forged.outcome, 'errors');
  assert.match(JSON.stringify(forged.json), /can't take this task/);
  assert.equal(h.query<{ assignee: string }>('SELECT assignee FROM tasks WHERE request_id = ?', id)[0]!.assignee, assignee);

  const submitted = await h.driver.submitView(assignee, modal, { assignee: PEOPLE.admin });
  assert.equal(submitted.outcome, 'closed');
  await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.admin).find((m) => m.text.startsWith('Task #') && m.text.includes(`<@${PEOPLE.dave}>`)), { description: 'the task DM to the IT admin' });
});
