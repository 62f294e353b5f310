import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createRestApi, type AutodeskApi } from '../../src/connectors/autodesk/api.js';
import { AutodeskClient, withPriority, type AutodeskClientOptions } from '../../src/connectors/autodesk/client.js';
import { PRIORITY } from '../../src/connectors/autodesk/limiter.js';
import { AutodeskApiError } from '../../src/connectors/autodesk/http.js';
import { RetryAt } from '../../src/jobs/errors.js';
import { startAutodeskSandbox, type AutodeskSandbox, type AutodeskSandboxOptions } from '../../src/sandboxes/autodesk/server.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock, type Clock } from '../../src/util/time.js';
import { tempDatabase } from './context.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  sandbox: AutodeskSandbox;
  client: AutodeskClient;
  api: AutodeskApi;
  /** Another client on the same database file, as after a restart. */
  reopen(overrides?: Partial<AutodeskClientOptions>): AutodeskClient;
}

async function setup(sandboxOptions: AutodeskSandboxOptions = {}, overrides: Partial<AutodeskClientOptions> = {}): Promise<Setup> {
  const sandbox = await startAutodeskSandbox(sandboxOptions);
  const database = tempDatabase();
  cleanups.push(() => database.cleanup(), () => sandbox.close());
  const make = (more: Partial<AutodeskClientOptions> = {}) => {
    const client = new AutodeskClient({
      baseUrl: sandbox.baseUrl, tokenUrl: sandbox.tokenUrl, clientId: sandbox.clientId, clientSecret: sandbox.clientSecret,
      perHour: 360_000, maxConcurrent: 10, db: database.db, clock: systemClock, log: silentLogger, ...overrides, ...more,
    });
    cleanups.push(() => client.close());
    return client;
  };
  const client = make();
  return { sandbox, client, api: createRestApi(client), reopen: make };
}

describe('Autodesk client: OAuth token', () => {
  test('fifty concurrent callers cause one token request', async () => {
    const { sandbox, client, api } = await setup();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.tokens.get()));
    assert.equal(new Set(tokens).size, 1);
    assert.equal(sandbox.tokenRequests, 1);
    sandbox.seedUsers(3);
    await Promise.all(Array.from({ length: 50 }, () => api.listUsersPage(0, 10)));
    assert.equal(sandbox.tokenRequests, 1, 'API calls reuse the cached token');
  });

  test('a token is renewed shortly before it expires, not after a refusal', async () => {
    let offset = 0;
    const clock: Clock = { now: () => Date.now() + offset };
    const { sandbox, api } = await setup({ tokenTtlSeconds: 60, now: clock.now }, { clock });
    await api.listUsersPage(0, 1);
    offset += 55_000; // inside the renewal margin (a tenth of 60 s)
    await api.listUsersPage(0, 1);
    assert.equal(sandbox.tokenRequests, 2);
    assert.equal(sandbox.countRequests({ status: 401 }), 0);
  });

  test('a 401 on an API call is retried exactly once with a fresh token', async () => {
    let serverOffset = 0;
    const { sandbox, api } = await setup({ tokenTtlSeconds: 3600, now: () => Date.now() + serverOffset });
    await api.listUsersPage(0, 1);
    serverOffset += 2 * 3_600_000; // the server thinks our cached token expired long ago
    const page = await api.listUsersPage(0, 1);
    assert.deepEqual(page.users, []);
    assert.equal(sandbox.countRequests({ status: 401 }), 1);
    assert.equal(sandbox.tokenRequests, 2);
  });

  test('bad credentials are a permanent error that never shows the secret', async () => {
    const { sandbox, api } = await setup({}, { clientSecret: 'wrong-secret-value-123' });
    const error = await api.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof AutodeskApiError);
    assert.equal(error.retryable, false);
    assert.equal(error.status, 401);
    assert.match(error.message, /^autodesk: get token: HTTP 401 invalid_client/);
    assert.doesNotMatch(error.message, /wrong-secret-value-123/);
    assert.equal(sandbox.requests.length, 0);
  });
});

