/**
 * `/access delegate` through the running bot: an approver hands their approvals (open and new) to a colleague
 * who decides "for" them under the same rules, and takes them back with `off`; approvers deactivated in Slack are
 * skipped, and a step left with nobody goes to the IT admins.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SandboxMessage } from '../../src/sandboxes/slack/server.js';
import { APPROVALS_CHANNEL, Harness, IT_CHANNEL, PEOPLE, baseConfig } from '../support/harness.js';
import { cardFor, dmsTo, hasButtons, requestAccess } from '../support/flows.js';

function config(): Record<string, any> {
  const c = baseConfig();
  c.apps.push(
    // Its only approver has left Slack: every step goes to IT.
    { id: 'figma', name: 'Figma', connector: 'manual', approvers: [PEOPLE.gone], assignees: [PEOPLE.it1] },
    // One of its two approvers has left: the other decides alone.
    { id: 'miro', name: 'Miro', connector: 'manual', approvers: [PEOPLE.gone, PEOPLE.owner1], assignees: [PEOPLE.it1] },
  );
  return c;
}

let h: Harness;
before(async () => {
  h = await Harness.start({ config: config(), autodesk: { latencyMs: 0 } });
});
after(async () => {
  await h.close();
});

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** Types `/access <text>` as this person and returns what the bot answered to them only. */
async function command(userId: string, text: string): Promise<string> {
  const since = h.slack.ephemerals.length;
  const response = await h.driver.slashCommand(userId, text);
  assert.equal(response.status, 200);
  const reply = h.slack.ephemerals.slice(since).find((e) => e.user === userId);
  assert.ok(reply, `an answer to /access ${text}`);
  return reply.text;
}

const buttonTexts = (message: SandboxMessage): string[] =>
  (message.blocks as any[]).filter((b) => b.type === 'actions').flatMap((b) => b.elements.map((e: any) => e.text.text));

const mirrorOf = (requestId: string) => h.slack.waitFor(() => h.slack.messagesTo(APPROVALS_CHANNEL).find((m) => m.text.includes(requestId)), { description: `mirror card of ${requestId}` });

interface ApprovalRow { state: string; decided_by: string | null; decided_for: string | null; fallback_to_it: number }
const approval = (requestId: string, appId: string, stepIndex: number) =>
  h.query<ApprovalRow>('SELECT state, decided_by, decided_for, fallback_to_it FROM approvals WHERE request_id = ? AND app_id = ? AND step_index = ?', requestId, appId, stepIndex)[0];
const delegationsInForce = (delegator: string) => h.query('SELECT * FROM delegations WHERE delegator = ? AND ended_at IS NULL', delegator);

async function clickTold(user: string, where: SandboxMessage, button: string | RegExp, told: RegExp): Promise<void> {
  const since = h.slack.ephemerals.length;
  await h.driver.clickButton(user, where, button);
  const reply = await h.slack.waitFor(() => h.slack.ephemerals.slice(since).find((e) => e.user === user), { description: `${user} told why nothing happened` });
  assert.match(reply.text, told);
}

