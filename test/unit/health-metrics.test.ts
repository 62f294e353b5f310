/**
 * The rules behind /healthz and the Autodesk part of /metrics, on a real SQLite database and real HTTP: when
 * work counts as failing, and how the budget and the answers of the Autodesk API are reported.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { connectorSettings, type Config } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { checkHealth } from '../../src/health.js';
import { JOB } from '../../src/jobs/kinds.js';
import { enqueue } from '../../src/jobs/queue.js';
import { createMetrics } from '../../src/metrics.js';

const NOW = Date.parse('2026-03-02T10:00:00Z');
const MINUTE = 60_000;

function jobAt(db: Db, runAt: number, state = 'queued', updatedAt = runAt): void {
  const id = enqueue(db, runAt, JOB.fulfillItem, { itemId: 1 }, { runAt })!;
  db.prepare('UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?').run(state, updatedAt, id);
}

describe('/healthz', () => {
  test('a queue that is merely busy is ok; a job waiting 15 minutes past its time makes it degraded', () => {
    const db = openDatabase(':memory:');
    jobAt(db, NOW - MINUTE);
    jobAt(db, NOW + 10 * MINUTE);
    const busy = checkHealth(db, NOW);
    assert.deepEqual([busy.httpStatus, busy.body.ok, busy.body.status], [200, true, 'ok']);
    assert.equal(busy.body.jobs!.oldestOverdueMs, MINUTE);
    jobAt(db, NOW - 16 * MINUTE);
    const stuck = checkHealth(db, NOW);
    assert.deepEqual([stuck.httpStatus, stuck.body.ok, stuck.body.status, stuck.body.jobs!.overdue], [200, false, 'degraded', 1]);
    assert.deepEqual(stuck.body.problems, ['1 job is more than 15 minutes overdue']);
  });

  test('a job that gave up keeps it degraded for an hour, then it is ok again', () => {
    const db = openDatabase(':memory:');
    jobAt(db, NOW - 3 * 60 * MINUTE, 'failed', NOW - 10 * MINUTE);
    jobAt(db, NOW - 3 * 60 * MINUTE, 'failed', NOW - 20 * MINUTE);
    const recent = checkHealth(db, NOW);
    assert.equal(recent.body.status, 'degraded');
    assert.deepEqual(recent.body.problems, ['2 jobs failed for good in the last hour']);
    const later = checkHealth(db, NOW + 60 * MINUTE);
    assert.deepEqual([later.body.ok, later.body.status, later.body.jobs!.failed, later.body.jobs!.failedLastHour], [true, 'ok', 2, 0]);
  });

  test('a database that does not answer is 503 down', () => {
    const db = openDatabase(':memory:');
    db.close();
    const down = checkHealth(db, NOW);
    assert.deepEqual([down.httpStatus, down.body.ok, down.body.status], [503, false, 'down']);
  });
});

describe('/metrics: Autodesk', () => {
  let server: Server;
  let origin: string;
  let other: Server;
  before(async () => {
    const listen = (s: Server) => new Promise<string>((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
    server = createServer((req, res) => {
      if (req.url === '/authentication/v2/token') res.writeHead(200).end('{}');
      else if (req.url === '/users') res.writeHead(429, { 'retry-after': '1' }).end('{}');
      else if (req.url === '/hang') return;
      else res.writeHead(503).end('{}');
    });
    origin = await listen(server);
    other = createServer((_req, res) => res.writeHead(500).end());
    await listen(other);
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    other.close();
  });

  const settingsFor = (baseUrl: string) =>
    ({
      env: { SLACK_API_URL: 'http://127.0.0.1:9/api/' },
      access: { apps: [{ id: 'autodesk', connector: 'autodesk' }] },
      connectors: connectorSettings({ AUTODESK_BASE_URL: baseUrl, AUTODESK_RATE_PER_HOUR: '100' }),
    }) as unknown as Config;

  test('calls are counted by endpoint and status as they happen, 429s and timeouts included; other hosts are not', async () => {
    const db = openDatabase(':memory:');
    const metrics = createMetrics({ db, clock: { now: () => NOW }, settings: settingsFor(origin) });
    const dispatcher = new Agent({ headersTimeout: 200 });
    try {
      for (const path of ['/authentication/v2/token', '/users', '/users/1', '/hang']) {
        await request(`${origin}${path}`, { dispatcher }).then((res) => res.body.text(), () => undefined);
      }
      const otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      await request(`${otherOrigin}/users`, { dispatcher }).then((res) => res.body.text());
      const { text } = await metrics.scrape();
      assert.match(text, /^accessbot_autodesk_calls_total\{endpoint="token",status="200"\} 1$/m);
      assert.match(text, /^accessbot_autodesk_calls_total\{endpoint="api",status="429"\} 1$/m);
      assert.match(text, /^accessbot_autodesk_calls_total\{endpoint="api",status="503"\} 1$/m);
      assert.match(text, /^accessbot_autodesk_calls_total\{endpoint="api",status="timeout"\} 1$/m);
      assert.doesNotMatch(text, /status="500"/, 'a call to another host is not an Autodesk call');
      assert.match(text, /^accessbot_autodesk_rate_limited_total 1$/m);
    } finally {
      metrics.close();
      await dispatcher.close();
    }
  });

  test("the budget left is the sliding hour's room or the server's, whichever is less, and a pause shows", async () => {
    const db = openDatabase(':memory:');
    const second = Math.floor(NOW / 1000);
    db.prepare('INSERT INTO autodesk_calls (second, calls) VALUES (?, 20), (?, 10), (?, 50)').run(second - 10, second, second - 3601);
    db.prepare('INSERT INTO autodesk_budget (id, window_end, used, paused_until, server_limit) VALUES (1, ?, 95, ?, 100)').run(NOW + MINUTE, NOW + 5000);
    const metrics = createMetrics({ db, clock: { now: () => NOW }, settings: settingsFor(origin) });
    try {
      const { text } = await metrics.scrape();
      assert.match(text, /^accessbot_autodesk_budget_limit 100$/m);
      assert.match(text, /^accessbot_autodesk_budget_used 30$/m, 'calls older than an hour left the window');
      assert.match(text, /^accessbot_autodesk_budget_remaining 5$/m, "the server's window is nearly spent");
      assert.match(text, /^accessbot_autodesk_paused_seconds 5$/m);
      db.prepare('UPDATE autodesk_budget SET window_end = ?').run(NOW - 1);
      assert.match((await metrics.scrape()).text, /^accessbot_autodesk_budget_remaining 70$/m, "an expired server window no longer counts");
    } finally {
      metrics.close();
    }
  });
});
