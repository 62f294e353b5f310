/**
 * A bulk offboarding survives the bot being SIGKILLed several times at random points: every account ends
 * deactivated by exactly one PATCH and every item completes. The points come from a seed printed at the start;
 * `SIGKILL_SEED=<n>` replays a failing run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Harness, PEOPLE } from '../support/harness.js';
import { cardFor, itemStates, requestAccess } from '../support/flows.js';

const PEOPLE_OFFBOARDED = 30;
const KILLS = 3;

/** mulberry32: small, seedable, good enough to pick kill points. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let h: Harness;
before(async () => {
  h = await Harness.start({ autodesk: { latencyMs: 0 }, env: { AUTODESK_MAX_CONCURRENT: '3' } });
});
after(async () => {
  await h.close();
});

describe('bulk offboarding under SIGKILL', () => {
  test(`${PEOPLE_OFFBOARDED} people, the bot SIGKILLed ${KILLS} times at random points: each account deactivated by exactly one PATCH`, async () => {
    const seed = Number(process.env.SIGKILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`# SIGKILL_SEED=${seed}`);
    const random = seededRandom(seed);

    const subjects: string[] = [];
    const accounts: string[] = [];
    for (let n = 1; n <= PEOPLE_OFFBOARDED; n++) {
      const id = `U0KILL${String(n).padStart(2, '0')}`;
      h.slack.addUser({ id, name: `kill${n}`, realName: `Kill ${n}`, email: `kill${n}@example.com` });
      accounts.push(h.autodesk.addUser({ email: `Kill${n}@Example.com`, firstName: 'Kill', lastName: String(n), status: 'active' }).id);
      subjects.push(id);
    }
    // Slow enough that calls are in flight when the kill lands.
    h.autodesk.setLatency(80);
    const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects });
    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
    await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');

    // Kill points: after a random number of PATCHes (distinct, before the end), plus a random delay that may
    // land between an intent and its call, or mid-call.
    const thresholds = new Set<number>();
    while (thresholds.size < KILLS) thresholds.add(1 + Math.floor(random() * (PEOPLE_OFFBOARDED - 4)));
    const points = [...thresholds].sort((a, b) => a - b).map((patches) => ({ patches, delayMs: Math.floor(random() * 120) }));
    console.log(`# kill points: ${JSON.stringify(points)}`);
    for (const point of points) {
      await h.autodesk.waitFor((s) => s.countRequests({ method: 'PATCH' }) >= point.patches, { timeoutMs: 15_000, message: `${point.patches} PATCHes` });
      if (point.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, point.delayMs));
      await h.restartBot('SIGKILL');
    }

    await h.slack.waitFor(() => itemStates(h, id).every((s) => s === 'completed'), { timeoutMs: 20_000, description: 'every item completed' });
    h.autodesk.setLatency(0);
    const patchesOf = (userId: string) => h.autodesk.requests.filter((r) => r.method === 'PATCH' && r.path === `/users/${userId}`).length;
    assert.deepEqual(accounts.map(patchesOf), accounts.map(() => 1), `exactly one PATCH per account (seed ${seed})`);
    assert.ok(accounts.every((userId) => h.autodesk.users().find((u) => u.id === userId)!.status === 'inactive'), 'every account inactive');
    const audited = h.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit WHERE request_id = ? AND action = 'autodesk.deactivated'", id)[0]!.n;
    assert.equal(audited, PEOPLE_OFFBOARDED, 'one audit row per account');
  });
});
