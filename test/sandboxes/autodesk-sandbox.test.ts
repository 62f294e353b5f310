import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, describe, test } from 'node:test';
import {
  startAutodeskSandbox,
  type AutodeskSandbox,
  type AutodeskSandboxOptions,
  type AutodeskUser,
} from '../../src/sandboxes/autodesk/server.js';

const ALL_SCOPES = 'user:read user:write organization:read';
const started: AutodeskSandbox[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

async function start(opts: AutodeskSandboxOptions = {}): Promise<AutodeskSandbox> {
  const s = await startAutodeskSandbox(opts);
  started.push(s);
  return s;
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function tokenRequest(s: AutodeskSandbox, form: string, auth = basic(s.clientId, s.clientSecret)) {
  return fetch(s.tokenUrl, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
}

async function getToken(s: AutodeskSandbox, scope = ALL_SCOPES): Promise<string> {
  const res = await tokenRequest(s, new URLSearchParams({ grant_type: 'client_credentials', scope }).toString());
  assert.equal(res.status, 200);
  const body = (await res.json()) as { access_token: string };
  return body.access_token;
}

interface ApiResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

async function api<T = any>(s: AutodeskSandbox, token: string, method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const res = await fetch(`${s.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as T };
}

describe('Autodesk sandbox: OAuth', () => {
  test('issues a Bearer token for client credentials sent with HTTP Basic', async () => {
    const s = await start();
    const res = await tokenRequest(s, 'grant_type=client_credentials&scope=user:read');
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    assert.equal(typeof body.access_token, 'string');
    assert.equal(s.tokenRequests, 1);
  });

  test('rejects wrong credentials with 401 invalid_client and a wrong grant with 400', async () => {
    const s = await start();
    const bad = await tokenRequest(s, 'grant_type=client_credentials&scope=user:read', basic(s.clientId, 'nope'));
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { error: string }).error, 'invalid_client');
    const grant = await tokenRequest(s, 'grant_type=password&scope=user:read');
    assert.equal(grant.status, 400);
    assert.equal(((await grant.json()) as { error: string }).error, 'unsupported_grant_type');
    assert.equal(s.tokenRequests, 2);
    assert.equal(s.requests.length, 0, 'token calls are not API requests');
  });

  test('API routes require a token; unknown tokens get 401 invalid_token', async () => {
    const s = await start();
    const none = await fetch(`${s.baseUrl}/users`);
    assert.equal(none.status, 401);
    const res = await api(s, 'made-up', 'GET', '/users');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'invalid_token');
  });

  test('tokens expire after their ttl (injected clock)', async () => {
    let clock = Date.parse('2024-02-20T10:00:00Z');
    const s = await start({ tokenTtlSeconds: 1, now: () => clock });
    const token = await getToken(s);
    assert.equal((await api(s, token, 'GET', '/users')).status, 200);
    clock += 999;
    assert.equal((await api(s, token, 'GET', '/users')).status, 200);
    clock += 1;
    const expired = await api(s, token, 'GET', '/users');
    assert.equal(expired.status, 401);
    assert.equal(expired.body.error.code, 'invalid_token');
    assert.equal((await api(s, await getToken(s), 'GET', '/users')).status, 200, 'a fresh token works again');
  });

  test('tokens carry only the scopes requested', async () => {
    const s = await start();
    const readOnly = await getToken(s, 'user:read');
    assert.equal((await api(s, readOnly, 'GET', '/users')).status, 200);
    const denied = await api(s, readOnly, 'POST', '/users', { email: 'a@example.com' });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'insufficient_scope');
    assert.equal((await tokenRequest(s, 'grant_type=client_credentials&scope=admin:all')).status, 400);
  });
});

describe('Autodesk sandbox: users', () => {
  test('pagination: default 20, max 100, 101 rejected, stable createdAt order, email filter ignored', async () => {
    const s = await start();
    const seeded = s.seedUsers(150);
    const token = await getToken(s);

    const first = await api(s, token, 'GET', '/users');
    assert.equal(first.status, 200);
    assert.equal(first.body.data.length, 20);
    assert.deepEqual(first.body.pagination, { total: 150, limit: 20, offset: 0 });
    assert.equal(first.body.data[0].id, seeded[0]!.id);

    const page = await api(s, token, 'GET', '/users?limit=100&offset=100');
    assert.equal(page.body.data.length, 50);
    assert.equal(page.body.data[0].id, seeded[100]!.id);

    for (const bad of ['101', '0', '-1', '2.5', 'ten']) {
      const res = await api(s, token, 'GET', `/users?limit=${bad}`);
      assert.equal(res.status, 400, `limit=${bad}`);
      assert.equal(res.body.error.code, 'invalid_request');
    }

    // The guide documents no filter, so `email=` must not narrow the result.
    const filtered = await api(s, token, 'GET', `/users?email=${encodeURIComponent(seeded[42]!.email)}`);
    assert.equal(filtered.status, 200);
    assert.equal(filtered.body.data.length, 20);
    assert.equal(filtered.body.pagination.total, 150);
  });

  test('get by id is exact and case-sensitive', async () => {
    const s = await start();
    const u = s.addUser({ email: 'john@example.com', firstName: 'John', lastName: 'Doe' });
    const token = await getToken(s);
    const got = await api<AutodeskUser>(s, token, 'GET', `/users/${u.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.email, 'john@example.com');
    assert.equal((await api(s, token, 'GET', `/users/${u.id.toUpperCase()}`)).status, 404);
  });

  test('create keeps the given casing, starts pending, and treats emails case-insensitively for uniqueness', async () => {
    const s = await start();
    const token = await getToken(s);
    const created = await api<AutodeskUser>(s, token, 'POST', '/users', {
      email: 'Jane.Smith@Example.com',
      firstName: 'Jane',
      lastName: 'Smith',
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.email, 'Jane.Smith@Example.com');
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.role, 'user');
    assert.equal(created.body.lastLogin, null);
    assert.match(created.body.id, /^[0-9a-f-]{36}$/);

    const dup = await api(s, token, 'POST', '/users', { email: 'jane.smith@example.COM' });
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.body, { error: { code: 'conflict', message: 'User with this email already exists' } });
    assert.equal(s.userByEmail('JANE.SMITH@example.com')?.id, created.body.id);

    assert.equal((await api(s, token, 'POST', '/users', {})).status, 400);
    assert.equal((await api(s, token, 'POST', '/users', { email: 'not-an-email' })).status, 400);
    assert.equal((await api(s, token, 'POST', '/users', { email: 'x@example.com', role: 'owner' })).status, 400);
  });

  test('PATCH cannot change email, cannot activate a pending user, and deactivation is irreversible', async () => {
    const s = await start();
    const token = await getToken(s);
    const pending = s.addUser({ email: 'p@example.com', status: 'pending' });
    const active = s.addUser({ email: 'a@example.com' });

    const email = await api(s, token, 'PATCH', `/users/${active.id}`, { email: 'b@example.com' });
    assert.equal(email.status, 400);
    assert.match(email.body.error.message, /Cannot update email via PATCH/);

    const activate = await api(s, token, 'PATCH', `/users/${pending.id}`, { status: 'active' });
    assert.equal(activate.status, 400);
    assert.match(activate.body.error.message, /accept the invitation/);

    const role = await api<AutodeskUser>(s, token, 'PATCH', `/users/${active.id}`, { firstName: 'Al', role: 'admin' });
    assert.equal(role.status, 200);
    assert.equal(role.body.role, 'admin');

    const off = await api<AutodeskUser>(s, token, 'PATCH', `/users/${active.id}`, { status: 'inactive' });
    assert.equal(off.status, 200);
    assert.equal(off.body.id, active.id);
    assert.equal(off.body.status, 'inactive');
    assert.ok(off.body.deactivatedAt);

    for (const status of ['active', 'pending']) {
      const back = await api(s, token, 'PATCH', `/users/${active.id}`, { status });
      assert.equal(back.status, 409);
      assert.match(back.body.error.message, /support case/);
    }
    assert.equal(s.userByEmail('a@example.com')?.status, 'inactive');
    const again = await api<AutodeskUser>(s, token, 'PATCH', `/users/${active.id}`, { status: 'inactive' });
    assert.equal(again.status, 200, 'deactivating twice is harmless');
    assert.equal(again.body.deactivatedAt, off.body.deactivatedAt);
  });

  test('DELETE removes the user; a second DELETE is 404', async () => {
    const s = await start();
    const token = await getToken(s);
    const u = s.addUser({ email: 'gone@example.com' });
    const del = await api(s, token, 'DELETE', `/users/${u.id}`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, { success: true, message: 'User deleted' });
    assert.equal((await api(s, token, 'DELETE', `/users/${u.id}`)).status, 404);
    assert.equal(s.users().length, 0);
  });
});

