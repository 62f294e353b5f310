/**
 * Bounded input through the running bot: request bodies over 1 MiB are refused before they are read whole; a
 * request names at most 500 people, checked within Slack's 3 seconds even when Slack is slow or rate-limits;
 * protected e-mails are refused at intake; a new hire's e-mail that belongs to someone in Slack is that person.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FieldValue } from '../../src/sandboxes/slack/driver.js';
import type { SandboxUser } from '../../src/sandboxes/slack/server.js';
import { Harness, IT_CHANNEL, PEOPLE } from '../support/harness.js';
import { dmsTo, hasButtons, itemStates, requestAccess } from '../support/flows.js';

/** A workspace with 500 more people, and the owner of a protected e-mail. */
const BULK: SandboxUser[] = Array.from({ length: 500 }, (_, i) => {
  const n = String(i).padStart(3, '0');
  return { id: `U1BULK${n}`, name: `bulk${n}`, realName: `Bulk Person${n}`, firstName: 'Bulk', lastName: `Person${n}`, email: `bulk${n}@example.com` };
});
const BREAKGLASS: SandboxUser = { id: 'U0BREAK', name: 'breakglass', realName: 'Break Glass', email: 'BreakGlass@Example.com' };

let h: Harness;
before(async () => {
  h = await Harness.start({ env: { AUTODESK_WEBHOOK_SECRET: 'webhook-secret' }, users: [...BULK, BREAKGLASS] });
  await h.bot.waitForLine((line) => line.msg === 'Slack users listed', 20_000);
});
after(async () => {
  await h.close();
});

/** Sends only the head of a POST that announces `length` bytes, and returns the status line the bot answers with. */
function announceBody(path: string, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(h.port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.slice(0, answer.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.setTimeout(5000, () => reject(new Error(`no answer to the head of a ${length}-byte POST within 5 s`)));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
  });
}

/** Streams a chunked body that never ends, until the bot answers; resolves with its status and the bytes sent. */
function endlessBody(path: string): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request({ host: '127.0.0.1', port: h.port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      answered = true;
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode ?? 0, sent });
    });
    // The bot closing the connection mid-body is expected; only an error before any answer is a failure.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.setTimeout(5000, () => {
      req.destroy();
      reject(new Error(`no answer within 5 s to an endless body (${sent} bytes sent)`));
    });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (!answered && sent < 64 * 1024 * 1024) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

describe('request bodies over 1 MiB', () => {
  for (const path of ['/slack/events', '/webhooks/autodesk']) {
    test(`${path}: a declared 2 MiB body is answered 413 before a byte of it is sent`, async () => {
      assert.match(await announceBody(path, 2 * 1024 * 1024), /^HTTP\/1\.1 413 /);
    });

    test(`${path}: a chunked body that never ends is cut off with 413 soon after 1 MiB`, async () => {
      const { status, sent } = await endlessBody(path);
      assert.equal(status, 413);
      // Socket buffers hold a few MiB at most: an answer only after the whole 64 MiB means the bot read it all.
      assert.ok(sent < 32 * 1024 * 1024, `answered after ${sent} bytes`);
    });
  }

  test('after oversized bodies the bot still serves health checks and requests', async () => {
    await Promise.all([announceBody('/slack/events', 2 * 1024 * 1024), endlessBody('/webhooks/autodesk')]);
    const health = await fetch(`${h.botUrl}/healthz`);
    assert.equal(health.status, 200);
    await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['axure'] });
  });
});

/** Opens the form, submits it, and measures how long the bot took to answer the submission. */
async function submit(user: string, values: Record<string, FieldValue>) {
  await h.driver.slashCommand(user, '');
  const modal = await h.slack.waitFor(() => h.slack.openViewOf(user, 'access_request'), { description: 'request modal opened' });
  const started = performance.now();
  const response = await h.driver.submitView(user, modal, { justification: 'Team move', ...values });
  const ackMs = performance.now() - started;
  if (response.outcome !== 'closed') await h.driver.closeView(user, modal).catch(() => undefined);
  const errors = (response.json as { errors?: Record<string, string> } | undefined)?.errors ?? {};
  return { response, ackMs, errors };
}

const requestCount = () => h.query<{ n: number }>('SELECT COUNT(*) AS n FROM requests')[0]!.n;

