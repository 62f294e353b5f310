/**
 * Who may decide, through the running bot (SPEC "Who may decide"): every decision button against every kind of
 * person who can reach it, and the ways today's clicks decided what they should not. Each refusal must reach
 * the clicker and leave the request as it was.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SandboxMessage } from '../../src/sandboxes/slack/server.js';
import { APPROVALS_CHANNEL, Harness, IT_CHANNEL, PEOPLE, baseConfig } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, itemStates, requestAccess } from '../support/flows.js';

/** Its members are IT admins through the group only: they must be read from Slack. */
const IT_GROUP = 'S0ITTEAM';

function config(): Record<string, any> {
  const c = baseConfig();
  c.itAdmins = [PEOPLE.admin, IT_GROUP];
  // A failing Autodesk call fails its item at once, so Retry is on the IT alert without waiting out backoff.
  c.jobs = { retryBase: '100ms', retryMax: '200ms', maxAttempts: 1 };
  c.apps.push(
    { id: 'figma', name: 'Figma', connector: 'manual', approvers: [PEOPLE.it2], assignees: [PEOPLE.it1] },
    {
      id: 'miro', name: 'Miro', connector: 'manual', assignees: [PEOPLE.it1],
      approvalSteps: [{ name: 'Manager', approvers: [PEOPLE.manager] }, { name: 'Owner', approvers: [PEOPLE.manager, PEOPLE.owner1] }],
    },
    {
      id: 'notion', name: 'Notion', connector: 'manual', assignees: [PEOPLE.it1],
      approvalSteps: [{ name: 'Manager', approvers: [PEOPLE.manager] }, { name: 'Owner', approvers: [PEOPLE.manager] }],
    },
  );
  return c;
}

let h: Harness;
before(async () => {
  h = await Harness.start({ config: config(), userGroups: { [IT_GROUP]: [PEOPLE.it2] }, autodesk: { latencyMs: 0 } });
});
after(async () => {
  await h.close();
});

interface ApprovalRow { app_id: string; step_index: number; state: string; decided_by: string | null; fallback_to_it: number }
const approvals = (requestId: string) =>
  h.query<ApprovalRow>('SELECT app_id, step_index, state, decided_by, fallback_to_it FROM approvals WHERE request_id = ? ORDER BY app_id, step_index', requestId);
const approvalOf = (requestId: string, appId: string, stepIndex: number) => approvals(requestId).find((a) => a.app_id === appId && a.step_index === stepIndex);

const mirrorOf = (requestId: string) => h.slack.waitFor(() => h.slack.messagesTo(APPROVALS_CHANNEL).find((m) => m.text.includes(requestId)), { description: `mirror card of ${requestId}` });
const itCardOf = (requestId: string) => h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(requestId) && m.text.includes('needs a decision')), { description: `IT card of ${requestId}` });

/** Clicks and resolves with what the clicker was told, which must match `told`. */
async function clickRefused(user: string, where: SandboxMessage, button: string, told: RegExp): Promise<string> {
  const since = h.slack.ephemerals.length;
  await h.driver.clickButton(user, where, button);
  const reply = await h.slack.waitFor(() => h.slack.ephemerals.slice(since).find((e) => e.user === user), { description: `${user} told why their ${button} did nothing` });
  assert.match(reply.text, told, `${user} clicking ${button}`);
  assert.match(reply.text, /Nothing was changed|Nothing to do|your own request|your own access/, 'the clicker is told nothing changed');
  return reply.text;
}

