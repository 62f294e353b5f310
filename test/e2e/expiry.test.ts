/**
 * Access that ends by itself, through the running bot: `end_date` on the modal (required and bounded by an app's
 * `maxDuration`, refused on an offboarding), "until" on the card, and the warning DM, whose button opens the
 * `/access` form filled in for an extension. The end date itself (and the offboarding it files) needs a clock that
 * moves: test/requests/expiry.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FieldValue } from '../../src/sandboxes/slack/driver.js';
import type { SandboxMessage } from '../../src/sandboxes/slack/server.js';
import { addDaysToDate } from '../../src/util/time.js';
import { Harness, PEOPLE, baseConfig } from '../support/harness.js';
import { cardFor, requestAccess, today } from '../support/flows.js';

let h: Harness;
before(async () => {
  const config = baseConfig();
  config.apps[1].maxDuration = '30d';
  h = await Harness.start({ config, autodesk: { latencyMs: 0 } });
});
after(async () => {
  await h.close();
});

const requestCount = () => h.query<{ n: number }>('SELECT COUNT(*) AS n FROM requests')[0]!.n;

async function submitErrors(values: Record<string, FieldValue>): Promise<Record<string, string>> {
  await h.driver.slashCommand(PEOPLE.requester, '');
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.requester, 'access_request'));
  const response = await h.driver.submitView(PEOPLE.requester, modal, { justification: 'project', ...values });
  assert.equal(response.outcome, 'errors', response.body);
  await h.driver.closeView(PEOPLE.requester, modal).catch(() => undefined);
  return (response.json as { errors: Record<string, string> }).errors;
}

const shown = (message: SandboxMessage) => JSON.stringify(message.blocks ?? []) + message.text;

describe('end_date on the request modal', () => {
  const cases: [string, Record<string, FieldValue>, RegExp][] = [
    ['missing for an app with maxDuration', { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.bob] }, /Axure RP access is granted for at most 30 days: pick an end date \(\d{4}-\d{2}-\d{2} at the latest\)/],
    ['past maxDuration (the latest date is named)', { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.bob], end_date: addDaysToDate(today(), 31) }, new RegExp(`the latest end date is ${addDaysToDate(today(), 30)}`)],
    ['not after the effective date', { kind: 'onboard', apps: ['autodesk'], subjects: [PEOPLE.bob], end_date: today() }, /must be after the effective date/],
    ['given on an offboarding', { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.bob], end_date: addDaysToDate(today(), 5) }, /for onboarding only/],
  ];
  for (const [name, values, message] of cases) {
    test(`${name}: refused on the end_date field, nothing stored`, async () => {
      const before = requestCount();
      const errors = await submitErrors(values);
      assert.match(errors.end_date ?? '', message, JSON.stringify(errors));
      assert.equal(requestCount(), before);
    });
  }

  test('the limit is met exactly at effective date + maxDuration, and the card says until when', async () => {
    const end = addDaysToDate(today(), 30);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.carol], end_date: end });
    assert.deepEqual(h.query<{ end_date: string }>('SELECT end_date FROM items WHERE request_id = ?', id).map((row) => row.end_date), [end]);
    const card = await cardFor(h, PEOPLE.axureOwner, id);
    assert.ok(shown(card).includes(`until ${end}`), shown(card));
  });
});

describe('access ending soon', () => {
  test('granted with an end within the warning: the person and the requester are told once, and the button opens a pre-filled extension', async () => {
    const end = addDaysToDate(today(), 2);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.dave], end_date: end });
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, id), 'Approve');
    const task = await h.slack.waitFor(() => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => h.slack.messagesTo(it)).find((m) => m.text.includes(PEOPLE.dave) && shown(m).includes('Mark done')), {
      description: 'the Axure task', timeoutMs: 15_000,
    });
    const warningsTo = (user: string) => h.slack.messagesTo(user).filter((m) => m.text.includes(`ends on ${end}`));
    assert.equal(warningsTo(PEOPLE.dave).length, 0, 'not warned before the access is granted');
    await h.driver.clickButton(h.slack.dmUserOf(task.channel)!, task, 'Mark done');

    const warning = await h.slack.waitFor(() => warningsTo(PEOPLE.dave)[0], { description: 'the warning to the person', timeoutMs: 15_000 });
    assert.match(warning.text, /Your Axure RP access ends on/);
    const toRequester = await h.slack.waitFor(() => warningsTo(PEOPLE.requester)[0], { description: 'the warning to the requester' });
    assert.match(toRequester.text, new RegExp(`Axure RP access of .*ends on ${end} \\(your request ${id}\\)`));
    assert.ok(shown(warning).includes('Ask for an extension'));
    assert.equal(h.query(`SELECT 1 FROM jobs WHERE kind = 'access.expire' AND state = 'queued'`).length, 1, 'the end is scheduled');

    await h.driver.clickButton(PEOPLE.dave, warning, 'Ask for an extension');
    const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.dave, 'access_request'), { description: 'the extension form' });
    const block = (blockId: string) => (modal.view.blocks as any[]).find((b) => b.block_id === blockId).element;
    assert.equal(block('kind').initial_option.value, 'onboard');
    assert.deepEqual(block('subjects').initial_users, [PEOPLE.dave]);
    assert.deepEqual(block('apps').initial_options.map((o: { value: string }) => o.value), ['axure']);
    assert.equal(block('end_date').initial_date, undefined, 'the new end date is left to choose');
    const extension = await h.driver.submitView(PEOPLE.dave, modal, { end_date: addDaysToDate(today(), 20) });
    assert.equal(extension.outcome, 'closed', extension.body);
    const [latest] = h.query<{ kind: string; requester_id: string; end_date: string }>(
      'SELECT kind, requester_id, end_date FROM requests JOIN items ON items.request_id = requests.id ORDER BY requests.created_at DESC, items.id DESC LIMIT 1',
    );
    assert.deepEqual(latest, { kind: 'onboard', requester_id: PEOPLE.dave, end_date: addDaysToDate(today(), 20) }, 'a new request, to be approved like any');

    assert.equal(warningsTo(PEOPLE.dave).length, 1, 'warned once');
  });
});
