/**
 * What an operator watches, read from the running bot: `/healthz` turning degraded when work gives up,
 * `/metrics` counting what really happened (checked against what the Slack and Autodesk sandboxes saw), and a
 * Slack call that never answers timing out instead of holding its job for ever.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Harness, IT_CHANNEL, PEOPLE } from '../support/harness.js';
import { cardFor, dmsTo, itemStates, requestAccess } from '../support/flows.js';

let h: Harness;
before(async () => {
  // A short Slack timeout keeps the hung-call test quick; production's default is 10 s.
  h = await Harness.start({ env: { SLACK_TIMEOUT_MS: '2000' } });
});
after(async () => {
  await h.close();
});

/** `name{labels}` → value, from the Prometheus text the bot serves. */
async function scrape(): Promise<Map<string, number>> {
  const response = await fetch(`${h.botUrl}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

interface Health {
  ok: boolean;
  status: string;
  jobs: { failed: number; failedLastHour: number; overdue: number };
  problems?: string[];
}

async function health(): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${h.botUrl}/healthz`);
  return { status: response.status, body: (await response.json()) as Health };
}

async function approveAutodesk(requestId: string): Promise<void> {
  await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, requestId), 'Approve');
  await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, requestId), 'Approve');
}

test('an offboarding shows in /metrics: requests and items by state, Autodesk calls and budget as the API saw them, Slack calls by method', async () => {
  h.autodesk.addUser({ email: 'carol@example.com', firstName: 'Carol', status: 'active' });
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.carol] });
  const before = await scrape();
  assert.equal(before.get('accessbot_requests{state="open"}'), 1);
  assert.equal(before.get('accessbot_items{state="awaiting_approval"}'), 1);
  await approveAutodesk(id);
  await h.slack.waitFor(() => itemStates(h, id)[0] === 'completed' && dmsTo(h, PEOPLE.requester).some((t) => t.includes(`Request ${id} is done`)), { description: 'the offboarding done' });

  const after = await scrape();
  assert.equal(after.get('accessbot_requests{state="open"}'), 0);
  assert.equal(after.get('accessbot_requests{state="finished"}'), 1);
  assert.equal(after.get('accessbot_items{state="completed"}'), 1);
  assert.equal(after.get('accessbot_items{state="awaiting_approval"}'), 0);

  const apiCalls = h.autodesk.countRequests();
  assert.ok(apiCalls >= 2, 'a directory read and the deactivation at least');
  assert.equal(after.get('accessbot_autodesk_calls_total{endpoint="api",status="200"}'), h.autodesk.countRequests({ status: 200 }));
  assert.equal(after.get('accessbot_autodesk_calls_total{endpoint="token",status="200"}'), h.autodesk.tokenRequests);
  assert.equal(after.get('accessbot_autodesk_budget_limit'), 1000, 'the Standard plan');
  assert.equal(after.get('accessbot_autodesk_budget_used'), apiCalls, 'every API call counted in the sliding hour');
  assert.equal(after.get('accessbot_autodesk_budget_remaining'), 1000 - apiCalls);
  assert.equal(after.get('accessbot_autodesk_rate_limited_total'), 0);

  // views.open is called by Bolt's per-listener client, chat.postMessage by the job runner's: both are counted.
  const slackCalls = (method: string) => h.slack.calls.filter((call) => call.method === method).length;
  assert.equal(after.get('accessbot_slack_calls_total{method="views.open"}'), slackCalls('views.open'));
  // The bot counts a call as it starts, the sandbox records it as it answers: never fewer.
  assert.ok((after.get('accessbot_slack_calls_total{method="chat.postMessage"}') ?? 0) >= slackCalls('chat.postMessage'));
  assert.equal(after.get('accessbot_jobs{state="failed"}'), 0);
});

test('a Slack call that never answers times out, is counted, and its message still arrives; Slack errors are counted by code', async () => {
  // Each job run tries twice (the WebClient's one retry): the first run hangs twice, the second meets an error.
  h.slack.failNext('chat.postMessage', 2, { hang: true });
  h.slack.failNext('chat.postMessage', 1, { error: 'fatal_error' });
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.bob] });
  await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.axureOwner).find((m) => m.text.includes(id) && m.text.includes('needs a decision')), {
    timeoutMs: 20_000, description: 'the approval card, after two timeouts and an error',
  });
  assert.equal(h.slack.calls.filter((call) => call.error === 'hung').length, 2, 'both hung calls reached Slack');
  const samples = await scrape();
  // At least the two hung calls; a loaded test machine may time out a slow one too, which is counted as well.
  assert.ok((samples.get('accessbot_slack_call_failures_total{method="chat.postMessage",reason="timeout"}') ?? 0) >= 2);
  assert.equal(samples.get('accessbot_slack_call_failures_total{method="chat.postMessage",reason="fatal_error"}'), 1);
});

test('/healthz is ok while work succeeds, then degraded with the count once a job gives up', async () => {
  const healthy = await health();
  assert.equal(healthy.status, 200);
  assert.deepEqual([healthy.body.ok, healthy.body.status, healthy.body.jobs.failedLastHour], [true, 'ok', 0]);

  // A deactivated account cannot be re-invited: the item fails for good and IT is told.
  h.autodesk.addUser({ email: 'dave@example.com', firstName: 'Dave', status: 'inactive' });
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['autodesk'], subjects: [PEOPLE.dave] });
  await approveAutodesk(id);
  await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id) && m.text.includes('could not finish')), { description: 'IT alert' });

  const degraded = await health();
  assert.equal(degraded.status, 200, 'degraded, not down: the process itself is fine');
  assert.equal(degraded.body.ok, false);
  assert.equal(degraded.body.status, 'degraded');
  assert.equal(degraded.body.jobs.failedLastHour, 1);
  assert.match(degraded.body.problems!.join('; '), /1 job failed for good in the last hour/);
  const samples = await scrape();
  assert.equal(samples.get('accessbot_jobs_failed_last_hour'), 1);
  assert.equal(samples.get('accessbot_jobs{state="failed"}'), 1);
  assert.equal(samples.get('accessbot_items{state="failed"}'), 1);
});
