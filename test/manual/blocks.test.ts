/** Task Block Kit and steps: what the IT admin reads, checked against the sandbox's copy of Slack's limits. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stepsFor } from '../../src/slack/tasks/card.js';
import { defaultSteps } from '../../src/tasks/steps.js';
import { mention, mrkdwn } from '../../src/util/mrkdwn.js';
import { validateBlocks, validateView } from '../../src/sandboxes/slack/server.js';
import {
  cantDoModal, doneNoteModal, escalationMessage, reassignModal, snoozeModal, taskHomeSection, taskMessage, type TaskCard,
} from '../../src/slack/tasks/blocks.js';

const card = (over: Partial<TaskCard> = {}): TaskCard => ({
  taskId: 7, requestId: 'AR-ABC234', appName: 'Axure RP', kind: 'onboard', subject: mention('U0NEW'), email: 'new@example.com', role: 'Member',
  requesterId: 'U0REQ', approvedBy: ['U0OWNER3'], dueDate: '2026-03-02', justification: 'prototyping', steps: [mrkdwn`Do one thing.`, mrkdwn`Do another.`],
  assignee: 'U0IT1', state: 'open', createdAtText: '2 Mar 2026, 10:00 UTC', ageText: '3h', ...over,
});

const allElements = (blocks: any[]) => blocks.flatMap((block) => (block.type === 'actions' ? block.elements : []));

describe('task message', () => {
  test('an open task shows who, what, role, requester, approver, due date, steps and four buttons carrying only its id', () => {
    const { text, blocks } = taskMessage(card());
    assert.deepEqual(validateBlocks(blocks, 'message'), []);
    const body = JSON.stringify(blocks);
    for (const part of ['<@U0NEW>', 'new@example.com', 'Axure RP', 'Member', '<@U0REQ>', '<@U0OWNER3>', '2026-03-02', '1. Do one thing.', '2. Do another.']) {
      assert.ok(body.includes(part), `missing ${part}`);
    }
    assert.match(text, /Task #7: Onboard <@U0NEW> to Axure RP/);
    const buttons = allElements(blocks).filter((element) => element.type === 'button');
    assert.deepEqual(buttons.map((b) => b.text.text), ['Mark done', 'Reassign', 'Snooze', "Can't do"]);
    assert.ok(buttons.every((b) => b.value === '7'));
    assert.ok(buttons[0].text.text.toLowerCase().includes('done'));
  });

  test('a done task has no buttons and says who finished it, when, and the note', () => {
    const { blocks, text } = taskMessage(card({ state: 'done', closedBy: 'U0IT2', closedAtText: '2 Mar 2026, 11:00 UTC', note: 'added with SSO' }));
    assert.deepEqual(validateBlocks(blocks, 'message'), []);
    assert.equal(allElements(blocks).length, 0);
    const body = JSON.stringify(blocks);
    assert.ok(body.includes('Done by <@U0IT2> on 2 Mar 2026, 11:00 UTC'));
    assert.ok(body.includes('added with SSO'));
    assert.match(text, /^Done: /);
  });

  test('the Home part lists many tasks with unique block and action ids', () => {
    const mine = [card({ taskId: 1 }), card({ taskId: 2 }), card({ taskId: 3, snoozedUntilText: '3 Mar 2026, 09:00 UTC' })];
    const team = Array.from({ length: 40 }, (_, i) => ({ taskId: i + 1, title: mrkdwn`Onboard someone ${i}`, assignee: 'U0IT1', ageText: `${40 - i}h` }));
    const blocks = taskHomeSection(mine, team);
    assert.deepEqual(validateView({ type: 'home', blocks }, 'home'), []);
    assert.ok(blocks.length < 60, `home part too big: ${blocks.length} blocks`);
    assert.ok(JSON.stringify(blocks).includes('Open tasks of my apps'));
  });

  test('the modals are valid Slack views carrying the task id in private_metadata', () => {
    for (const view of [doneNoteModal(7, mrkdwn`t`), reassignModal(7, mrkdwn`t`, 'U0IT1', [{ userId: 'U0IT2', name: 'Ivy Tech' }]), snoozeModal(7, mrkdwn`t`, '2026-03-03', '09:00', 'UTC'), cantDoModal(7, mrkdwn`t`)]) {
      assert.deepEqual(validateView(view, 'modal'), [], view.callback_id);
      assert.deepEqual(JSON.parse(view.private_metadata!), { taskId: 7 });
    }
  });

  test('an escalation names the task, its age and the assignee', () => {
    const { text, blocks } = escalationMessage({ taskId: 7, title: mrkdwn`Onboard ${mention('U0NEW')} to Axure RP`, assignee: 'U0IT1', ageText: '12h', reminders: 3, state: 'open' });
    assert.deepEqual(validateBlocks(blocks, 'message'), []);
    assert.match(text, /task #7: Onboard <@U0NEW> to Axure RP.*open for 12h.*<@U0IT1>.*3 reminders/);
  });
});

describe('steps', () => {
  const values = { app: 'Axure RP', email: 'pat@example.com', name: 'Pat', role: 'Member' };

  test('Axure onboarding follows the guide: Members page, Add members, the e-mail, Use SSO, the role, a public account', () => {
    const steps = stepsFor({ id: 'axure', name: 'Axure RP' }, 'onboard', values).join('\n');
    for (const part of ['Members', 'Add members', 'pat@example.com', 'Use SSO', 'Member', 'public Axure Cloud account']) assert.ok(steps.includes(part), part);
  });

  test('Axure offboarding: deactivate, free the License Portal seat, AD/LDAP, the IdP does not deprovision', () => {
    const steps = stepsFor({ id: 'axure', name: 'Axure RP' }, 'offboard', values).join('\n');
    for (const part of ['deactivate', 'License Portal', 'AD/LDAP', 'does NOT deprovision']) assert.ok(steps.includes(part), part);
  });

  test('Axure is recognized by name too; any other manual app gets generic steps that never say Axure', () => {
    assert.equal(defaultSteps({ id: 'proto', name: 'Axure Cloud' }, 'onboard'), defaultSteps({ id: 'axure', name: 'x' }, 'onboard'));
    for (const kind of ['onboard', 'offboard'] as const) {
      const steps = stepsFor({ id: 'figma', name: 'Figma' }, kind, { ...values, app: 'Figma' }).join('\n');
      assert.doesNotMatch(steps, /axure/i);
      assert.match(steps, /Figma/);
    }
  });

  test('config steps replace the defaults per kind, with placeholders filled', () => {
    const app = { id: 'axure', name: 'Axure RP', steps: { offboard: ['Remove {email} ({name}) from {app}'] } };
    assert.deepEqual(stepsFor(app, 'offboard', values), ['Remove pat@example.com (Pat) from Axure RP']);
    assert.match(stepsFor(app, 'onboard', values).join('\n'), /Add members/);
  });
});

describe('text people typed', () => {
  test('a justification, a note, an e-mail and a new hire\'s name cannot ping, mention or disguise a link in the task DM', () => {
    const evil = '<!channel> <@U0CEO> <https://evil.example|looks-safe> & co';
    const steps = stepsFor({ id: 'axure', name: 'Axure RP' }, 'onboard', { app: 'Axure RP', email: 'x<!here>@example.com', name: evil, role: 'Member' });
    for (const state of ['open', 'done', 'cant_do'] as const) {
      const { blocks } = taskMessage(card({ state, justification: evil, note: evil, email: 'x<!here>@example.com', steps, closedBy: 'U0IT2', closedAtText: 'now' }));
      const body = JSON.stringify(blocks);
      for (const live of ['<!channel>', '<@U0CEO>', '<https://evil', '<!here>']) assert.ok(!body.includes(live), `${state}: ${live} is live`);
      assert.ok(body.includes('&lt;!channel&gt;') && body.includes('&amp; co'), 'shown as the text it was');
    }
  });
});