describe('Autodesk client: errors', () => {
  test('a 4xx is permanent and keeps the API message; a 5xx is retryable', async () => {
    const { sandbox, api } = await setup();
    const bad = await api.createUser({ email: 'not-an-email', firstName: null, lastName: null, role: 'user' }).then(() => undefined, (e: unknown) => e);
    assert.ok(bad instanceof AutodeskApiError);
    assert.equal(bad.retryable, false);
    assert.equal(bad.status, 400);
    assert.equal(bad.message, 'autodesk: create user: HTTP 400 invalid_request: email is not a valid email address');
    sandbox.injectFailures(3, 502);
    const flaky = await api.getUser('x').then(() => undefined, (e: unknown) => e);
    assert.ok(flaky instanceof AutodeskApiError);
    assert.equal(flaky.retryable, true);
    assert.equal(flaky.status, 502);
    assert.equal(await api.getUser('no-such-id'), null, '404 on get is "no such user"');
  });

  test('a GET answered 5xx is tried again inside the client, and the third failure in a row reaches the job', async () => {
    const { sandbox, api } = await setup();
    const [user] = sandbox.seedUsers(1);
    sandbox.injectFailures(2, 503);
    assert.equal((await api.getUser(user!.id))?.email, user!.email, 'two 503s then the answer');
    assert.equal(sandbox.countRequests({ method: 'GET' }), 3);
    sandbox.injectFailures(3, 500);
    const error = await api.getUser(user!.id).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof AutodeskApiError && error.retryable && error.status === 500);
    assert.equal(sandbox.countRequests({ method: 'GET' }), 6, 'three tries, no more');
  });

  test('PATCH to inactive and a team join are repeated after a 5xx; POST /users and DELETE are not', async () => {
    const { sandbox, api } = await setup();
    const [first, second] = sandbox.seedUsers(2);
    sandbox.injectFailures(1, 503);
    assert.equal(await api.deactivateUser(first!.id), 'inactive');
    assert.equal(sandbox.countRequests({ method: 'PATCH' }), 2);
    sandbox.injectFailures(1, 503);
    assert.equal(await api.assignTeam(second!.id, 'team-789', 'member'), 'assigned');
    assert.equal(sandbox.countRequests({ method: 'POST', pathPrefix: `/users/${second!.id}/teams` }), 2);
    // A 5xx after a POST /users may have created the account: the connector reads it again at the job level.
    sandbox.injectFailures(1, 503);
    const create = await api.createUser({ email: 'new@example.com', firstName: null, lastName: null, role: 'user' }).then(() => undefined, (e: unknown) => e);
    assert.ok(create instanceof AutodeskApiError && create.retryable);
    assert.equal(sandbox.countRequests({ method: 'POST', pathPrefix: '/users' }) - 2, 1, 'POST /users sent once');
    sandbox.injectFailures(1, 503);
    const remove = await api.deleteUser(second!.id).then(() => undefined, (e: unknown) => e);
    assert.ok(remove instanceof AutodeskApiError && remove.retryable);
    assert.equal(sandbox.countRequests({ method: 'DELETE' }), 1, 'DELETE sent once');
  });

  test('a token endpoint failing now and then does not fail the call that needed the token', async () => {
    const { sandbox, client, api } = await setup();
    sandbox.seedUsers(1);
    await api.listUsersPage(0, 1);
    sandbox.setFaults({ rate: 0, tokenRate: 0.5 }); // from now on every second token request answers 503
    client.tokens.invalidate(await client.tokens.get());
    await api.listUsersPage(0, 1);
    client.tokens.invalidate(await client.tokens.get());
    await api.listUsersPage(0, 1);
    assert.equal(sandbox.tokenRequests, 4, 'the second renewal failed once and was tried again');
    assert.equal(sandbox.countRequests({ status: 200 }), 3);
    assert.equal(sandbox.requests.length, 3, 'no API call was sent without a token');
  });

  test('a response slower than the headers timeout is a retryable timeout', async () => {
    // undici's timers tick about every half second, so the timeout fires within roughly a second.
    const { api } = await setup({ latencyMs: 2500 }, { timeouts: { headersTimeoutMs: 500 } });
    const error = await api.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof AutodeskApiError);
    assert.equal(error.retryable, true);
    assert.equal(error.status, null);
    assert.match(error.message, /^autodesk: list users: timed out/);
  });
});

