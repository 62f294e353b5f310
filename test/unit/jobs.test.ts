/** The durable job runner on a real SQLite file: due times, retries with backoff, leases, dedupe, pools, fencing, shutdown. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { PermanentError, RetryAt } from '../../src/jobs/errors.js';
import { JOB, defineJob } from '../../src/jobs/kinds.js';
import { REQUEST_JOB } from '../../src/requests/notices.js';
import { SLACK_JOB } from '../../src/slack/kinds.js';
import { cancelJobs, enqueue, type JobRow } from '../../src/jobs/queue.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { silentLogger } from '../../src/util/log.js';
import { escapeMrkdwn, mrkdwn, trustedMrkdwn } from '../../src/util/mrkdwn.js';
import type { Clock } from '../../src/util/time.js';

function freshDb(): Db {
  return openDatabase(join(mkdtempSync(join(tmpdir(), 'accessbot-jobs-')), 'jobs.db'));
}

const clock = { now: () => Date.now() };
const payload = z.object({ n: z.number() });
type TestPayload = z.infer<typeof payload>;
// Kinds that exist only in these tests (rows in their own temporary databases).
declare module '../../src/jobs/kinds.js' {
  interface JobPayloads {
    'test.t': TestPayload;
    'test.flaky': TestPayload;
    'test.later': TestPayload;
    'test.never': TestPayload;
    'test.remind': TestPayload;
    'test.q': { q: string; n: number };
    'test.slow': TestPayload;
    'test.long': TestPayload;
    'test.marker': TestPayload;
    'test.poison': TestPayload;
    'test.outage': TestPayload;
    'test.poll': TestPayload;
    'test.limited': TestPayload;
    'test.first': TestPayload;
    'test.then': TestPayload;
  }
}
const TEST_T = defineJob('test.t', payload);
const TEST_FIRST = defineJob('test.first', payload);
const TEST_THEN = defineJob('test.then', payload);
const TEST_FLAKY = defineJob('test.flaky', payload);
const TEST_LATER = defineJob('test.later', payload);
const TEST_NEVER = defineJob('test.never', payload);
const TEST_REMIND = defineJob('test.remind', payload);
const TEST_Q = defineJob('test.q', z.object({ q: z.string(), n: z.number() }));
const TEST_SLOW = defineJob('test.slow', payload);
const TEST_LONG = defineJob('test.long', payload);
const TEST_MARKER = defineJob('test.marker', payload);
const TEST_POISON = defineJob('test.poison', payload);
const TEST_OUTAGE = defineJob('test.outage', payload);
const TEST_POLL = defineJob('test.poll', payload);
const TEST_LIMITED = defineJob('test.limited', payload);

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
  runner.register(TEST_T, { run: async ({ n }) => { ran.push(n); hits.hit(); } });
  runner.start();
  const started = Date.now();
  enqueue(db, Date.now(), TEST_T, { n: 1 }, { key: 'k' });
  assert.equal(enqueue(db, Date.now(), TEST_T, { n: 2 }, { key: 'k' }), undefined, 'same key is a no-op');
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
  runner.register(TEST_FLAKY, {
    run: async () => { attemptsAt.push(Date.now()); throw new Error('503 from upstream'); },
    onGiveUp: (_p, error) => { gaveUp = error.message; finished.hit(); },
  });
  runner.start();
  const id = enqueue(db, Date.now(), TEST_FLAKY, { n: 1 }, { maxAttempts: 4 })!;
  await finished.done;
  await runner.stop();
  assert.equal(attemptsAt.length, 4);
  assert.equal(gaveUp, '503 from upstream');
  const row = job(db, id);
  assert.equal(row.state, 'failed');
  assert.equal(row.attempts, 4);
  assert.equal(row.last_error, '503 from upstream');
  const gaps = attemptsAt.slice(1).map((at, i) => at - attemptsAt[i]!);
  assert.ok(gaps[2]! >= 40, `third retry waits at least half of 80 ms, got ${gaps.join(', ')}`);
});

test('RetryAt reschedules without spending an attempt; PermanentError gives up at once', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10 });
  let runs = 0;
  const done = counter(2);
  runner.register(TEST_LATER, {
    run: async () => { runs++; if (runs === 1) throw new RetryAt(Date.now() + 50, 'rate limited'); done.hit(); },
  });
  runner.register(TEST_NEVER, { run: async () => { throw new PermanentError('protected account'); }, onGiveUp: () => done.hit() });
  runner.start();
  const later = enqueue(db, Date.now(), TEST_LATER, { n: 1 }, { maxAttempts: 1 })!;
  const never = enqueue(db, Date.now(), TEST_NEVER, { n: 1 })!;
  await done.done;
  await runner.stop();
  assert.equal(job(db, later).state, 'done', 'the rate-limited job still had its one attempt');
  assert.equal(job(db, never).state, 'failed');
  assert.equal(job(db, never).attempts, 1);
});

test('a job whose process died is claimed again after its lease expires', async () => {
  const db = freshDb();
  const id = enqueue(db, Date.now(), TEST_T, { n: 1 })!;
  // Another worker claimed it and vanished.
  db.prepare("UPDATE jobs SET state = 'running', locked_by = 'dead-worker', lease_until = ? WHERE id = ?").run(Date.now() + 100, id);
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10 });
  const hits = counter(1);
  runner.register(TEST_T, { run: async () => hits.hit() });
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
  const first = enqueue(db, now, TEST_T, { n: 1 }, { key: 'sync', mode: 'coalesce', runAt: now + 5000 });
  assert.equal(enqueue(db, now, TEST_T, { n: 2 }, { key: 'sync', mode: 'coalesce', runAt: now + 1000 }), first);
  assert.equal(job(db, first!).run_at, now + 1000, 'the sooner run wins');
  const reminder = enqueue(db, now, TEST_REMIND, { n: 1 }, { key: 'task:1', mode: 'replace', runAt: now + 10 });
  enqueue(db, now, TEST_REMIND, { n: 2 }, { key: 'task:1', mode: 'replace', runAt: now + 99 });
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
  runner.register(TEST_Q, {
    run: async ({ q, n }) => {
      if (q === 'a') maxInQueueA = Math.max(maxInQueueA, ++inQueueA);
      await new Promise((r) => setImmediate(r));
      log.push(`${q}${n}`);
      if (q === 'a') inQueueA--;
      hits.hit();
    },
  });
  const now = Date.now();
  for (const n of [1, 2, 3]) enqueue(db, now, TEST_Q, { q: 'a', n }, { queue: 'a' });
  enqueue(db, now, TEST_Q, { q: 'b', n: 1 }, { queue: 'b' });
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
  const ran: number[] = [];
  runner.register(TEST_SLOW, { run: ({ n }) => { ran.push(n); started.hit(); return new Promise<void>((r) => (release = r)); } });
  const id = enqueue(db, Date.now(), TEST_SLOW, { n: 1 })!;
  runner.start();
  await started.done;
  const stopping = runner.stop();
  const lateId = enqueue(db, Date.now(), TEST_SLOW, { n: 2 })!;
  runner.wake();
  await stopping;
  assert.equal(job(db, id).state, 'queued', 'released for the next process');
  assert.equal(job(db, id).locked_by, null);
  assert.equal(job(db, lateId).state, 'queued', 'work enqueued during the stop is left for the next process');
  assert.deepEqual(ran, [1], 'the stopping runner started nothing new');
  release();
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE state = 'running'").get() as { n: number }).n, 0);
});

/** A clock tests move by hand (a wall clock that jumps). */
class FakeClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}