/** Everyone but the manager, each with what they are told, on an Autodesk onboarding of Carol asked by Alice at step 1. */
const REFUSED_AT_STEP_1: [string, string, RegExp][] = [
  ['the requester', PEOPLE.requester, /can't approve or deny your own request/],
  ['the subject', PEOPLE.carol, /can't decide on your own access/],
  ['the approver of another step', PEOPLE.owner1, /Only <@U0MANAGER> can decide/],
  ['the approver of another app', PEOPLE.axureOwner, /Only <@U0MANAGER> can decide/],
  ['an IT admin (the step has a listed approver)', PEOPLE.admin, /Only <@U0MANAGER> can decide/],
  ['a stranger', PEOPLE.stranger, /Only <@U0MANAGER> can decide/],
];

describe('authorisation matrix', () => {
  test('Approve: only the approver of the current step decides it; everyone else is told why and nothing changes', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk'] });
    const mirror = await mirrorOf(id);
    for (const [, user, told] of REFUSED_AT_STEP_1) await clickRefused(user, mirror, 'Approve', told);
    assert.deepEqual(approvals(id).map((a) => a.state), ['pending'], 'nothing decided by the refused clicks');
    assert.deepEqual(itemStates(h, id), ['awaiting_approval']);

    const card = await cardFor(h, PEOPLE.manager, id);
    assert.match(JSON.stringify(card.blocks), /Approve\* or \*Deny\* decides: Autodesk step 1 \(Manager\)\./, 'the card says what a click decides');
    await h.driver.clickButton(PEOPLE.manager, card, 'Approve');
    await h.slack.waitFor(() => approvalOf(id, 'autodesk', 1), { description: 'step 2 opened' });
    assert.deepEqual(approvalOf(id, 'autodesk', 0), { app_id: 'autodesk', step_index: 0, state: 'approved', decided_by: PEOPLE.manager, fallback_to_it: 0 });
    assert.equal(approvalOf(id, 'autodesk', 1)!.state, 'pending', 'the manager decided step 1 only');
  });

  test('Deny and its reason modal: only the current approver gets the modal, and a submission by anyone else denies nothing', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk'] });
    const mirror = await mirrorOf(id);
    for (const [, user, told] of REFUSED_AT_STEP_1) {
      await clickRefused(user, mirror, 'Deny', told);
      assert.equal(h.slack.openViewOf(user, 'deny_reason'), undefined, `no deny modal for ${user}`);
    }

    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Deny');
    const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.manager, 'deny_reason'), { description: "the manager's deny modal" });
    assert.match(JSON.stringify(modal.view.blocks), /Autodesk step 1 \(Manager\)/, 'the modal says what it denies');
    for (const [user, told] of [[PEOPLE.stranger, /Only <@U0MANAGER> can decide/], [PEOPLE.owner1, /Only <@U0MANAGER> can decide/], [PEOPLE.requester, /your own request/]] as const) {
      const forged = await h.driver.forgeViewSubmission(user, modal, { reason: 'forged' });
      assert.equal(forged.status, 200);
      const ack = forged.json as { response_action?: string; view?: unknown } | undefined;
      assert.equal(ack?.response_action, 'update', `${user}'s submission is answered in the modal`);
      assert.match(JSON.stringify(ack?.view), told);
    }
    assert.deepEqual(approvals(id).map((a) => a.state), ['pending'], 'no forged submission denied anything');
    assert.ok(!dmsTo(h, PEOPLE.requester).some((t) => t.includes(id) && t.includes('forged')));

    const submitted = await h.driver.submitView(PEOPLE.manager, modal, { reason: 'Not this quarter' });
    assert.equal(submitted.outcome, 'closed');
    assert.deepEqual(approvals(id).map((a) => [a.state, a.decided_by]), [['denied', PEOPLE.manager]]);
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id) && t.includes('Not this quarter')), { description: 'requester told the reason' });
  });

  test("Retry: the IT admins (by id or through their group) and the app's approvers re-run failed items; nobody else", async () => {
    h.autodesk.addUser({ email: 'dave@example.com', firstName: 'Dave', status: 'active' });
    h.autodesk.injectFailures(100_000, 503);
    try {
      const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.dave] });
      await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
      await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
      const failedAlert = () =>
        h.slack.waitFor(() => {
          const alert = h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('could not finish'));
          return alert && hasButtons(alert) && itemStates(h, id)[0] === 'failed' && alert;
        }, { description: 'the failed item on the IT alert, with Retry' });
      let alert = await failedAlert();

      const refused: [string, RegExp][] = [
        [PEOPLE.requester, /Only the IT admins and Autodesk approvers can retry/],
        [PEOPLE.dave, /Only the IT admins and Autodesk approvers can retry/],
        [PEOPLE.axureOwner, /Only the IT admins and Autodesk approvers can retry/],
        [PEOPLE.it1, /Only the IT admins and Autodesk approvers can retry/],
        [PEOPLE.stranger, /Only the IT admins and Autodesk approvers can retry/],
      ];
      for (const [user, told] of refused) await clickRefused(user, alert, 'Retry', told);
      assert.equal(h.query("SELECT COUNT(*) AS n FROM audit WHERE request_id = ? AND action = 'request.retried'", id)[0]!.n, 0, 'no refused click retried');
      assert.deepEqual(itemStates(h, id), ['failed']);

      for (const user of [PEOPLE.manager, PEOPLE.owner2, PEOPLE.admin, PEOPLE.it2]) {
        await h.driver.clickButton(user, alert, 'Retry');
        await h.slack.waitFor(() => h.query("SELECT 1 FROM audit WHERE request_id = ? AND action = 'request.retried' AND actor = ?", id, user).length === 1, { description: `${user}'s retry recorded` });
        alert = await failedAlert();
      }
    } finally {
      h.autodesk.injectFailures(0);
    }
  });
});