describe('Autodesk sandbox: teams', () => {
  test('a pending user cannot join a team until the invitation is accepted', async () => {
    const s = await start();
    const token = await getToken(s);
    const created = await api<AutodeskUser>(s, token, 'POST', '/users', { email: 'new@example.com' });
    const id = created.body.id;

    const early = await api(s, token, 'POST', `/users/${id}/teams`, { teamId: 'team-789', role: 'member' });
    assert.equal(early.status, 409);
    assert.equal(early.body.error.message, 'User must accept the invitation before team assignment');

    const accepted = await fetch(`${s.baseUrl}/_sandbox/users/${id}/accept`, { method: 'POST' });
    assert.equal(accepted.status, 200);
    assert.equal(((await accepted.json()) as AutodeskUser).status, 'active');
    assert.ok(s.userByEmail('new@example.com')?.lastLogin);

    const unknownTeam = await api(s, token, 'POST', `/users/${id}/teams`, { teamId: 'team-000', role: 'member' });
    assert.equal(unknownTeam.status, 404);

    const joined = await api(s, token, 'POST', `/users/${id}/teams`, { teamId: 'team-789', role: 'member' });
    assert.equal(joined.status, 201);
    assert.equal(joined.body.userId, id);
    assert.equal(joined.body.teamId, 'team-789');
    assert.equal(joined.body.role, 'member');
    assert.ok(joined.body.assignedAt);

    const twice = await api(s, token, 'POST', `/users/${id}/teams`, { teamId: 'team-789', role: 'member' });
    assert.equal(twice.status, 409);

    const teams = await api(s, token, 'GET', `/users/${id}/teams`);
    assert.deepEqual(teams.body, { data: [{ id: 'team-789', name: 'Design Team', role: 'member' }] });

  });

  test('an inactive user cannot be assigned to a team', async () => {
    const s = await start({ teams: [{ id: 't1', name: 'One' }] });
    const token = await getToken(s);
    const u = s.addUser({ email: 'x@example.com', status: 'inactive' });
    const res = await api(s, token, 'POST', `/users/${u.id}/teams`, { teamId: 't1', role: 'member' });
    assert.equal(res.status, 400);
  });
});