/** A promise with its resolve, for jobs a test holds mid-flight. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Resolves once `check` is true, looking every few ms; fails with `what` after the timeout. */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('a backlog of connector jobs filling every connector worker does not delay a Slack message', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10, concurrency: 2 });
  const held = gate();
  const connectorStarted = counter(2);
  runner.register(JOB.fulfillItem, { run: async () => { connectorStarted.hit(); await held.opened; } });
  const sent = counter(1);
  runner.register(SLACK_JOB.sendMessage, { run: async () => sent.hit() });
  const now = Date.now();
  for (let n = 0; n < 20; n++) enqueue(db, now, JOB.fulfillItem, { itemId: n });
  runner.start();
  await connectorStarted.done;
  // Due after the whole backlog, as a card posted mid-way through a bulk run is.
  enqueue(db, Date.now() + 1, SLACK_JOB.sendMessage, { channel: 'U1', text: trustedMrkdwn('your request was approved') });
  runner.wake();
  const outcome = await Promise.race([sent.done.then(() => 'sent'), new Promise((resolve) => setTimeout(resolve, 3000, 'stuck behind the backlog'))]);
  held.open();
  await runner.stop();
  assert.equal(outcome, 'sent');
  assert.equal(connectorStarted.seen, 2, 'the connector workers were all taken the whole time');
  assert.equal((db.prepare("SELECT pool FROM jobs WHERE kind = ?").get(SLACK_JOB.sendMessage.kind) as { pool: string }).pool, 'slack');
});

