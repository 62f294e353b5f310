/** What a person typing `/access` sees: the modal, every validation error on its field, status and help. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Harness, PEOPLE } from '../support/harness.js';
import { requestAccess, today } from '../support/flows.js';
import type { FieldValue } from '../../src/sandboxes/slack/driver.js';

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.close();
});

async function submit(values: Record<string, FieldValue>, user: string = PEOPLE.requester) {
  await h.driver.slashCommand(user, '');
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(user, 'access_request'));
  const response = await h.driver.submitView(user, modal, values);
  if (response.outcome === 'errors') await h.driver.closeView(user, modal).catch(() => undefined);
  return response;
}

function errorsOf(response: { json?: unknown }): Record<string, string> {
  return (response.json as { errors?: Record<string, string> }).errors ?? {};
}

describe('the request modal', () => {
  test('/access opens the modal with the block ids of the SPEC, and /access offboard preselects it', async () => {
    await h.driver.slashCommand(PEOPLE.requester, 'offboard');
    const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.requester, 'access_request'));
    const ids = (modal.view.blocks as { block_id: string }[]).map((block) => block.block_id);
    for (const id of ['kind', 'subjects', 'new_hire_email', 'new_hire_first_name', 'new_hire_last_name', 'apps', 'autodesk_role', 'autodesk_teams', 'effective_date', 'justification']) {
      assert.ok(ids.includes(id), `block ${id} present`);
    }
    const kind = (modal.view.blocks as any[]).find((block) => block.block_id === 'kind');
    assert.equal(kind.element.initial_option.value, 'offboard');
    await h.driver.closeView(PEOPLE.requester, modal).catch(() => undefined);
  });

  const invalid: [string, Record<string, FieldValue>, string, RegExp][] = [
    ['nobody', { kind: 'onboard', apps: ['axure'], justification: 'x' }, 'subjects', /at least one person/],
    ['a bad new-hire e-mail', { kind: 'onboard', apps: ['axure'], new_hire_email: 'jane@', new_hire_first_name: 'Jane', new_hire_last_name: 'Doe', justification: 'x' }, 'new_hire_email', /not a valid e-mail/],
    ['a new hire without a name', { kind: 'onboard', apps: ['axure'], new_hire_email: 'jane@example.com', justification: 'x' }, 'new_hire_first_name', /first name/],
    ['a date in the past', { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.bob], effective_date: '2020-01-01', justification: 'x' }, 'effective_date', /in the past/],
    ['a blank justification', { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.bob], justification: '   ' }, 'justification', /Say why/],
    ['a bot as subject', { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.botUser], justification: 'x' }, 'subjects', /is a bot/],
    ['a deactivated Slack user', { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.gone], justification: 'x' }, 'subjects', /deactivated in Slack/],
    ['a user with no e-mail', { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.noMail], justification: 'x' }, 'subjects', /no e-mail/],
    ['new-hire fields on an offboarding', { kind: 'offboard', apps: ['axure'], new_hire_email: 'jane@example.com', justification: 'x' }, 'new_hire_email', /onboarding only/],
  ];
  for (const [name, values, block, message] of invalid) {
    test(`${name} is refused on the ${block} field and nothing is stored`, async () => {
      const before = h.query<{ n: number }>('SELECT COUNT(*) AS n FROM requests')[0]!.n;
      const response = await submit(values);
      assert.equal(response.outcome, 'errors');
      assert.match(errorsOf(response)[block] ?? '', message, JSON.stringify(errorsOf(response)));
      assert.equal(h.query<{ n: number }>('SELECT COUNT(*) AS n FROM requests')[0]!.n, before);
    });
  }

  test('a justification over 3000 characters cannot be typed into the field', async () => {
    await h.driver.slashCommand(PEOPLE.requester, '');
    const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.requester, 'access_request'));
    const block = (modal.view.blocks as any[]).find((b) => b.block_id === 'justification');
    assert.equal(block.element.max_length, 3000, 'Slack itself stops the 3001st character');
    await assert.rejects(h.driver.submitView(PEOPLE.requester, modal, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.bob], justification: 'x'.repeat(3001) }));
    await h.driver.closeView(PEOPLE.requester, modal).catch(() => undefined);
  });

  test('a new hire with no Slack account can be onboarded; one item per person and app', async () => {
    const id = await requestAccess(h, PEOPLE.requester, {
      kind: 'onboard', apps: ['axure', 'autodesk'], subjects: [PEOPLE.bob], new_hire_email: 'Jane.Doe@Example.com', new_hire_first_name: 'Jane', new_hire_last_name: 'Doe', effective_date: today(),
    });
    const items = h.query<{ app_id: string; subject_email: string }>('SELECT app_id, subject_email FROM items WHERE request_id = ? ORDER BY app_id, subject_email', id);
    assert.deepEqual(items.map((i) => `${i.app_id}:${i.subject_email}`), [
      'autodesk:Bob.Builder@Example.com', 'autodesk:Jane.Doe@Example.com', 'axure:Bob.Builder@Example.com', 'axure:Jane.Doe@Example.com',
    ]);
  });
});

describe('/access subcommands', () => {
  test('status lists my open requests with each item state; help and unknown words show usage', async () => {
    const id = await requestAccess(h, PEOPLE.carol, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.dave] });
    const status = await h.driver.slashCommand(PEOPLE.carol, 'status');
    assert.match(status.body, new RegExp(id));
    assert.match(status.body, /awaiting approval/);
    const help = await h.driver.slashCommand(PEOPLE.carol, 'help');
    assert.match(help.body, /Usage of `\/access`/);
    const unknown = await h.driver.slashCommand(PEOPLE.carol, 'frobnicate <script>');
    assert.match(unknown.body, /I don't know `\/access frobnicate/);
    assert.match(unknown.body, /Usage/);
  });
});

describe('requests that are not from Slack', () => {
  test('a bad signature is answered 401', async () => {
    const body = new URLSearchParams({ command: '/access', text: 'status', user_id: PEOPLE.requester }).toString();
    const headers = h.driver.sign(body);
    const response = await h.driver.post(body, { ...headers, 'X-Slack-Signature': `v0=${'0'.repeat(64)}` });
    assert.equal(response.status, 401);
  });

  test('a correctly signed request with a stale timestamp is answered 401', async () => {
    const body = new URLSearchParams({ command: '/access', text: 'status', user_id: PEOPLE.requester }).toString();
    const response = await h.driver.postSigned(body, { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    assert.equal(response.status, 401);
  });

  test('GET /healthz reports the database and the job queue', async () => {
    const response = await fetch(`${h.botUrl}/healthz`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { ok: boolean; jobs: { queued: number } };
    assert.equal(body.ok, true);
    assert.equal(typeof body.jobs.queued, 'number');
  });
});
