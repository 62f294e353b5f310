/**
 * Text is text: what people type (a justification, a new hire's name, a deny reason, a task note or can't-do
 * reason) and what Autodesk answers reach every Slack message as escaped text, never as a channel ping, a
 * mention or a disguised link. Driven through the running bot; every message the Slack sandbox received (every
 * version of it), every ephemeral, modal and Home tab is checked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, Harness, IT_CHANNEL, PEOPLE } from '../support/harness.js';
import { cardFor, dmsTo, requestAccess } from '../support/flows.js';
import type { SandboxMessage } from '../../src/sandboxes/slack/server.js';

/** Pings everyone, mentions a person and disguises a link, if rendered as markup. */
const EVIL = '<!channel> <@U0ADMIN> <https://evil.example|looks-safe> & <!here>';
const EVIL_SHOWN = '&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|looks-safe&gt; &amp; &lt;!here&gt;';
const LIVE = ['<!channel>', '<!here>', '<@U0ADMIN>', '<https://evil.example'];

let h: Harness;
before(async () => {
  // U0ADMIN has no part in this config, so any mention of them on Slack can only come from typed text.
  h = await Harness.start({ config: { ...baseConfig(), itAdmins: [PEOPLE.it2] } });
});
after(async () => {
  await h.close();
});

/** Everything the bot sent to Slack so far, each with where it went. */
function everythingSent(): { where: string; text: string }[] {
  const sent: { where: string; text: string }[] = [];
  const version = (where: string, text: string, blocks: unknown) => sent.push({ where, text: `${text}\n${JSON.stringify(blocks ?? [])}` });
  for (const message of h.slack.messages) {
    version(`message to ${message.channel}`, message.text, message.blocks);
    for (const old of message.history) version(`earlier version of a message to ${message.channel}`, old.text, old.blocks);
  }
  for (const ephemeral of h.slack.ephemerals) version(`ephemeral to ${ephemeral.user}`, ephemeral.text, ephemeral.blocks);
  for (const view of [...h.slack.views, ...h.slack.homeViews.values()]) {
    for (const v of [view.view, ...view.history]) version(`${view.kind} of ${view.userId}`, '', v);
  }
  return sent;
}

function assertNothingLive(): void {
  const sent = everythingSent();
  assert.ok(sent.length > 0);
  for (const { where, text } of sent) {
    for (const live of LIVE) assert.ok(!text.includes(live), `${where} carries live markup ${live}:\n${text.slice(0, 2000)}`);
  }
}

const body = (message: SandboxMessage) => `${message.text}\n${JSON.stringify(message.blocks)}`;