describe('Autodesk client: rate limits', () => {
  test('concurrency never exceeds the plan cap', async () => {
    const { sandbox, api } = await setup({ latencyMs: 20, maxConcurrent: 4 }, { maxConcurrent: 4 });
    await Promise.all(Array.from({ length: 30 }, () => api.listUsersPage(0, 1)));
    assert.ok(sandbox.maxInFlightSeen <= 4, `saw ${sandbox.maxInFlightSeen} in flight`);
    assert.equal(sandbox.countRequests({ status: 429 }), 0);
  });

  test('short 429s (HTTP-date Retry-After, no rate headers) pause every call and all calls succeed', async () => {
    const { sandbox, api } = await setup({ requestsPerWindow: 4, windowMs: 1000, retryAfterFormat: 'http-date', rateLimitHeaders: false });
    const results = await Promise.all(Array.from({ length: 10 }, () => api.listUsersPage(0, 1)));
    assert.equal(results.length, 10);
    assert.equal(sandbox.countRequests({ status: 200 }), 10);
    const refused = sandbox.requests.filter((r) => r.status === 429);
    assert.ok(refused.length > 0);
    // After the first refusal, nothing is sent until the pause is over (≥ 1 s: a Retry-After date counts as at
    // least a second). All ten calls go out at once, so answers before then can only be those ten first tries;
    // timing answers instead would mistake a first try answered late on a busy machine for a retry.
    const firstRefusal = refused[0]!.at;
    const answeredDuringPause = sandbox.requests.filter((r) => r.at < firstRefusal + 900);
    assert.ok(answeredDuringPause.length <= 10, `${answeredDuringPause.length - 10} retries were sent during the pause`);
  });

  test('a long Retry-After reschedules the job, and a restarted client keeps waiting', async () => {
    const { sandbox, api, reopen } = await setup({ requestsPerWindow: 2, windowMs: 120_000 });
    await api.listUsersPage(0, 1);
    await api.listUsersPage(0, 1);
    const error = await api.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RetryAt, String(error));
    assert.ok(error.at >= Date.now() + 100_000, 'rescheduled for the reset, about two minutes away');
    const sent = sandbox.requests.length;
    const restarted = createRestApi(reopen());
    const again = await restarted.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(again instanceof RetryAt);
    assert.equal(sandbox.requests.length, sent, 'the pause survived the restart: nothing was sent');
  });

  test('a burst up to the hourly budget runs at the concurrency cap, with no pacing between calls', async () => {
    // 40 an hour used to mean one call every 90 s; within the budget they now go as fast as 4 at a time allows.
    const { sandbox, client, api } = await setup({ latencyMs: 20, maxConcurrent: 4 }, { perHour: 40, maxConcurrent: 4 });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 40 }, () => api.listUsersPage(0, 1)));
    const elapsed = Date.now() - started;
    assert.equal(results.length, 40);
    assert.equal(sandbox.countRequests({ status: 200 }), 40);
    assert.equal(sandbox.maxInFlightSeen, 4, 'the concurrency cap was reached, not exceeded');
    assert.ok(elapsed < 3000, `40 calls of 20 ms, 4 at a time, took ${elapsed} ms`);
    assert.equal(client.limiter.state().used, 40);
    const over = await api.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(over instanceof RetryAt, 'the 41st call in the hour is not sent');
    assert.equal(sandbox.requests.length, 40);
  });

  test('the call beyond the budget waits until the oldest calls leave the sliding hour, and only as many as left', async () => {
    let offset = 0;
    const clock: Clock = { now: () => Date.now() + offset };
    const { sandbox, api } = await setup({}, { perHour: 5, clock });
    const t0 = clock.now();
    await Promise.all(Array.from({ length: 3 }, () => api.listUsersPage(0, 1)));
    offset += 10 * 60_000;
    await Promise.all(Array.from({ length: 2 }, () => api.listUsersPage(0, 1)));

    offset += 60_000;
    const early = await api.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(early instanceof RetryAt, 'the 6th call of the hour is rescheduled: a 49-minute wait is long');
    // The first three calls leave the window an hour after their second ends: not before, and at most a second after.
    assert.ok(early.at >= t0 + 3_600_000 && early.at <= t0 + 3_601_000 + 50, `rescheduled ${early.at - t0} ms after the first call`);
    assert.equal(sandbox.requests.length, 5);

    // Just before that moment a call waits in place (a short wait) and goes as soon as the oldest calls have left.
    offset += early.at - clock.now() - 300;
    await api.listUsersPage(0, 1);
    assert.ok(clock.now() >= early.at, 'sent only once the oldest calls had left the window');
    // Three calls left, so two more may go now; the budget does not refill whole at a window boundary.
    await Promise.all(Array.from({ length: 2 }, () => api.listUsersPage(0, 1)));
    const next = await api.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(next instanceof RetryAt, 'no double burst: the calls of minute 10 still count');
    assert.ok(next.at >= t0 + 10 * 60_000 + 3_600_000 && next.at <= t0 + 10 * 60_000 + 3_601_000 + 50, `rescheduled ${next.at - t0} ms after the first call`);
    assert.equal(sandbox.requests.length, 8);
  });

  test('the sliding hour is kept in SQLite: a restarted client keeps the window', async () => {
    let offset = 0;
    const clock: Clock = { now: () => Date.now() + offset };
    const { sandbox, api, reopen } = await setup({}, { perHour: 3, clock });
    const t0 = clock.now();
    await api.listUsersPage(0, 1);
    await api.listUsersPage(0, 1);
    const restartedClient = reopen();
    const restarted = createRestApi(restartedClient);
    await restarted.listUsersPage(0, 1);
    assert.equal(restartedClient.limiter.state().used, 3);
    const error = await restarted.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RetryAt, String(error));
    assert.ok(error.at >= t0 + 3_600_000 && error.at <= t0 + 3_601_000 + 50, `rescheduled ${error.at - t0} ms after the first call`);
    assert.equal(sandbox.requests.length, 3);

    offset += error.at - clock.now();
    const later = createRestApi(reopen());
    await later.listUsersPage(0, 1);
    assert.equal(sandbox.requests.length, 4, 'once the first calls left the hour, the rescheduled job goes');
  });

  test('an explicit pacingMs still spaces call starts, and a long queue behind it reschedules', async () => {
    const { sandbox, client, api } = await setup({}, { perHour: 36_000, pacingMs: 100, longWaitMs: 450 });
    await client.tokens.get(); // so the first call's answer is not late by a token request
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => api.listUsersPage(0, 1)));
    const sent = sandbox.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i]! - sent[i - 1]! >= 80, `calls ${i - 1} and ${i} only ${sent[i]! - sent[i - 1]!} ms apart`);
    const rescheduled = results.filter((r) => r.status === 'rejected');
    assert.ok(rescheduled.length > 0 && rescheduled.every((r) => r.reason instanceof RetryAt), 'calls beyond ~450 ms of queue are rescheduled');
    assert.equal(sent.length, 8 - rescheduled.length);
  });

  test('an offboarding call waiting for a slot goes before polls and onboarding calls queued earlier', async () => {
    const { sandbox, api } = await setup({ latencyMs: 40, maxConcurrent: 1 }, { maxConcurrent: 1 });
    const [leaver] = sandbox.seedUsers(3);
    const calls = [api.listUsersPage(0, 1)]; // holds the only slot while the others queue
    calls.push(api.listUsersPage(1, 1), api.listUsersPage(2, 1));
    calls.push(withPriority(PRIORITY.onboard, () => api.listUsersPage(3, 1)));
    calls.push(withPriority(PRIORITY.offboard, () => api.deactivateUser(leaver!.id)) as Promise<never>);
    await Promise.all(calls);
    assert.deepEqual(sandbox.requests.map((r) => r.method + ' ' + r.path), [
      'GET /users?limit=1&offset=0', `PATCH /users/${leaver!.id}`, 'GET /users?limit=1&offset=3', 'GET /users?limit=1&offset=1', 'GET /users?limit=1&offset=2',
    ]);
  });

  test('X-RateLimit-Remaining resyncs the budget to the server count', async () => {
    const { sandbox, client, api } = await setup({ requestsPerWindow: 1000 }, { perHour: 1000 });
    sandbox.seedUsers(1);
    await api.listUsersPage(0, 1);
    await api.listUsersPage(0, 1);
    assert.equal(client.limiter.state().server?.used, 2);
    // Someone else (another tool on the same account) spends budget: the next answer tells us.
    for (let i = 0; i < 5; i++) await fetch(`${sandbox.baseUrl}/users`, { headers: { authorization: `Bearer ${await client.tokens.get()}` } });
    await api.listUsersPage(0, 1);
    assert.equal(client.limiter.state().server?.used, 8);
    assert.equal(client.limiter.state().used, 3, 'our own sliding count is only our calls');
  });

  test('5xx answers the server sends without its rate headers (it did not count them) give their budget back', async () => {
    const { sandbox, client, api } = await setup({ requestsPerWindow: 1000 }, { perHour: 1000 });
    const [user] = sandbox.seedUsers(1);
    await api.getUser(user!.id);
    sandbox.injectFailures(2, 503);
    await api.getUser(user!.id);
    assert.equal(sandbox.countRequests({ method: 'GET' }), 4, 'two 503s, then the answer');
    assert.equal(client.limiter.state().used, 2, 'only the two answers the server counted spend our hour');
    assert.equal(client.limiter.state().server?.used, 2, 'nor does our copy of the server window count them');
  });

  test('a call that never got a token is never sent and spends no budget', async () => {
    const { sandbox, client, api } = await setup({ requestsPerWindow: 1000 }, { perHour: 1000 });
    sandbox.seedUsers(1);
    await api.listUsersPage(0, 1);
    sandbox.setFaults({ rate: 0, tokenRate: 1 });
    client.tokens.invalidate(await client.tokens.get());
    const error = await api.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof AutodeskApiError && error.action === 'get token', String(error));
    assert.equal(sandbox.requests.length, 1, 'no API call was sent without a token');
    assert.equal(client.limiter.state().used, 1, 'only the call that was sent counts');
    assert.equal(client.limiter.state().server?.used, 1);
  });

  test('from a server that sends no rate headers, every try counts, failed ones included', async () => {
    const { sandbox, client, api } = await setup({ rateLimitHeaders: false }, { perHour: 1000 });
    const [user] = sandbox.seedUsers(1);
    await api.getUser(user!.id);
    sandbox.injectFailures(2, 503);
    await api.getUser(user!.id);
    assert.equal(client.limiter.state().used, 4);
  });

  test('a server window spent by another client holds our calls until its reset, though our own hour is nearly empty', async () => {
    const { sandbox, client, api } = await setup({ requestsPerWindow: 6, windowMs: 120_000 }, { perHour: 1000 });
    await api.listUsersPage(0, 1);
    for (let i = 0; i < 4; i++) await fetch(`${sandbox.baseUrl}/users`, { headers: { authorization: `Bearer ${await client.tokens.get()}` } });
    await api.listUsersPage(0, 1); // the server's 6th: it answers Remaining 0
    const sent = sandbox.requests.length;
    const error = await api.listUsersPage(0, 1).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RetryAt, String(error));
    assert.ok(error.at >= Date.now() + 100_000, 'held until the server window resets, about two minutes away');
    assert.equal(sandbox.requests.length, sent, 'nothing sent just to be refused');
    assert.equal(client.limiter.state().used, 2);
  });
});
