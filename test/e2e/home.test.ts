/** The App Home tab: my open requests, approvals waiting for me with working buttons, refreshed on change. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Harness, PEOPLE } from '../support/harness.js';
import { cardFor, hasButtons, requestAccess } from '../support/flows.js';

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.close();
});

const homeText = (user: string) => JSON.stringify(h.slack.homeViews.get(user)?.view.blocks ?? []);

test('opening Home shows my requests and the approvals waiting for me; Approve there works and Home refreshes', async () => {
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.bob] });
  await h.driver.event({ type: 'app_home_opened', user: PEOPLE.requester, tab: 'home', channel: h.slack.dmChannelOf(PEOPLE.requester) });
  await h.slack.waitFor(() => homeText(PEOPLE.requester).includes(id) && homeText(PEOPLE.requester).includes('awaiting approval'), { description: "requester's Home lists the request" });

  await h.driver.event({ type: 'app_home_opened', user: PEOPLE.axureOwner, tab: 'home', channel: h.slack.dmChannelOf(PEOPLE.axureOwner) });
  await h.slack.waitFor(() => homeText(PEOPLE.axureOwner).includes(id) && hasButtons({ blocks: h.slack.homeViews.get(PEOPLE.axureOwner)!.view.blocks } as never), { description: 'approver Home has the card with buttons' });

  await h.driver.clickButton(PEOPLE.axureOwner, { homeOf: PEOPLE.axureOwner }, 'Approve');
  const card = await cardFor(h, PEOPLE.axureOwner, id);
  await h.slack.waitFor(() => !hasButtons(card), { description: 'the DM card reflects the decision made on Home' });
  await h.slack.waitFor(() => !homeText(PEOPLE.axureOwner).includes(`"value":"${id}"`), { description: 'Home refreshed: nothing left to decide' });
  await h.slack.waitFor(() => !homeText(PEOPLE.requester).includes('awaiting approval'), { description: "requester's Home refreshed without being reopened" });
});

test('a refused click on Home (no response_url) is explained by DM, and a retried event delivery changes nothing', async () => {
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.dave] });
  await h.driver.event({ type: 'app_home_opened', user: PEOPLE.axureOwner, tab: 'home' });
  await h.slack.waitFor(() => homeText(PEOPLE.axureOwner).includes(id));
  // The Home tab as it stays on a second device that has not refreshed: its Approve button outlives the decision.
  const staleHome = structuredClone(h.slack.homeViews.get(PEOPLE.axureOwner)!);
  await h.driver.clickButton(PEOPLE.axureOwner, { homeOf: PEOPLE.axureOwner }, 'Approve');
  const card = await cardFor(h, PEOPLE.axureOwner, id);
  await h.slack.waitFor(() => !hasButtons(card), { description: 'the decision made' });
  const dmsBefore = h.slack.messagesTo(PEOPLE.axureOwner).length;
  const stale = await h.driver.clickButton(PEOPLE.axureOwner, { view: staleHome }, 'Approve');
  assert.equal(stale.status, 200);
  assert.equal(stale.payload.response_url, undefined, 'a Home click has no response_url to answer through');
  const explained = await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.axureOwner).slice(dmsBefore).find((m) => m.text.startsWith('Nothing to do')), { description: 'the refusal explained by DM' });
  assert.match(explained.text, new RegExp(`already approved by <@${PEOPLE.axureOwner}>`));
  const response = await h.driver.event({ type: 'app_home_opened', user: PEOPLE.axureOwner, tab: 'home' }, { retryNum: 1 });
  assert.equal(response.status, 200);
  assert.equal(h.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit WHERE request_id = ? AND action = 'approval.approved'", id)[0]!.n, 1);
});