describe('typed text on cards, DMs and tasks', () => {
  test('a justification, a new hire name, a deny reason and a can\'t-do reason are shown escaped everywhere, never as pings or links', async () => {
    const id = await requestAccess(h, PEOPLE.requester, {
      kind: 'onboard', new_hire_email: 'nina.new@example.com', new_hire_first_name: `Nina ${EVIL}`, new_hire_last_name: `New ${EVIL}`,
      apps: ['autodesk', 'axure'], justification: `Design work ${EVIL}`,
    });

    // The manager denies Autodesk with a reason that would ping the channel.
    const managerCard = await cardFor(h, PEOPLE.manager, id);
    assert.ok(body(managerCard).includes(`Design work ${EVIL_SHOWN}`), 'the justification is on the card, escaped');
    assert.ok(body(managerCard).includes(`Nina ${EVIL_SHOWN} New ${EVIL_SHOWN} (nina.new@example.com)`), "the new hire's name is on the card, escaped");
    await h.driver.clickButton(PEOPLE.manager, managerCard, 'Deny');
    const denyModal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.manager, 'deny_reason'), { description: 'the deny-reason modal' });
    assert.equal((await h.driver.submitView(PEOPLE.manager, denyModal, { reason: `No: ${EVIL}` })).outcome, 'closed');
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((text) => text.includes(id) && text.includes(`denied Autodesk access: "No: ${EVIL_SHOWN}"`)), {
      description: 'the requester told the reason, escaped',
    });
    const mirror = await cardFor(h, 'C0APPROVALS', id);
    await h.slack.waitFor(() => body(mirror).includes(`No: ${EVIL_SHOWN}`), { description: 'the reason on the mirrored card' });
    const status = await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.requester).find((m) => m.text.startsWith('Your onboarding request') && m.text.includes(id)), {
      description: "the requester's status message",
    });
    // The item's own line: its detail is stored as words and escaped only when Slack shows it, once.
    await h.slack.waitFor(() => body(status).includes(`Autodesk: denied — denied: No: ${EVIL_SHOWN}`), { description: "the denied item's reason on the requester's status, escaped" });

    // Axure is approved; the task's assignee cannot do it and says why in a way that would ping.
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, id), 'Approve');
    const task = await h.slack.waitFor(
      () => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => h.slack.messagesTo(it)).find((m) => m.text.startsWith('Task #') && body(m).includes('nina.new@example.com')),
      { description: 'the task DM' },
    );
    const assignee = h.slack.dmUserOf(task.channel)!;
    assert.ok(body(task).includes(`Design work ${EVIL_SHOWN}`), 'the justification in the task, escaped');
    assert.ok(body(task).includes(`Nina ${EVIL_SHOWN} New ${EVIL_SHOWN}`), 'the name in the task and its steps, escaped');
    await h.driver.clickButton(assignee, task, "Can't do");
    const cantDo = await h.slack.waitFor(() => h.slack.openViewOf(assignee, 'task_cant_do'), { description: "the can't-do modal" });
    assert.equal((await h.driver.submitView(assignee, cantDo, { reason: `Blocked: ${EVIL}` })).outcome, 'closed');

    const alert = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('could not finish')), {
      description: 'the failure alert in the IT channel',
    });
    await h.slack.waitFor(() => body(alert).includes(`Blocked: ${EVIL_SHOWN}`), { description: 'the reason in the alert, escaped' });
    await h.slack.waitFor(() => body(task).includes(`“Blocked: ${EVIL_SHOWN}”`), { description: 'the task DM closed with the reason, escaped' });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((text) => text.includes(id) && text.includes(`could not be done: <@${assignee}> could not do it: Blocked: ${EVIL_SHOWN}`)), {
      description: 'the requester told, the assignee mentioned and the reason escaped',
    });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((text) => text.includes(`Request ${id} finished with problems`)), { description: 'the request finished' });
    assertNothingLive();
  });

  test('a note on a done task reaches the task, the requester and the cards as text', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['axure'], justification: EVIL });
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, id), 'Approve');
    const task = await h.slack.waitFor(
      () => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => h.slack.messagesTo(it)).find((m) => m.text.startsWith('Task #') && m.text.includes(`<@${PEOPLE.carol}>`)),
      { description: 'the task DM' },
    );
    const assignee = h.slack.dmUserOf(task.channel)!;
    await h.driver.chooseOverflow(assignee, task, 'Mark done with a note');
    const modal = await h.slack.waitFor(() => h.slack.openViewOf(assignee, 'task_done_note'), { description: 'the done-note modal' });
    assert.equal((await h.driver.submitView(assignee, modal, { note: `Added ${EVIL}` })).outcome, 'closed');
    await h.slack.waitFor(() => body(task).includes(`Done by <@${assignee}>`) && body(task).includes(`“Added ${EVIL_SHOWN}”`), { description: 'the DM marked done with the note' });
    const status = await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.requester).find((m) => m.text.startsWith('Your onboarding request') && m.text.includes(id)), {
      description: "the requester's status message",
    });
    await h.slack.waitFor(() => body(status).includes(`done by <@${assignee}>: Added ${EVIL_SHOWN}`), { description: 'the note on the status, the assignee still mentioned' });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((text) => text.includes(`Request ${id} is done`)), { description: 'the request done' });
    assertNothingLive();
  });

  test('an error text from Autodesk is shown as text on the IT alert and to the requester', async () => {
    h.autodesk.injectFailures(50, 400, `Bad request ${EVIL}`);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['autodesk'] });
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
    await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
    const alert = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('could not finish')), {
      description: 'the failure alert', timeoutMs: 20_000,
    });
    h.autodesk.injectFailures(0);
    assert.ok(body(alert).includes(EVIL_SHOWN), `the API's words on the alert, escaped:\n${body(alert)}`);
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((text) => text.includes(id) && text.includes('could not be done') && text.includes(EVIL_SHOWN)), {
      description: 'the requester told, escaped',
    });
    assertNothingLive();
  });
});

describe('long text', () => {
  test('a 3000-character justification full of characters to escape reaches the approver whole, over several blocks', async () => {
    const justification = Array.from({ length: 3000 }, (_, i) => '<&>ab c\n'[i % 8]).join('').trim();
    assert.ok(justification.length >= 2999);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', subjects: [PEOPLE.bob], apps: ['axure'], justification });
    const card = await cardFor(h, PEOPLE.axureOwner, id);
    const texts = card.blocks.filter((block) => block.type === 'section' && typeof block.text?.text === 'string').map((block) => block.text.text as string);
    const start = texts.findIndex((text) => text.startsWith('*Why*'));
    assert.ok(start >= 0, 'a Why section');
    const why = texts.slice(start).filter((text, i) => i === 0 || text.startsWith('>'));
    assert.ok(why.length > 1, 'split over several sections');
    for (const text of why) assert.ok(text.length <= 3000, 'each section within Slack\'s limit');
    const shown = why
      .map((text, i) => (i === 0 ? text.slice('*Why*\n'.length) : text))
      .join('\n')
      .split('\n')
      .map((line) => line.replace(/^>/, ''))
      .join('\n');
    const unescaped = shown.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    assert.equal(unescaped.replace(/\s+/g, ' '), justification.replace(/\s+/g, ' '), 'every character arrives');
    assertNothingLiveIn(card);
  });
});

function assertNothingLiveIn(message: SandboxMessage): void {
  const text = body(message);
  for (const live of ['<&', '<a', '<b', '<c', '<>']) assert.ok(!text.includes(live), `live markup ${live} on the card`);
}