describe('Autodesk sandbox: limits and failures', () => {
  test('an exhausted budget answers 429 with Retry-After and X-RateLimit headers', async () => {
    let clock = Date.parse('2024-02-20T10:00:00Z');
    const s = await start({ requestsPerWindow: 3, windowMs: 60_000, now: () => clock });
    const token = await getToken(s);
    const ok = await api(s, token, 'GET', '/users');
    assert.equal(ok.headers.get('x-ratelimit-limit'), '3');
    assert.equal(ok.headers.get('x-ratelimit-remaining'), '2');
    const resetSeconds = Math.ceil((Date.parse('2024-02-20T10:00:00Z') + 60_000) / 1000);
    assert.equal(ok.headers.get('x-ratelimit-reset'), String(resetSeconds));
    await api(s, token, 'GET', '/users');
    await api(s, token, 'GET', '/users');

    clock += 15_500;
    const limited = await api(s, token, 'GET', '/users');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '45');
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(limited.headers.get('x-ratelimit-reset'), String(resetSeconds));
    assert.equal(s.countRequests({ status: 429 }), 1);

    await getToken(s); // the token endpoint is not rate limited
    clock += 44_500;
    assert.equal((await api(s, token, 'GET', '/users')).status, 200, 'a new window opens at reset');
  });

  test('rate-limit headers can be omitted and Retry-After sent as an HTTP date', async () => {
    const clock = Date.parse('2024-02-20T10:00:00Z');
    const s = await start({
      requestsPerWindow: 1,
      windowMs: 10_000,
      rateLimitHeaders: false,
      retryAfterFormat: 'http-date',
      now: () => clock,
    });
    const token = await getToken(s);
    const ok = await api(s, token, 'GET', '/users');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-ratelimit-limit'), null);
    assert.equal(ok.headers.get('x-ratelimit-remaining'), null);
    const limited = await api(s, token, 'GET', '/users');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), null);
    assert.equal(limited.headers.get('retry-after'), new Date(clock + 10_000).toUTCString());
  });

  test('more concurrent requests than the cap get 429 with Retry-After: 1', async () => {
    const s = await start({ maxConcurrent: 3, latencyMs: 150 });
    const token = await getToken(s);
    const results = await Promise.all(Array.from({ length: 6 }, () => api(s, token, 'GET', '/users')));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
    const rejected = results.find((r) => r.status === 429)!;
    assert.equal(rejected.headers.get('retry-after'), '1');
    assert.ok(s.maxInFlightSeen > 3, 'maxInFlightSeen reports the client exceeding the cap');
    assert.equal(s.countRequests({ method: 'GET', pathPrefix: '/users' }), 6);
  });

  test('injected failures answer the next N API requests, then the API recovers', async () => {
    const s = await start();
    const token = await getToken(s);
    s.injectFailures(2);
    const a = await api(s, token, 'GET', '/users');
    const b = await api(s, token, 'GET', '/users');
    assert.equal(a.status, 503);
    assert.equal(a.body.error.code, 'service_unavailable');
    assert.equal(b.status, 503);
    assert.equal((await api(s, token, 'GET', '/users')).status, 200);
    s.injectFailures(1, 500);
    assert.equal((await api(s, token, 'GET', '/users')).status, 500);
  });

  test('waitFor resolves on a matching change and rejects readably on timeout', async () => {
    const s = await start();
    const token = await getToken(s);
    const waiting = s.waitFor((sb) => sb.userByEmail('late@example.com'));
    await api(s, token, 'POST', '/users', { email: 'late@example.com' });
    assert.equal((await waiting).status, 'pending');
    await assert.rejects(
      s.waitFor(() => false, { timeoutMs: 20, message: 'nothing' }),
      /waitFor timed out after 20 ms waiting for nothing/,
    );
  });

  test('reset clears users and counters but keeps tokens valid', async () => {
    const s = await start();
    const token = await getToken(s);
    s.seedUsers(3);
    await api(s, token, 'GET', '/users');
    const res = await fetch(`${s.baseUrl}/_sandbox/reset`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(s.users().length, 0);
    assert.equal(s.requests.length, 0);
    assert.equal((await api(s, token, 'GET', '/users')).status, 200);
    const state = (await (await fetch(`${s.baseUrl}/_sandbox/state`)).json()) as { requestCount: number };
    assert.equal(state.requestCount, 1);
  });
});

