/**
 * People named by e-mail in the request form (`subject_emails`), through the running bot: a leaver whose Slack
 * account is deactivated (which Slack's people picker does not offer, and users.lookupByEmail does not find) is
 * matched through the listed directory and shown by name; an e-mail nobody in Slack has is still a subject; the
 * same person by picker and by e-mail counts once; a bad line is refused on the field with its line number.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FieldValue } from '../../src/sandboxes/slack/driver.js';
import type { SandboxUser } from '../../src/sandboxes/slack/server.js';
import { Harness, PEOPLE } from '../support/harness.js';
import { cardFor, requestAccess } from '../support/flows.js';

/** Enough people in the workspace to pick 498 of them. */
const CROWD: SandboxUser[] = Array.from({ length: 498 }, (_, i) => {
  const n = String(i).padStart(3, '0');
  return { id: `U9PICK${n}`, name: `pick${n}`, realName: `Picked Person${n}`, email: `pick${n}@example.com` };
});

let h: Harness;
before(async () => {
  h = await Harness.start({ users: CROWD });
  await h.bot.waitForLine((line) => line.msg === 'Slack users listed', 20_000);
});
after(async () => {
  await h.close();
});

const requestCount = () => h.query<{ n: number }>('SELECT COUNT(*) AS n FROM requests')[0]!.n;

async function submitErrors(values: Record<string, FieldValue>): Promise<Record<string, string>> {
  await h.driver.slashCommand(PEOPLE.requester, '');
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.requester, 'access_request'), { description: 'request modal opened' });
  const response = await h.driver.submitView(PEOPLE.requester, modal, { justification: 'Left the company', ...values });
  await h.driver.closeView(PEOPLE.requester, modal).catch(() => undefined);
  assert.equal(response.outcome, 'errors', `the form should be refused, got ${response.outcome}`);
  return (response.json as { errors: Record<string, string> }).errors;
}

describe('leavers by e-mail', () => {
  test('the form has the subject_emails field, multiline, beside the picker', async () => {
    await h.driver.slashCommand(PEOPLE.requester, 'offboard');
    const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.requester, 'access_request'));
    const blocks = modal.view.blocks as any[];
    const field = blocks.find((block) => block.block_id === 'subject_emails');
    assert.equal(field?.element.type, 'plain_text_input');
    assert.equal(field.element.action_id, 'subject_emails');
    assert.equal(field.element.multiline, true);
    assert.equal(field.optional, true);
    assert.equal(blocks.indexOf(field), blocks.findIndex((block) => block.block_id === 'subjects') + 1, 'right after the people picker');
    await h.driver.closeView(PEOPLE.requester, modal).catch(() => undefined);
  });

  test('a leaver deactivated in Slack is offboarded by e-mail and shown by name; an unknown e-mail is kept as typed; the picker and a line naming one person count once', async () => {
    const id = await requestAccess(h, PEOPLE.requester, {
      kind: 'offboard', apps: ['axure'], subjects: [PEOPLE.carol],
      subject_emails: '  Gina@Example.com\n\nformer.contractor@example.com\nCAROL@example.com\n',
    });
    const items = h.query<{ subject_slack_id: string | null; subject_email: string }>(
      'SELECT subject_slack_id, subject_email FROM items WHERE request_id = ? ORDER BY subject_email', id,
    );
    assert.deepEqual(items, [
      { subject_slack_id: PEOPLE.carol, subject_email: 'carol@example.com' },
      { subject_slack_id: null, subject_email: 'former.contractor@example.com' },
      { subject_slack_id: PEOPLE.gone, subject_email: 'gina@example.com' },
    ]);
    const card = await cardFor(h, PEOPLE.axureOwner, id);
    const shown = JSON.stringify(card.blocks);
    assert.ok(shown.includes(`<@${PEOPLE.gone}>`), 'the deactivated leaver is mentioned, so Slack shows their name');
    assert.ok(shown.includes('former.contractor@example.com'), 'someone Slack does not know is shown by e-mail');
    assert.match(shown, /\*Who\* \(3\)/);

    await h.driver.clickButton(PEOPLE.axureOwner, card, 'Approve');
    await h.slack.waitFor(() => h.query('SELECT 1 FROM items WHERE request_id = ? AND state = ?', id, 'awaiting_approval').length === 0, {
      description: 'the offboarding approved for all three',
    });
  });

  test('a pasted list with a bad line is refused on the field with the line number and why, and nothing is stored', async () => {
    const before = requestCount();
    const errors = await submitErrors({
      kind: 'offboard', apps: ['axure'],
      subject_emails: 'bob.builder@example.com\n\ncarol@example\nDave Drafter <dave@example.com>\nbreakglass@example.com',
    });
    assert.match(errors.subject_emails ?? '', /line 3: "carol@example" is not an e-mail address/);
    assert.match(errors.subject_emails ?? '', /line 5: breakglass@example\.com is a protected account/);
    assert.doesNotMatch(errors.subject_emails ?? '', /line [124]:/, 'the good lines, a mail client\'s "Name <address>" included, are not refused');
    assert.equal(requestCount(), before);
  });

  test('onboarding someone whose Slack account is deactivated, by e-mail, is refused on the field', async () => {
    const before = requestCount();
    const errors = await submitErrors({ kind: 'onboard', apps: ['axure'], subject_emails: 'carol@example.com\ngina@example.com' });
    assert.match(errors.subject_emails ?? '', /line 2: gina@example\.com is Gina Gone, deactivated in Slack/);
    assert.equal(requestCount(), before);
  });

  test('the 500-person limit counts the picker and the e-mail lines together', async () => {
    const before = requestCount();
    const picked = CROWD.map((user) => user.id);
    const lines = 'one@example.com\ntwo@example.com\nthree@example.com\nONE@example.com';
    const errors = await submitErrors({ kind: 'offboard', apps: ['axure'], subjects: picked, subject_emails: lines });
    assert.equal(errors.subject_emails, 'A request can name at most 500 people; this one names 501. Split it into several requests.');
    assert.equal(requestCount(), before);
  });
});