test("a coalesced job waiting out Slack's Retry-After is not pulled earlier by the next change", async () => {
  const db = freshDb();
  const wall = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  const runner = new JobRunner(db, wall, silentLogger, { pollMs: 10 });
  const retryAfter = wall.now() + 30_000;
  const ran = counter(1);
  runner.register(REQUEST_JOB.refreshHome, {
    run: async () => { ran.hit(); throw new RetryAt(retryAfter, 'Slack rate limit: retry after 30s'); },
  });
  const id = enqueue(db, wall.now(), REQUEST_JOB.refreshHome, { userId: 'U1' }, { key: 'home:U1', mode: 'coalesce' })!;
  runner.start();
  await ran.done;
  await until(() => job(db, id).state === 'queued', 'the job to be rescheduled');
  await runner.stop();
  assert.equal(job(db, id).run_at, retryAfter);
  // Every change of the request asks for a refresh at once; the one queued absorbs it and keeps Slack's time.
  assert.equal(enqueue(db, wall.now(), REQUEST_JOB.refreshHome, { userId: 'U1' }, { key: 'home:U1', mode: 'coalesce' }), id);
  assert.equal(job(db, id).run_at, retryAfter, "Slack's Retry-After is kept");
  // A fresh coalesced job (never run) still moves earlier, as before.
  const fresh = enqueue(db, wall.now(), REQUEST_JOB.refreshHome, { userId: 'U2' }, { key: 'home:U2', mode: 'coalesce', runAt: wall.now() + 5000 })!;
  enqueue(db, wall.now(), REQUEST_JOB.refreshHome, { userId: 'U2' }, { key: 'home:U2', mode: 'coalesce', runAt: wall.now() });
  assert.equal(job(db, fresh).run_at, wall.now());
});

test('a wall-clock jump during a running job neither starts a second copy in this process nor lets the old claim finish over a newer one', async () => {
  const db = freshDb();
  const wall = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  const runner = new JobRunner(db, wall, silentLogger, { pollMs: 10, leaseMs: 60_000 });
  let runs = 0;
  const firstHeld = gate();
  const started = counter(1);
  const marker = counter(1);
  runner.register(TEST_LONG, { run: async () => { runs++; started.hit(); await firstHeld.opened; } });
  runner.register(TEST_MARKER, { run: async () => marker.hit() });
  const id = enqueue(db, wall.now(), TEST_LONG, { n: 1 })!;
  runner.start();
  try {
    await started.done;
    wall.t += 2 * 3_600_000;
    // Expired leases are claimed before due jobs: once this later job has run, the runner has looked at the long one.
    enqueue(db, wall.now(), TEST_MARKER, { n: 2 });
    runner.wake();
    await marker.done;
    assert.equal(runs, 1, 'the running job was not started again by its own process');
    assert.ok(job(db, id).lease_until! > wall.now(), 'its lease was renewed past the jump');
  } finally {
    // Another claim takes the job over (the lease really ran out, e.g. the process stalled): the old claim's
    // finish must not record a result over the newer claim's.
    db.prepare("UPDATE jobs SET lease_token = 'newer-claim', locked_by = 'another-worker' WHERE id = ?").run(id);
    firstHeld.open();
    await runner.idle();
    await runner.stop();
  }
  const row = job(db, id);
  assert.equal(row.state, 'running', 'still the newer claim\'s to finish');
  assert.equal(row.lease_token, 'newer-claim');
});

test('a job that keeps killing the process is failed after three restarts, and its give-up runs in the same transaction', async () => {
  const db = freshDb();
  let runs = 0;
  const held = gate();
  const lives: JobRunner[] = [];
  const register = (runner: JobRunner, started: () => void) =>
    runner.register(TEST_POISON, {
      run: async () => { runs++; started(); await held.opened; },
      onGiveUp: ({ n }, error) => {
        enqueue(db, Date.now(), SLACK_JOB.sendMessage, { channel: 'C0ITOPS', text: mrkdwn`item ${n} failed: ${escapeMrkdwn(error.message)}` });
      },
    });
  const id = enqueue(db, Date.now(), TEST_POISON, { n: 7 })!;
  const endLives = async () => {
    held.open();
    await Promise.all(lives.map((runner) => runner.stop()));
  };
  try {
    for (let life = 1; life <= 5; life++) {
      const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10 });
      const started = counter(1);
      register(runner, started.hit);
      lives.push(runner);
      runner.start();
      if (life <= 4) {
        await started.done;
        // The process dies mid-job: the row stays running, nothing is released.
        void runner.stop();
      }
    }
  } finally {
    await endLives();
  }
  assert.equal(runs, 4, 'run once and restarted three times, then no more');
  const row = job(db, id);
  assert.equal(row.state, 'failed');
  assert.match(row.last_error ?? '', /stopped while running this job 4 times/);
  const told = db.prepare("SELECT payload FROM jobs WHERE kind = ?").all(SLACK_JOB.sendMessage.kind) as { payload: string }[];
  assert.equal(told.length, 1, 'IT is told once');
  assert.match(JSON.parse(told[0]!.payload).text, /item 7 failed: the bot stopped/);
});

