/**
 * Autodesk faults as an operator meets them: a fifth of the answers failing while tokens live 3 seconds, and an
 * outage of minutes. Items still complete, with few extra calls, and an outage shorter than jobs.giveUpAfter fails
 * nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AWAIT_ACTIVATION_JOB, INVITED_DETAIL } from '../../src/connectors/autodesk/index.js';
import { harnessPerTest, type Harness } from './context.js';

const harness = harnessPerTest();

/** Resolves once `done` holds, looking whenever the bot reports a change and every 20 ms. */
function until(h: Harness, done: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!done()) return;
      cleanup();
      resolve();
    };
    const poll = setInterval(check, 20);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const cleanup = () => {
      clearInterval(poll);
      clearTimeout(timer);
      h.events.off('change', check);
    };
    h.events.on('change', check);
    check();
  });
}

describe('Autodesk faults', () => {
  test('20% of API and token answers 503, tokens living 3 s: 40 offboardings all complete at under 1.3 calls a person', async () => {
    const people = 40;
    const h = await harness({
      sandbox: { tokenTtlSeconds: 3, latencyMs: 250, maxConcurrent: 4 },
      maxConcurrent: 4,
      runner: { concurrency: 4 },
    });
    const users = h.sandbox.seedUsers(people + 10);
    h.sandbox.setFaults({ rate: 0.2, tokenRate: 0.2 });
    const { itemIds } = h.submit('offboard', users.slice(0, people).map((user) => user.email));
    const items = await h.settle(itemIds, 60_000);
    assert.deepEqual(items.filter((item) => item.state !== 'completed').map((item) => item.detail), [], 'every item done');
    assert.equal(h.sandbox.users().filter((user) => user.status === 'inactive').length, people);
    const calls = h.sandbox.requests.length;
    assert.ok(calls / people <= 1.3, `${calls} API calls for ${people} people (${(calls / people).toFixed(2)} each)`);
    assert.ok(h.sandbox.tokenRequests >= 2, 'the run outlived a token');
  });

  test('a 10-minute Autodesk outage (API and tokens) fails nothing: the items complete once it ends', async () => {
    let offset = 0;
    const clock = { now: () => Date.now() + offset };
    // Production's job backoff (2 s doubling, 10 min cap) on a clock the test moves; quick in-client retries.
    const h = await harness({
      clock,
      sandbox: { now: clock.now },
      runner: { retryBaseMs: 2000, retryMaxMs: 600_000, pollMs: 10 },
      connector: { client: { retry: { tries: 3, baseMs: 5, maxMs: 10 } } },
    });
    const users = h.sandbox.seedUsers(5);
    h.sandbox.setOutage(503);
    const { itemIds } = h.submit('offboard', users.map((user) => user.email));
    const failures = () => h.bot.db.prepare("SELECT MIN(attempts) AS n FROM jobs WHERE kind = 'item.fulfill'").get() as { n: number };
    // Each round moves the clock to the next retry of every job and waits until each has failed once more.
    const startedAt = clock.now();
    while (clock.now() - startedAt < 10 * 60_000) {
      const before = failures().n;
      const next = h.bot.db.prepare("SELECT MAX(run_at) AS at FROM jobs WHERE kind = 'item.fulfill' AND state = 'queued'").get() as { at: number | null };
      if (next.at !== null) offset += Math.max(0, next.at - clock.now());
      h.bot.runner.wake();
      await until(h, () => failures().n > before, 'every job to fail once more');
      assert.deepEqual(h.items(itemIds).map((item) => item.state), itemIds.map(() => 'in_progress'), `nothing failed ${Math.round((clock.now() - startedAt) / 1000)} s into the outage`);
    }
    assert.ok(failures().n >= 8, `the jobs failed ${failures().n} times each (the old limit was 8 attempts)`);
    h.sandbox.setOutage(null);
    h.runQueuedNow();
    const items = await h.settle(itemIds);
    assert.deepEqual(items.map((item) => item.state), itemIds.map(() => 'completed'));
  });

  test('a pending invitation counts only failures in a row: four failed polls, each followed by a good one, fail nothing', async () => {
    // At most 2 failures in a row, and every failure reaches the job (no retry inside the client).
    const h = await harness({ runner: { maxAttempts: 2, retryBaseMs: 5, retryMaxMs: 10 }, connector: { client: { retry: { tries: 1 } } } });
    const { itemIds } = h.submit('onboard', ['invitee@example.com']);
    await h.waitForItems(itemIds, ([item]) => item!.detail === INVITED_DETAIL);
    const userId = h.sandbox.userByEmail('invitee@example.com')!.id;
    const goodPolls = () => h.sandbox.countRequests({ method: 'GET', pathPrefix: `/users/${userId}`, status: 200 });
    const pollQueued = () => (h.bot.db.prepare('SELECT state FROM jobs WHERE kind = ?').get(AWAIT_ACTIVATION_JOB.kind) as { state: string }).state === 'queued';
    for (let round = 1; round <= 4; round++) {
      h.sandbox.injectFailures(1, 503);
      h.runQueuedNow(); // the poll fails; its retry a few ms later reads "still pending"
      await until(h, () => (goodPolls() === round && pollQueued()) || h.items(itemIds)[0]!.state !== 'in_progress', `poll round ${round}: a failure, then a good poll`);
      assert.equal(h.sandbox.countRequests({ status: 503 }), round);
      assert.equal(h.items(itemIds)[0]!.state, 'in_progress', `still waiting after ${round} failed polls, none two in a row`);
    }
    h.sandbox.accept('invitee@example.com');
    h.runQueuedNow();
    const [item] = await h.settle(itemIds);
    assert.equal(item!.state, 'completed');
  });
});