describe('how many people a request names, and Slack being slow', () => {
  test('a 500-person request is answered within 2.5 s while Slack answers look-ups slowly and with 429s, and stored whole', async () => {
    for (const method of ['users.info', 'users.lookupByEmail']) h.slack.throttle(method, { latencyMs: 400, perSecond: 1 });
    try {
      const before = requestCount();
      const picked = BULK.slice(0, 499).map((user) => user.id);
      const { response, ackMs, errors } = await submit(PEOPLE.requester, {
        kind: 'onboard', apps: ['autodesk', 'axure'], subjects: picked,
        new_hire_email: 'new.hire@example.com', new_hire_first_name: 'New', new_hire_last_name: 'Hire',
      });
      assert.equal(response.outcome, 'closed', JSON.stringify(errors));
      assert.ok(ackMs < 2500, `answered after ${Math.round(ackMs)} ms`);
      assert.equal(requestCount(), before + 1);
      const perApp = h.query<{ app_id: string; n: number }>(
        'SELECT app_id, COUNT(*) AS n FROM items WHERE request_id = (SELECT id FROM requests ORDER BY created_at DESC, rowid DESC LIMIT 1) GROUP BY app_id ORDER BY app_id',
      );
      assert.deepEqual(perApp, [{ app_id: 'autodesk', n: 500 }, { app_id: 'axure', n: 500 }]);
    } finally {
      for (const method of ['users.info', 'users.lookupByEmail']) h.slack.throttle(method, undefined);
    }
  });

  test('501 people are refused on the People field with the count, and nothing is stored', async () => {
    const before = requestCount();
    const { response, errors } = await submit(PEOPLE.requester, {
      kind: 'offboard', apps: ['axure'], subjects: [...BULK.map((user) => user.id), PEOPLE.carol],
    });
    assert.equal(response.outcome, 'errors');
    assert.equal(errors.subjects, 'A request can name at most 500 people; this one names 501. Split it into several requests.');
    assert.equal(requestCount(), before);
  });

  test('someone who joined Slack after the listing, while Slack rate-limits: "Slack is slow", never "not found"; then found', async () => {
    const late = h.slack.addUser({ id: 'U0LATE', name: 'lena', realName: 'Lena Late', email: 'lena@example.com' });
    h.slack.failNext('users.info', 1, { status: 429, retryAfter: 0 });
    const before = requestCount();
    const slow = await submit(PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [late.id, PEOPLE.carol] });
    assert.equal(slow.response.outcome, 'errors');
    assert.match(slow.errors.subjects ?? '', /Slack is answering slowly right now, so 1 of the 2 people could not be checked yet/);
    assert.doesNotMatch(slow.errors.subjects ?? '', /could not be found/);
    assert.equal(requestCount(), before, 'nothing stored');
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [late.id, PEOPLE.carol] });
    assert.deepEqual(h.query<{ subject_email: string }>('SELECT subject_email FROM items WHERE request_id = ? ORDER BY subject_email', id).map((row) => row.subject_email), [
      'carol@example.com', 'lena@example.com',
    ]);
  });

  test('a Slack look-up slower than the budget still gets an answer within 2.5 s, on the field', async () => {
    const late = h.slack.addUser({ id: 'U0SLOWPOKE', name: 'sid', realName: 'Sid Slow', email: 'sid@example.com' });
    h.slack.throttle('users.info', { latencyMs: 4000 });
    try {
      const { response, ackMs, errors } = await submit(PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [late.id] });
      assert.equal(response.outcome, 'errors');
      assert.ok(ackMs < 2500, `answered after ${Math.round(ackMs)} ms`);
      assert.match(errors.subjects ?? '', /Slack is answering slowly/);
    } finally {
      h.slack.throttle('users.info', undefined);
    }
  });
});

describe('who a request may name', () => {
  test('a protected e-mail is refused on the field that named it: a picked person, or a new hire typed in another case', async () => {
    const before = requestCount();
    const picked = await submit(PEOPLE.requester, { kind: 'offboard', apps: ['axure', 'autodesk'], subjects: [BREAKGLASS.id] });
    assert.equal(picked.response.outcome, 'errors');
    assert.match(picked.errors.subjects ?? '', /Break Glass \(BreakGlass@Example\.com\) is a protected account/);
    const hire = await submit(PEOPLE.requester, {
      kind: 'onboard', apps: ['axure'], new_hire_email: 'BREAKGLASS@example.com', new_hire_first_name: 'Break', new_hire_last_name: 'Glass',
    });
    assert.equal(hire.response.outcome, 'errors');
    assert.match(hire.errors.new_hire_email ?? '', /is a protected account/);
    assert.equal(requestCount(), before);
  });

  test("an approver's own e-mail entered as a new hire: that approver gets no card to decide, and a click is refused", async () => {
    const id = await requestAccess(h, PEOPLE.requester, {
      kind: 'onboard', apps: ['autodesk'], new_hire_email: 'MONA@example.com', new_hire_first_name: 'Mona', new_hire_last_name: 'Again',
    });
    assert.deepEqual(h.query('SELECT subject_slack_id FROM items WHERE request_id = ?', id), [{ subject_slack_id: PEOPLE.manager }]);
    // The manager is the only approver of step 1, so the step goes to IT; the requester is told once it has.
    const itCard = await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(id)), { description: 'card in the IT channel' });
    await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id) && t.includes('sent to the IT channel')), { description: 'requester told' });
    assert.ok(!h.slack.messagesTo(PEOPLE.manager).some((m) => m.text.includes(id) && hasButtons(m)), 'no card with buttons for the manager');
    const seen = h.slack.ephemerals.length;
    await h.driver.clickButton(PEOPLE.manager, itCard, 'Approve');
    await h.slack.waitFor(() => h.slack.ephemerals.slice(seen).find((e) => e.user === PEOPLE.manager), { description: 'the manager told why not' });
    assert.deepEqual(itemStates(h, id), ['awaiting_approval']);
    assert.equal(h.query<{ n: number }>("SELECT COUNT(*) AS n FROM approvals WHERE request_id = ? AND state != 'pending'", id)[0]!.n, 0);
  });
});