test('a job that finished an attempt starts its restart count again', async () => {
  const db = freshDb();
  const id = enqueue(db, Date.now(), TEST_T, { n: 1 })!;
  db.prepare("UPDATE jobs SET state = 'running', restarts = 2, lease_token = 'dead', locked_by = 'dead-worker', lease_until = ? WHERE id = ?").run(Date.now() + 60_000, id);
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10, retryBaseMs: 1, retryMaxMs: 1 });
  let runs = 0;
  const done = counter(2);
  runner.register(TEST_T, { run: async () => { runs++; done.hit(); if (runs === 1) throw new Error('503'); } });
  runner.start();
  await done.done;
  await runner.idle();
  await runner.stop();
  assert.equal(job(db, id).state, 'done');
  assert.equal(job(db, id).restarts, 0);
});

test('a give-up whose consequence cannot be stored still fails the job, and stores no half of it', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 10 });
  const gaveUp = counter(1);
  runner.register(TEST_T, {
    run: async () => { throw new PermanentError('account is protected'); },
    onGiveUp: () => {
      enqueue(db, Date.now(), SLACK_JOB.sendMessage, { channel: 'C0ITOPS', text: trustedMrkdwn('half of it') });
      gaveUp.hit();
      throw new Error('bug in the give-up handler');
    },
  });
  const id = enqueue(db, Date.now(), TEST_T, { n: 1 })!;
  runner.start();
  await gaveUp.done;
  await until(() => job(db, id).state === 'failed', 'the job to fail');
  await runner.stop();
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE kind = ?').get(SLACK_JOB.sendMessage.kind) as { n: number }).n, 0);
});

/** A wall clock the test moves: each failed run jumps it forward, as hours of backoff would. */
function steppingClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => { offset += ms; } };
}

test('without maxAttempts a failing job keeps retrying until it has been failing for giveUpAfter, then gives up once', async () => {
  const db = freshDb();
  const wall = steppingClock();
  const runner = new JobRunner(db, wall, silentLogger, { pollMs: 5, retryBaseMs: 1, retryMaxMs: 2, giveUpAfterMs: 6 * 3_600_000 });
  const gaveUp = counter(1);
  let runs = 0;
  runner.register(TEST_OUTAGE, {
    // Each failure is followed by 20 minutes of wall time: twenty failures span 6 h 20 min.
    run: async () => { runs++; wall.advance(20 * 60_000); throw new Error('503 from upstream'); },
    onGiveUp: () => gaveUp.hit(),
  });
  runner.start();
  const id = enqueue(db, wall.now(), TEST_OUTAGE, { n: 1 })!;
  await gaveUp.done;
  await runner.stop();
  // The clock starts at the first failure (its end): 6 h later is the 19th failure's end, so the 19th is the last.
  assert.equal(runs, 19, 'gives up at the first failure 6 hours after failing began, not after 8 attempts');
  assert.equal(job(db, id).state, 'failed');
  assert.equal(job(db, id).attempts, 19);
});

test('a "not yet" (RetryAt succeeded) clears the failures before it, so only failures in a row count', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 5, retryBaseMs: 1, retryMaxMs: 2, maxAttempts: 3 });
  const done = counter(1);
  let runs = 0;
  let gaveUp = false;
  runner.register(TEST_POLL, {
    // Two failures, then a successful "still pending", over and over: never three failures in a row.
    run: async () => {
      runs++;
      if (runs === 30) return done.hit();
      if (runs % 3 === 0) throw new RetryAt(Date.now(), 'invitation not accepted yet', { succeeded: true });
      throw new Error('503 from upstream');
    },
    onGiveUp: () => { gaveUp = true; done.hit(); },
  });
  runner.start();
  const id = enqueue(db, Date.now(), TEST_POLL, { n: 1 })!;
  await done.done;
  await runner.stop();
  assert.equal(gaveUp, false, `gave up after ${runs} runs with 20 failures spread over them`);
  assert.equal(job(db, id).state, 'done');
});