describe('attacks on who decides', () => {
  test("a step nobody listed may decide is decided by an IT admin only: not a channel member, not another app's approver from their own card", async () => {
    // The manager asks, and is the only approver of Autodesk step 1: that step falls back to the IT admins.
    const id = await requestAccess(h, PEOPLE.manager, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk', 'figma', 'axure'] });
    const itCard = await itCardOf(id);
    assert.equal(approvalOf(id, 'autodesk', 0)!.fallback_to_it, 1);

    // it2 approves Figma and is an IT admin (through the group): their own Figma card still decides Figma only.
    const figmaCard = await cardFor(h, PEOPLE.it2, id);
    assert.match(JSON.stringify(figmaCard.blocks), /decides: Figma step 1\./);
    await h.driver.clickButton(PEOPLE.it2, figmaCard, 'Approve');
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, id), 'Approve');
    await h.slack.waitFor(() => approvalOf(id, 'figma', 0)!.state === 'approved' && approvalOf(id, 'axure', 0)!.state === 'approved', { description: 'Figma and Axure approved' });
    assert.equal(approvalOf(id, 'autodesk', 0)!.state, 'pending', "no app's approver decided the IT step from their own card");

    await clickRefused(PEOPLE.it1, itCard, 'Approve', /only the IT admins \(<@U0ADMIN>, <@U0IT2>\) can/);
    await clickRefused(PEOPLE.axureOwner, itCard, 'Approve', /only the IT admins/);
    await clickRefused(PEOPLE.manager, itCard, 'Approve', /your own request/);
    assert.equal(approvalOf(id, 'autodesk', 0)!.state, 'pending');

    await h.driver.clickButton(PEOPLE.it2, itCard, 'Approve');
    await h.slack.waitFor(() => approvalOf(id, 'autodesk', 0)!.state === 'approved', { description: 'an IT admin of the group decided the IT step' });
    assert.equal(approvalOf(id, 'autodesk', 0)!.decided_by, PEOPLE.it2);
  });

  test("an IT admin's Home shows a step that fell back to IT, with buttons that decide it", async () => {
    const id = await requestAccess(h, PEOPLE.manager, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk'] });
    const home = await h.slack.waitFor(() => {
      const view = h.slack.homeViews.get(PEOPLE.admin);
      return view && JSON.stringify(view.view.blocks).includes(`decide:${id}`) && view;
    }, { description: "the request on the IT admin's Home" });
    const buttons = home.view.blocks.filter((block: { block_id?: string }) => block.block_id === `decide:${id}`);
    await h.driver.clickButton(PEOPLE.admin, { view: { ...home, view: { ...home.view, blocks: buttons } } }, 'Approve');
    await h.slack.waitFor(() => approvalOf(id, 'autodesk', 0)!.state === 'approved', { description: 'decided from the Home tab' });
    assert.equal(approvalOf(id, 'autodesk', 0)!.decided_by, PEOPLE.admin);
  });

  test('one person listed in two steps decides one: a double click leaves step 2 to the other approver, and the step-1 card decides nothing after', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['miro'] });
    const card = await cardFor(h, PEOPLE.manager, id);
    const step1Version = { ...card, blocks: structuredClone(card.blocks) };
    const since = h.slack.ephemerals.length;
    await Promise.all([h.driver.clickButton(PEOPLE.manager, card, 'Approve'), h.driver.clickButton(PEOPLE.manager, card, 'Approve')]);
    await h.slack.waitFor(() => h.slack.ephemerals.slice(since).find((e) => e.user === PEOPLE.manager && /already approved by <@U0MANAGER>/.test(e.text)), { description: 'the second click of the double click told it decided nothing' });
    const ownerCard = await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.owner1).find((m) => m.text.includes(id) && hasButtons(m)), { description: "owner1's card for step 2" });
    assert.ok(ownerCard);
    assert.deepEqual(approvals(id).map((a) => [a.step_index, a.state, a.decided_by]), [[0, 'approved', PEOPLE.manager], [1, 'pending', null]]);
    await h.slack.waitFor(() => !hasButtons(card), { description: "the manager's card has no buttons for step 2" });

    await clickRefused(PEOPLE.manager, step1Version, 'Approve', /already approved by <@U0MANAGER>/);
    await clickRefused(PEOPLE.manager, step1Version, 'Deny', /already approved by <@U0MANAGER>/);
    assert.equal(approvalOf(id, 'miro', 1)!.state, 'pending', 'the leftover step-1 card decided nothing');

    await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
    await h.slack.waitFor(() => approvalOf(id, 'miro', 1)!.state === 'approved', { description: 'owner1 decided step 2' });
  });

  test('a step whose only approver decided the previous step goes to the IT admins, and that approver cannot decide it there', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['notion'] });
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
    const itCard = await itCardOf(id);
    assert.equal(approvalOf(id, 'notion', 1)!.fallback_to_it, 1);
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id) && t.includes('sent to the IT channel')), { description: 'requester told' });
    await clickRefused(PEOPLE.manager, itCard, 'Approve', /You decided step 1 of this approval chain/);
    assert.equal(approvalOf(id, 'notion', 1)!.state, 'pending');
    await h.driver.clickButton(PEOPLE.admin, itCard, 'Approve');
    await h.slack.waitFor(() => approvalOf(id, 'notion', 1)!.state === 'approved', { description: 'the IT admin decided step 2' });
  });

  test('a step that falls back to IT when every IT admin is barred too is called out in the IT channel, not left waiting unseen', async () => {
    // An IT admin asks for the other IT admin (a member of the IT group): neither may decide the IT step.
    const id = await requestAccess(h, PEOPLE.admin, { kind: 'onboard', subjects: [PEOPLE.it2], apps: ['notion'] });
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
    const warning = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('Nobody may decide step 2 of Notion')), { description: 'IT told' });
    assert.match(warning.text, /Add someone to `itAdmins`/);
    await clickRefused(PEOPLE.it2, await itCardOf(id), 'Approve', /your own access/);
    assert.equal(approvalOf(id, 'notion', 1)!.state, 'pending');
  });

  test("a new hire whose e-mail is an approver's: that approver gets no buttons and is refused, and the IT admins decide", async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], new_hire_email: 'ADA@example.com', new_hire_first_name: 'Ada', new_hire_last_name: 'Again' });
    const itCard = await itCardOf(id);
    assert.equal(approvalOf(id, 'axure', 0)!.fallback_to_it, 1);
    assert.ok(!h.slack.messagesTo(PEOPLE.axureOwner).some((m) => m.text.includes(id) && hasButtons(m)), 'no card with buttons for the new hire herself');
    await clickRefused(PEOPLE.axureOwner, await mirrorOf(id), 'Approve', /your own access/);
    await clickRefused(PEOPLE.axureOwner, itCard, 'Approve', /your own access/);
    assert.equal(approvalOf(id, 'axure', 0)!.state, 'pending');
    await h.driver.clickButton(PEOPLE.admin, itCard, 'Approve');
    await h.slack.waitFor(() => approvalOf(id, 'axure', 0)!.state === 'approved', { description: 'the IT admin decided' });
  });

  test('a card that decides several apps says exactly which, and a click decides those', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk', 'miro', 'axure'] });
    const card = await cardFor(h, PEOPLE.manager, id);
    assert.match(JSON.stringify(card.blocks), /decides: Autodesk step 1 \(Manager\), Miro step 1 \(Manager\)\./);
    await h.driver.clickButton(PEOPLE.manager, card, 'Approve');
    await h.slack.waitFor(() => approvalOf(id, 'miro', 0)!.state === 'approved' && approvalOf(id, 'autodesk', 0)!.state === 'approved', { description: 'both decided' });
    assert.equal(approvalOf(id, 'axure', 0)!.state, 'pending', 'Axure was not on the card');
  });

  test('a card rendered before buttons named their steps decides nothing: the clicker is told to look again', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['axure'] });
    const card = await cardFor(h, PEOPLE.axureOwner, id);
    const old = { ...card, blocks: JSON.parse(JSON.stringify(card.blocks).replace(new RegExp(`"value":"${id}\\|[0-9,]*"`, 'g'), `"value":"${id}"`)) };
    await clickRefused(PEOPLE.axureOwner, old, 'Approve', /out of date/);
    assert.equal(approvalOf(id, 'axure', 0)!.state, 'pending');
  });
});
