/** The durable job runner on a real SQLite file: due times, retries with backoff, leases, dedupe, shutdown. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { PermanentError, RetryAt } from '../../src/jobs/errors.js';
import { cancelJobs, enqueue, type JobRow } from '../../src/jobs/queue.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { silentLogger } from '../../src/util/log.js';

function freshDb(): Db {
  return openDatabase(join(mkdtempSync(join(tmpdir(), 'accessbot-jobs-')), 'jobs.db'));
}

const clock = { now: () => Date.now() };
const payload = z.object({ n: z.number() });

function job(db: Db, id: number): JobRow {
  return db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow;
}

/** Resolves when `count` runs of a handler have happened. */
function counter(count: number) {
  let seen = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return { hit: (): void => { if (++seen >= count) resolve(); }, done, get seen() { return seen; } };
}

test('a due job starts within a second of being enqueued, and once per key', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 1000 });
  const ran: number[] = [];
  const hits = counter(1);
  runner.register('t', { schema: payload, run: async ({ n }) => { ran.push(n); hits.hit(); } });
  runner.start();
  const started = Date.now();
  enqueue(db, Date.now(), 't', { n: 1 }, { key: 'k' });
  assert.equal(enqueue(db, Date.now(), 't', { n: 2 }, { key: 'k' }), undefined, 'same key is a no-op');
  runner.wake();
  await hits.done;
  assert.ok(Date.now() - started < 1000);
  await runner.stop();
  assert.deepEqual(ran, [1]);
});

test('failures back off exponentially until attempts run out, then give up once with the error', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10, retryBaseMs: 20, retryMaxMs: 200 });
  const attemptsAt: number[] = [];
  let gaveUp: string | undefined;
  const finished = counter(1);
  runner.register('flaky', {
    schema: payload,
    run: async () => { attemptsAt.push(Date.now()); throw new Error('503 from upstream'); },
    onGiveUp: (_p, error) => { gaveUp = error.message; finished.hit(); },
  });
  runner.start();
  const id = enqueue(db, Date.now(), 'flaky', { n: 1 }, { maxAttempts: 4 })!;
  await finished.done;
  await runner.stop();
  assert.equal(attemptsAt.length, 4);
  assert.equal(gaveUp, '503 from upstream');
  const row = job(db, id);
  assert.equal(row.state, 'failed');
  assert.equal(row.attempts, 4);
  assert.equal(row.last_error, '503 from upstream');
  const gaps = attemptsAt.slice(1).map((at, i) => at - attemptsAt[i]!);
  assert.ok(gaps[2]! >= 40, `third retry waits at least half of 80 ms, got ${gaps}`);
});

test('RetryAt reschedules without spending an attempt; PermanentError gives up at once', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10 });
  let runs = 0;
  const done = counter(2);
  runner.register('later', {
    schema: payload,
    run: async () => { runs++; if (runs === 1) throw new RetryAt(Date.now() + 50, 'rate limited'); done.hit(); },
  });
  runner.register('never', { schema: payload, run: async () => { throw new PermanentError('protected account'); }, onGiveUp: () => done.hit() });
  runner.start();
  const later = enqueue(db, Date.now(), 'later', { n: 1 }, { maxAttempts: 1 })!;
  const never = enqueue(db, Date.now(), 'never', { n: 1 })!;
  await done.done;
  await runner.stop();
  assert.equal(job(db, later).state, 'done', 'the rate-limited job still had its one attempt');
  assert.equal(job(db, never).state, 'failed');
  assert.equal(job(db, never).attempts, 1);
});

test('a job whose process died is claimed again after its lease expires', async () => {
  const db = freshDb();
  const id = enqueue(db, Date.now(), 't', { n: 1 })!;
  // Another worker claimed it and vanished.
  db.prepare("UPDATE jobs SET state = 'running', locked_by = 'dead-worker', lease_until = ? WHERE id = ?").run(Date.now() + 100, id);
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10 });
  const hits = counter(1);
  runner.register('t', { schema: payload, run: async () => hits.hit() });
  runner.start({ recoverInterrupted: false });
  const started = Date.now();
  await hits.done;
  await runner.stop();
  assert.ok(Date.now() - started >= 90, 'not before the lease ran out');
  assert.equal(job(db, id).state, 'done');
});

test('coalesce absorbs a queued duplicate; replace moves it; cancel stops it', async () => {
  const db = freshDb();
  const now = Date.now();
  const first = enqueue(db, now, 't', { n: 1 }, { key: 'sync', mode: 'coalesce', runAt: now + 5000 });
  assert.equal(enqueue(db, now, 't', { n: 2 }, { key: 'sync', mode: 'coalesce', runAt: now + 1000 }), first);
  assert.equal(job(db, first!).run_at, now + 1000, 'the sooner run wins');
  const reminder = enqueue(db, now, 'remind', { n: 1 }, { key: 'task:1', mode: 'replace', runAt: now + 10 });
  enqueue(db, now, 'remind', { n: 2 }, { key: 'task:1', mode: 'replace', runAt: now + 99 });
  assert.equal(job(db, reminder!).run_at, now + 99);
  assert.equal(JSON.parse(job(db, reminder!).payload).n, 2);
  assert.equal(cancelJobs(db, now, 'task:1'), 1);
  assert.equal(job(db, reminder!).state, 'cancelled');
});

test('jobs of one queue run one at a time, in order; other queues run alongside', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10, concurrency: 4 });
  const log: string[] = [];
  let inQueueA = 0;
  let maxInQueueA = 0;
  const hits = counter(4);
  runner.register('q', {
    schema: z.object({ q: z.string(), n: z.number() }),
    run: async ({ q, n }) => {
      if (q === 'a') maxInQueueA = Math.max(maxInQueueA, ++inQueueA);
      await new Promise((r) => setImmediate(r));
      log.push(`${q}${n}`);
      if (q === 'a') inQueueA--;
      hits.hit();
    },
  });
  const now = Date.now();
  for (const n of [1, 2, 3]) enqueue(db, now, 'q', { q: 'a', n }, { queue: 'a' });
  enqueue(db, now, 'q', { q: 'b', n: 1 }, { queue: 'b' });
  runner.start();
  await hits.done;
  await runner.stop();
  assert.equal(maxInQueueA, 1);
  assert.deepEqual(log.filter((entry) => entry.startsWith('a')), ['a1', 'a2', 'a3']);
});

test('stop() lets a running job finish, takes no new work, and releases what outlives the grace period', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10, stopGraceMs: 100 });
  let release!: () => void;
  const started = counter(1);
  runner.register('slow', { schema: payload, run: () => { started.hit(); return new Promise<void>((r) => (release = r)); } });
  const id = enqueue(db, Date.now(), 'slow', { n: 1 })!;
  runner.start();
  await started.done;
  const stopping = runner.stop();
  enqueue(db, Date.now(), 'slow', { n: 2 });
  await stopping;
  assert.equal(job(db, id).state, 'queued', 'released for the next process');
  assert.equal(job(db, id).locked_by, null);
  release();
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE state = 'running'").get() as { n: number }).n, 0);
});
