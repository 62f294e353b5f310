/**
 * A Slack message the runner gives up on is not lost: after an outage longer than the job's retries it is
 * queued again and arrives once; one Slack refuses for good reaches IT with its text.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Harness, IT_CHANNEL, PEOPLE, baseConfig } from '../support/harness.js';
import { cardFor, dmsTo, requestAccess } from '../support/flows.js';

let h: Harness;
before(async () => {
  const config = baseConfig();
  // Two attempts a job, then give up: the outage below outlasts them, as a long one outlasts jobs.giveUpAfter.
  config.jobs = { retryBase: '100ms', retryMax: '1s', maxAttempts: 2 };
  h = await Harness.start({ config });
});
after(async () => {
  await h.close();
});

async function denyWith(requestId: string, reason: string): Promise<void> {
  const card = await cardFor(h, PEOPLE.axureOwner, requestId);
  await h.driver.clickButton(PEOPLE.axureOwner, card, 'Deny');
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(PEOPLE.axureOwner, 'deny_reason'));
  await h.driver.submitView(PEOPLE.axureOwner, modal, { reason });
}

test('a DM whose job gave up during a Slack outage is sent again afterwards, and arrives once', async () => {
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['axure'] });
  await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id)), { description: "the requester's status message" });
  // The deny DM is the only message posted next: every try of its first two job runs (two tries each) fails.
  h.slack.failNext('chat.postMessage', 5, { status: 503 });
  await denyWith(id, 'No seats until the outage ends');
  await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes('No seats until the outage ends')), {
    timeoutMs: 20_000, description: 'the deny DM, after its job gave up',
  });
  const failedTries = h.slack.calls.filter((call) => call.method === 'chat.postMessage' && call.status === 503).length;
  assert.equal(failedTries, 5, 'the outage outlasted the job');
  assert.equal(dmsTo(h, PEOPLE.requester).filter((t) => t.includes('No seats until the outage ends')).length, 1);
});

test('a DM Slack refuses for good reaches IT with its text', async () => {
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.dave], apps: ['axure'] });
  await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id)), { description: "the requester's status message" });
  h.slack.failNext('chat.postMessage', 1, { error: 'user_disabled' });
  await denyWith(id, 'Contract ended');
  const alert = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes('could not deliver') && m.text.includes('Contract ended')), {
    timeoutMs: 20_000, description: 'IT handed the undeliverable DM',
  });
  assert.match(alert.text, new RegExp(`<@${PEOPLE.requester}> \\(Slack says user_disabled\\)`));
  assert.equal(h.slack.calls.filter((call) => call.method === 'chat.postMessage' && call.error === 'user_disabled').length, 1, 'not retried: it cannot succeed');
});