describe('Autodesk sandbox: webhooks', () => {
  const received: { headers: IncomingHttpHeaders; raw: string }[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  const listening = new Promise<string>((resolve) =>
    receiver.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/autodesk`)),
  );
  after(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  test('lifecycle events are delivered in order with a verifiable HMAC signature', async () => {
    const secret = 'whsec-test';
    const s = await start({ webhookUrl: await listening, webhookSecret: secret });
    const token = await getToken(s);
    const created = await api<AutodeskUser>(s, token, 'POST', '/users', { email: 'Hook@Example.com' });
    s.accept('hook@example.com');
    await api(s, token, 'PATCH', `/users/${created.body.id}`, { status: 'inactive' });
    await s.flushWebhooks();

    const events = received.map((r) => JSON.parse(r.raw) as { id: string; event: string; data: AutodeskUser });
    assert.deepEqual(
      events.map((e) => e.event),
      ['user.created', 'user.invited', 'user.accepted_invitation', 'user.deactivated'],
    );
    for (const [i, r] of received.entries()) {
      const expected = `sha256=${createHmac('sha256', secret).update(r.raw).digest('hex')}`;
      const got = String(r.headers['x-autodesk-signature']);
      assert.ok(timingSafeEqual(Buffer.from(got), Buffer.from(expected)), 'signature matches raw body');
      assert.equal(r.headers['x-autodesk-event'], events[i]!.event);
      assert.match(events[i]!.id, /^evt-/);
    }
    assert.equal(events[2]!.data.status, 'active');
    assert.equal(events[3]!.data.email, 'Hook@Example.com');
    assert.ok(events[3]!.data.deactivatedAt);
    assert.deepEqual(
      s.webhookDeliveries.map((d) => d.status),
      [204, 204, 204, 204],
    );
  });

  test('a failed delivery is recorded, not thrown', async () => {
    const s = await start({ webhookUrl: 'http://127.0.0.1:1/nowhere' });
    s.addUser({ email: 'p@example.com', status: 'pending' });
    s.accept('p@example.com');
    await s.flushWebhooks();
    assert.equal(s.webhookDeliveries.length, 1);
    assert.equal(s.webhookDeliveries[0]!.status, null);
    assert.ok(s.webhookDeliveries[0]!.error);
  });
});