describe('delegation', () => {
  test('starts (open and new approvals go to the delegate, "for @Mona"), the delegate decides, then off gives them back', async () => {
    const open = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk'] });
    const managerCard = await cardFor(h, PEOPLE.manager, open);
    assert.ok(hasButtons(managerCard));

    const until = day(7);
    const answer = await command(PEOPLE.manager, `delegate <@${PEOPLE.bob}|bob> until ${until}`);
    assert.match(answer, new RegExp(`Your approvals go to <@${PEOPLE.bob}> until the end of ${until}`));
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.bob).some((t) => t.includes(`<@${PEOPLE.manager}> has handed their access approvals to you until the end of ${until}`)), { description: 'the delegate told' });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.manager).some((t) => t.includes(`Your approvals go to <@${PEOPLE.bob}>`)), { description: 'the delegator told' });

    // The open approval is re-synced: a card for Bob, for Mona; Mona's own card says who decides now.
    const bobCard = await cardFor(h, PEOPLE.bob, open);
    await h.slack.waitFor(() => buttonTexts(bobCard).includes('Approve (for @mona)'), { description: "Bob's buttons say for whom" });
    assert.ok(JSON.stringify(bobCard.blocks).includes(`for <@${PEOPLE.manager}>, who handed you their approvals`));
    await h.slack.waitFor(() => !hasButtons(managerCard) && JSON.stringify(managerCard.blocks).includes(`You handed your approvals to <@${PEOPLE.bob}>`), { description: "Mona's card without buttons" });
    await clickTold(PEOPLE.manager, await mirrorOf(open), 'Approve', new RegExp(`You handed your approvals to <@${PEOPLE.bob}>.*Nothing was changed`));
    assert.equal(approval(open, 'autodesk', 0)!.state, 'pending', "the delegator's click decided nothing");

    await h.driver.clickButton(PEOPLE.bob, bobCard, 'Approve (for @mona)');
    await h.slack.waitFor(() => approval(open, 'autodesk', 0)?.state === 'approved', { description: 'step 1 approved by the delegate' });
    assert.deepEqual({ by: approval(open, 'autodesk', 0)!.decided_by, for: approval(open, 'autodesk', 0)!.decided_for }, { by: PEOPLE.bob, for: PEOPLE.manager });
    const audit = h.query<{ detail: string }>("SELECT detail FROM audit WHERE request_id = ? AND action = 'approval.approved' AND actor = ?", open, PEOPLE.bob);
    assert.equal(JSON.parse(audit[0]!.detail).for, PEOPLE.manager, 'the audit says for whom');
    assert.equal(h.query("SELECT COUNT(*) AS n FROM audit WHERE action = 'delegation.started' AND actor = ?", PEOPLE.manager)[0]!.n, 1);
    await h.slack.waitFor(() => JSON.stringify(bobCard.blocks).includes(`approved by <@${PEOPLE.bob}> (for <@${PEOPLE.manager}>)`), { description: 'the card says who decided for whom' });
    await cardFor(h, PEOPLE.owner1, open);

    // A request made during the delegation goes to Bob at once; Mona is refused on it.
    const fresh = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['autodesk'] });
    const bobFresh = await cardFor(h, PEOPLE.bob, fresh);
    await h.slack.waitFor(() => buttonTexts(bobFresh).includes('Approve (for @mona)'), { description: 'new approvals go to the delegate' });

    // Off: both told, Bob's card loses its buttons, Mona's gets them back and she decides.
    assert.match(await command(PEOPLE.manager, 'delegate off'), new RegExp(`Delegation to <@${PEOPLE.bob}> ended`));
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.bob).some((t) => t.includes(`<@${PEOPLE.manager}>'s delegation to you has ended`)), { description: 'the delegate told it ended' });
    await h.slack.waitFor(() => !hasButtons(bobFresh), { description: "the delegate's card without buttons" });
    const monaFresh = await cardFor(h, PEOPLE.manager, fresh);
    await h.slack.waitFor(() => buttonTexts(monaFresh).includes('Approve'), { description: "Mona's own buttons back" });
    await h.driver.clickButton(PEOPLE.manager, monaFresh, 'Approve');
    await h.slack.waitFor(() => approval(fresh, 'autodesk', 0)?.state === 'approved', { description: 'Mona decided again' });
    assert.equal(approval(fresh, 'autodesk', 0)!.decided_for, null);
    assert.equal(h.query("SELECT COUNT(*) AS n FROM audit WHERE action = 'delegation.ended' AND actor = ?", PEOPLE.manager)[0]!.n, 1);
    assert.match(await command(PEOPLE.manager, 'delegate off'), /no delegation in force/);
  });

  test("a delegate who is the request's subject may not decide it: the open step goes to IT, the delegate is refused", async () => {
    const about = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['autodesk'] });
    await cardFor(h, PEOPLE.manager, about);
    const answer = await command(PEOPLE.manager, `delegate <@${PEOPLE.carol}> until ${day(3)}`);
    assert.match(answer, /1 open step that .* may not decide .* went to the IT admins/);
    await h.slack.waitFor(() => approval(about, 'autodesk', 0)?.fallback_to_it === 1, { description: 'the step routed to IT' });
    const itCard = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(about) && hasButtons(m)), { description: 'the IT card' });
    assert.equal(h.slack.messagesTo(PEOPLE.carol).filter((m) => m.text.includes(about) && m.text.includes('needs a decision')).length, 0, 'no card for the subject');
    await clickTold(PEOPLE.carol, await mirrorOf(about), 'Approve', /You can't decide on your own access/);
    await h.driver.clickButton(PEOPLE.admin, itCard, 'Approve');
    await h.slack.waitFor(() => approval(about, 'autodesk', 0)?.state === 'approved', { description: 'IT decided it' });
    assert.equal(approval(about, 'autodesk', 0)!.decided_by, PEOPLE.admin);
    assert.match(await command(PEOPLE.manager, 'delegate off'), /ended/);
  });

  test('a delegation nobody can use is refused with a clear answer and nothing stored', async () => {
    const refusals: [string, RegExp][] = [
      [`delegate <@${PEOPLE.manager}|mona> until ${day(2)}`, /cannot delegate your approvals to yourself/],
      [`delegate <@${PEOPLE.botUser}|robo> until ${day(2)}`, /is a bot/],
      [`delegate <@${PEOPLE.gone}|gina> until ${day(2)}`, /deactivated/],
      [`delegate <@${PEOPLE.bob}|bob> until ${day(-2)}`, /is in the past/],
      [`delegate <@${PEOPLE.bob}|bob> until ${day(120)}`, /at most 90 days/],
      [`delegate <@${PEOPLE.bob}|bob> until 2026-02-30`, /is not a date/],
      [`delegate <@${PEOPLE.bob}|bob> till ${day(2)}`, /could not read/],
      [`delegate bob until ${day(2)}`, /Mention them with @/],
      [`delegate <@U0NOBODY|x> until ${day(2)}`, /Slack does not know/],
    ];
    for (const [text, told] of refusals) assert.match(await command(PEOPLE.manager, text), told, text);
    assert.equal(delegationsInForce(PEOPLE.manager).length, 0);
    assert.match(await command(PEOPLE.manager, 'delegate'), /Your approvals come to you/);
  });

  test('approvers deactivated in Slack are skipped: the other approver decides alone; with nobody left the step goes to IT', async () => {
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['figma', 'miro'] });
    await h.slack.waitFor(() => approval(id, 'figma', 0) !== undefined && approval(id, 'miro', 0) !== undefined, { description: 'both steps open' });
    assert.equal(approval(id, 'figma', 0)!.fallback_to_it, 1, 'its only approver is deactivated');
    assert.equal(approval(id, 'miro', 0)!.fallback_to_it, 0, 'the other approver is still there');
    await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).some((m) => m.text.includes(id) && hasButtons(m)), { description: 'the IT card' });
    const owner = await cardFor(h, PEOPLE.owner1, id);
    await h.driver.clickButton(PEOPLE.owner1, owner, 'Approve');
    await h.slack.waitFor(() => approval(id, 'miro', 0)?.state === 'approved', { description: 'Miro approved by the remaining approver' });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id) && t.includes('approvers deactivated in Slack are skipped')), { description: 'the requester told why IT decides' });
    assert.equal(h.slack.messagesTo(PEOPLE.gone).length, 0, 'nothing sent to a deactivated account');
  });
});