test('a plain RetryAt (a rate limit) neither spends nor clears the failures in a row', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 5, retryBaseMs: 1, retryMaxMs: 2, maxAttempts: 3 });
  const gaveUp = counter(1);
  let runs = 0;
  runner.register(TEST_LIMITED, {
    run: async () => {
      runs++;
      if (runs % 3 === 0) throw new RetryAt(Date.now(), 'rate limited');
      throw new Error('503 from upstream');
    },
    onGiveUp: () => gaveUp.hit(),
  });
  runner.start();
  const id = enqueue(db, Date.now(), TEST_LIMITED, { n: 1 })!;
  await gaveUp.done;
  await runner.stop();
  assert.equal(runs, 4, 'fail, fail, rate limited, fail: the third failure gives up');
  assert.equal(job(db, id).attempts, 3);
});

test('a stored payload that does not fit its kind fails the job for good, saying why, without running the handler', async () => {
  const db = freshDb();
  const runner = new JobRunner(db, clock, silentLogger, { pollMs: 5 });
  let runs = 0;
  let gaveUp = false;
  runner.register(TEST_T, { run: async () => { runs++; }, onGiveUp: () => { gaveUp = true; } });
  // As an older version would have written it: the field had another name.
  const id = enqueue(db, Date.now(), TEST_T, { n: 1 })!;
  db.prepare('UPDATE jobs SET payload = ? WHERE id = ?').run(JSON.stringify({ count: 1 }), id);
  const fine = enqueue(db, Date.now(), TEST_T, { n: 2 })!;
  runner.start();
  try {
    await until(() => job(db, id).state === 'failed' && job(db, fine).state === 'done', 'the bad job to fail and the good one to run');
  } finally {
    await runner.stop();
  }
  assert.equal(runs, 1, 'only the job whose payload fits ran');
  assert.equal(gaveUp, false, 'no give-up consequence is built from a payload that could not be read');
  assert.equal(job(db, id).attempts, 1, 'failed at once, not retried for hours');
  assert.match(job(db, id).last_error ?? '', /does not fit job kind test\.t: .*n/);
});

/** Never run: `tsc --noEmit` (part of `npm test`) fails if a payload of the wrong shape compiles. */
export function payloadsAreTypedAtCompileTime(db: Db): void {
  // @ts-expect-error itemId is a number
  enqueue(db, 0, JOB.fulfillItem, { itemId: '7' });
  // @ts-expect-error a DM's text must be Mrkdwn (escaped), not a raw string
  enqueue(db, 0, JOB.sendMessage, { channel: 'U1', text: 'raw <!channel>' });
  // @ts-expect-error a handler of one kind cannot be registered for another's payload
  new JobRunner(db, clock, silentLogger).register(JOB.refreshHome, { run: async ({ itemId }: { itemId: number }) => void itemId });
}

test('whenIdle resolves after the due jobs and the follow-ups they enqueue have run, not before, and not for later ones', async () => {
  const db = freshDb();
  const wall = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  const runner = new JobRunner(db, wall, silentLogger, { pollMs: 1000 });
  const ran: string[] = [];
  runner.register(TEST_FIRST, { run: async ({ n }) => { ran.push(`first ${n}`); enqueue(db, wall.now(), TEST_THEN, { n }); } });
  runner.register(TEST_THEN, { run: async ({ n }) => { ran.push(`then ${n}`); } });
  runner.start();
  try {
    enqueue(db, wall.now(), TEST_FIRST, { n: 1 });
    enqueue(db, wall.now() + 60_000, TEST_FIRST, { n: 2 });
    // No wake(): whenIdle looks at the queue itself, so a long poll does not make it resolve early or late.
    await runner.whenIdle();
    assert.deepEqual(ran, ['first 1', 'then 1'], 'the due job and its follow-up, not the one due in a minute');
    wall.t += 60_000;
    await runner.whenIdle();
    assert.deepEqual(ran, ['first 1', 'then 1', 'first 2', 'then 2']);
    // `until` ahead of the clock: the job due by then counts, so it resolves only once the clock got there and it ran.
    enqueue(db, wall.now() + 5_000, TEST_THEN, { n: 3 });
    const idle = runner.whenIdle({ until: wall.now() + 5_000 }).then(() => [...ran]);
    await runner.whenIdle();
    wall.t += 5_000;
    runner.wake();
    assert.deepEqual(await idle, ['first 1', 'then 1', 'first 2', 'then 2', 'then 3']);
  } finally {
    await runner.stop();
  }
});

