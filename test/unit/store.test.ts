/** The store at scale: request ids that never collide, retried submissions found by key, pruning, one process per file. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAccessConfig } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { writeAudit } from '../../src/db/audit.js';
import { pruneSettled } from '../../src/db/housekeeping.js';
import { autodeskPlugin } from '../../src/connectors/autodesk/plugin.js';
import { acquireProcessLock, DatabaseInUseError } from '../../src/db/process-lock.js';
import { HOUSEKEEPING_JOB, JOB } from '../../src/jobs/kinds.js';
import { enqueue } from '../../src/jobs/queue.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { createItAdmins } from '../../src/requests/it-admins.js';
import { newRequestId, submitRequest, type NewRequest, type RequestDeps } from '../../src/requests/service.js';
import { silentLogger } from '../../src/util/log.js';

const DAY = 86_400_000;

function freshDb(): { db: Db; path: string } {
  const path = join(mkdtempSync(join(tmpdir(), 'accessbot-store-')), 'store.db');
  return { db: openDatabase(path), path };
}

function deps(db: Db, now = Date.parse('2026-03-02T10:00:00Z')): RequestDeps {
  const config = parseAccessConfig({
    itChannel: 'C0ITOPS', itAdmins: ['U0ADMIN'],
    apps: [{ id: 'axure', name: 'Axure RP', connector: 'manual', approvers: ['U0OWNER'], assignees: ['U0IT1'] }],
  });
  return { db, config, clock: { now: () => now }, log: silentLogger, connectors: new Map(), itAdmins: createItAdmins(config.itAdmins), wake: () => undefined };
}

const request = (submissionId?: string): NewRequest => ({
  kind: 'onboard', requesterId: 'U0ALICE', appIds: ['axure'], effectiveDate: '2026-03-02', justification: 'project work', options: {},
  subjects: [{ slackId: 'U0BOB', email: 'bob@example.com', firstName: 'Bob', lastName: 'Builder' }], submissionId,
});

const count = (db: Db, sql: string, ...params: unknown[]) => (db.prepare(sql).get(...params) as { n: number }).n;

test('request ids are AR- and ten readable characters, and an id already taken is drawn again inside the same submission', () => {
  assert.match(newRequestId(), /^AR-[2-9A-HJ-NP-Z]{10}$/);
  const { db } = freshDb();
  const taken = submitRequest(deps(db), request()).requestId;
  const drawn = [taken, taken, 'AR-FRESHID234'];
  const { requestId, duplicate } = submitRequest({ ...deps(db), newRequestId: () => drawn.shift()! }, request());
  assert.equal(requestId, 'AR-FRESHID234');
  assert.equal(duplicate, false);
  assert.equal(count(db, 'SELECT COUNT(*) AS n FROM items WHERE request_id = ?', requestId), 1, 'the request is whole under its new id');
  assert.equal(count(db, 'SELECT COUNT(*) AS n FROM items WHERE request_id = ?', taken), 1, 'the first request kept its own items');
});

test('a retried submission returns the first request, found by key even with a long audit', () => {
  const { db } = freshDb();
  const d = deps(db);
  // A year of history: the duplicate check must not read it.
  const insert = db.transaction(() => {
    for (let i = 0; i < 20_000; i++) writeAudit(db, i, { actor: 'U0ALICE', action: 'request.submitted', requestId: `AR-OLD${i}`, detail: { submissionId: `V-old-${i}` } });
  });
  insert();
  const first = submitRequest(d, request('V-123'));
  const timings: number[] = [];
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    const again = submitRequest(d, request('V-123'));
    timings.push(performance.now() - started);
    assert.deepEqual(again, { requestId: first.requestId, duplicate: true });
  }
  assert.equal(count(db, 'SELECT COUNT(*) AS n FROM requests'), 1);
  timings.sort((a, b) => a - b);
  // Scanning the 20k audit rows with json_extract takes tens of ms; a key lookup well under one.
  assert.ok(timings[15]! < 3, `median duplicate check ${timings[15]!.toFixed(2)} ms`);
});

test('a submission stored before the upgrade is still recognised as a retry after it', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'accessbot-store-')), 'old.db');
  const old = openDatabase(path, { upTo: 4 });
  old.prepare("INSERT INTO requests (id, kind, requester_id, justification, effective_date, created_at, updated_at) VALUES ('AR-OLD123', 'onboard', 'U0ALICE', 'why', '2026-01-01', 1, 1)").run();
  writeAudit(old, 1, { actor: 'U0ALICE', action: 'request.submitted', requestId: 'AR-OLD123', detail: { submissionId: 'V-before' } });
  old.close();
  const db = openDatabase(path);
  assert.deepEqual(submitRequest(deps(db), request('V-before')), { requestId: 'AR-OLD123', duplicate: true });
});

test('settled rows are pruned after the retention; open work, unconfirmed intents and the audit are kept', async () => {
  const { db } = freshDb();
  const now = Date.parse('2026-03-20T10:00:00Z');
  const old = now - 8 * DAY;
  const recent = now - DAY;
  const job = (state: string, at: number) => {
    const id = enqueue(db, at, JOB.fulfillItem, { itemId: 1 })!;
    db.prepare('UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?').run(state, at, id);
    return id;
  };
  const oldDone = job('done', old);
  const oldFailed = job('failed', old);
  const oldCancelled = job('cancelled', old);
  const recentDone = job('done', recent);
  const oldQueued = job('queued', old);
  db.prepare('INSERT INTO seen_events (id, at) VALUES (?, ?), (?, ?)').run('autodesk:old', old, 'autodesk:new', recent);
  db.prepare('INSERT INTO submissions (submission_id, request_id, at) VALUES (?, ?, ?)').run('V-old', 'AR-X', old);
  db.prepare("INSERT INTO autodesk_intents (item_id, user_id, email, action, created_at, confirmed_at) VALUES (1, 'u1', 'a@example.com', 'deactivate', ?, ?), (2, 'u2', 'b@example.com', 'deactivate', ?, NULL)").run(old, old, old);
  writeAudit(db, old, { actor: 'accessbot', action: 'item.completed', requestId: 'AR-X' });

  const clock = { now: () => now };
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10, housekeeping: { retentionMs: 7 * DAY, everyMs: 3_600_000, pruners: [autodeskPlugin.housekeeping] } });
  runner.start();
  const deadline = Date.now() + 5000;
  while (count(db, "SELECT COUNT(*) AS n FROM jobs WHERE kind = ? AND state = 'queued' AND run_at = ?", HOUSEKEEPING_JOB.kind, now + 3_600_000) === 0) {
    if (Date.now() > deadline) throw new Error('housekeeping did not run');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await runner.stop();

  const jobIds = (db.prepare('SELECT id FROM jobs').all() as { id: number }[]).map((row) => row.id);
  for (const gone of [oldDone, oldFailed, oldCancelled]) assert.ok(!jobIds.includes(gone), `settled job ${gone} pruned`);
  assert.ok(jobIds.includes(recentDone) && jobIds.includes(oldQueued), 'recent and open jobs kept');
  assert.deepEqual(db.prepare('SELECT id FROM seen_events').all(), [{ id: 'autodesk:new' }]);
  assert.equal(count(db, 'SELECT COUNT(*) AS n FROM submissions'), 0);
  assert.deepEqual(db.prepare('SELECT item_id FROM autodesk_intents').all(), [{ item_id: 2 }], 'an unconfirmed intent is the crash guard: kept');
  assert.equal(count(db, 'SELECT COUNT(*) AS n FROM audit'), 1, 'the audit is never pruned');
  assert.deepEqual(pruneSettled(db, now, 7 * DAY, [autodeskPlugin.housekeeping]), { jobs: 0, seenEvents: 0, submissions: 0, autodeskIntents: 0 }, 'nothing left to prune');
});

test('a second owner of the database is refused while the first lives; a dead or silent owner is taken over', () => {
  const { db, path } = freshDb();
  const other = openDatabase(path);
  // A live process on this machine (our parent stands in for it) owns the file.
  db.prepare("INSERT INTO process_lock (id, token, pid, host, started_at, heartbeat_at) VALUES (1, 't', ?, ?, ?, ?)").run(process.ppid, hostname(), Date.now(), Date.now());
  assert.throws(
    () => acquireProcessLock(other, path),
    (error: Error) => error instanceof DatabaseInUseError && error.message.includes(`another accessbot process (pid ${process.ppid} on ${hostname()}`) && error.message.includes(path),
  );
  db.prepare('DELETE FROM process_lock').run();
  // Released on a clean stop: the next process starts at once.
  acquireProcessLock(db, path).release();
  assert.equal(count(db, 'SELECT COUNT(*) AS n FROM process_lock'), 0);

  // Killed on this machine: its pid is gone.
  db.prepare("INSERT INTO process_lock (id, token, pid, host, started_at, heartbeat_at) VALUES (1, 't', 2147483646, ?, ?, ?)").run(hostname(), Date.now(), Date.now());
  acquireProcessLock(other, path).release();
  // Another machine, no heartbeat for a minute.
  db.prepare("INSERT INTO process_lock (id, token, pid, host, started_at, heartbeat_at) VALUES (1, 't', 1, 'elsewhere', ?, ?)").run(Date.now() - 120_000, Date.now() - 60_000);
  acquireProcessLock(other, path).release();
  // Another machine, beating: refused.
  db.prepare("INSERT INTO process_lock (id, token, pid, host, started_at, heartbeat_at) VALUES (1, 't', 1, 'elsewhere', ?, ?)").run(Date.now(), Date.now());
  assert.throws(() => acquireProcessLock(other, path), /pid 1 on elsewhere/);
});
