import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { AutodeskApi, AutodeskUser } from '../../src/connectors/autodesk/api.js';
import { AutodeskDirectory } from '../../src/connectors/autodesk/directory.js';
import { createRestApi } from '../../src/connectors/autodesk/api.js';
import { AutodeskClient } from '../../src/connectors/autodesk/client.js';
import { RetryAt } from '../../src/jobs/errors.js';
import { startAutodeskSandbox, type AutodeskSandbox } from '../../src/sandboxes/autodesk/server.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock } from '../../src/util/time.js';
import { listCalls, movableClock, startHarness, tempDatabase, type Harness } from './context.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
async function harness(): Promise<Harness> {
  const h = await startHarness();
  cleanups.push(() => h.close());
  return h;
}

/** An API whose list shifts under the traversal, as offset pages do when users are removed meanwhile. */
function shiftingApi(users: AutodeskUser[], removeBeforeSecondPage: number): AutodeskApi & { pages: number } {
  const api = {
    maxPageSize: 100,
    pages: 0,
    async listUsersPage(offset: number, limit: number) {
      if (api.pages === 1) users.splice(0, removeBeforeSecondPage);
      api.pages++;
      return { users: users.slice(offset, offset + limit), total: users.length };
    },
  };
  return api as unknown as AutodeskApi & { pages: number };
}

describe('Autodesk directory', () => {
  test('thirty concurrent lookups in a 260-user directory share one traversal of 3 pages', async () => {
    const h = await harness();
    h.sandbox.seedUsers(259);
    h.sandbox.addUser({ email: 'Mixed.Case@Example.COM' });
    const directory = h.bot.connector.directory;
    const emails = Array.from({ length: 29 }, (_, i) => `USER${String(i * 8 + 1).padStart(4, '0')}@example.com`);
    const found = await Promise.all([...emails, 'mixed.case@example.com'].map((email) => directory.find(email)));
    assert.ok(found.every(Boolean));
    assert.equal(found.at(-1)!.email, 'Mixed.Case@Example.COM', 'the casing Autodesk returns is kept');
    assert.equal(listCalls(h.sandbox), 3);
    assert.ok(h.sandbox.requests.every((r) => r.path.includes('limit=100')), 'pages of the maximum size');
    assert.equal(directory.size(), 260, 'overlapping pages deduplicated by id');
    await directory.find('user0100@example.com');
    assert.equal(listCalls(h.sandbox), 3, 'a fresh directory answers without listing');
  });

  test('users removed mid-traversal do not make anyone fall between two pages', async () => {
    const database = tempDatabase();
    cleanups.push(() => database.cleanup());
    const users: AutodeskUser[] = Array.from({ length: 250 }, (_, i) => ({
      id: `id-${i}`, email: `person${i}@example.com`, status: 'active', role: 'user', firstName: null, lastName: null,
    }));
    const api = shiftingApi(users, 3);
    const directory = new AutodeskDirectory(database.db, api, systemClock, silentLogger);
    await directory.refresh();
    for (const user of users) assert.ok(directory.lookup(user.email), `${user.email} missing`);
    assert.equal(api.pages, 2 + 3, 'the shift is seen on page 2, then the whole list is read again');
  });

  test('a miss triggers a new listing only when the last one is older than the item', async () => {
    const h = await harness();
    h.sandbox.seedUsers(3);
    const directory = h.bot.connector.directory;
    const before = Date.now();
    await directory.refresh();
    assert.equal(await directory.find('nobody@example.com', undefined, before), undefined);
    assert.equal(listCalls(h.sandbox), 1, 'the listing is newer than the item: the miss is believed');
    h.sandbox.addUser({ email: 'new@example.com' });
    const found = await directory.find('new@example.com', undefined, Date.now() + 1);
    assert.equal(found?.email, 'new@example.com');
    assert.equal(listCalls(h.sandbox), 2);
  });

  test('a write recorded during a traversal is not overwritten by the older page', async () => {
    const h = await harness();
    const [user] = h.sandbox.seedUsers(1);
    h.sandbox.setLatency(50);
    const directory = h.bot.connector.directory;
    const refreshing = directory.refresh();
    await h.sandbox.waitFor((s) => s.state().inFlight > 0);
    directory.record({ id: user!.id, email: user!.email, status: 'inactive', role: 'user' });
    await refreshing;
    assert.equal(directory.lookup(user!.email)!.status, 'inactive');
  });

  /**
   * A server window of 2 calls per 2 minutes: the third page of a 4-page listing waits about two minutes, which
   * the client turns into RetryAt (the job would be rescheduled). Both sides read one movable clock, so the wait
   * passes at once.
   */
  async function rateLimitedDirectory(): Promise<{ sandbox: AutodeskSandbox; directory: AutodeskDirectory; clock: ReturnType<typeof movableClock>; pageCalls(): number }> {
    const clock = movableClock();
    const sandbox = await startAutodeskSandbox({ requestsPerWindow: 2, windowMs: 120_000, now: clock.now });
    const database = tempDatabase();
    const client = new AutodeskClient({
      baseUrl: sandbox.baseUrl, tokenUrl: sandbox.tokenUrl, clientId: sandbox.clientId, clientSecret: sandbox.clientSecret,
      perHour: 360_000, maxConcurrent: 10, db: database.db, clock, log: silentLogger,
    });
    cleanups.push(() => database.cleanup(), () => sandbox.close(), () => client.close());
    sandbox.seedUsers(350);
    const directory = new AutodeskDirectory(database.db, createRestApi(client), clock, silentLogger);
    const pageCalls = () => sandbox.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/users?') && r.status === 200).length;
    return { sandbox, directory, clock, pageCalls };
  }

  test('a listing interrupted by a long rate-limit wait resumes at the page it stopped on', async () => {
    const { directory, clock, pageCalls } = await rateLimitedDirectory();
    const interrupted = await directory.refresh().then(() => undefined, (e: unknown) => e);
    assert.ok(interrupted instanceof RetryAt, `the third page waits for the server's window: ${String(interrupted)}`);
    assert.equal(pageCalls(), 2);
    assert.equal(directory.refreshedAt(), null, 'half a listing is not a directory');
    clock.advance(121_000);
    await directory.refresh();
    assert.equal(pageCalls(), 4, 'pages 1 and 2 were kept: only pages 3 and 4 were read after the wait');
    assert.equal(directory.size(), 350);
    assert.ok(directory.lookup('user0001@example.com') && directory.lookup('user0350@example.com'));
  });

  test('a resumed listing that moved during the wait is refused and read again from the start', async () => {
    const { sandbox, directory, clock, pageCalls } = await rateLimitedDirectory();
    await directory.refresh().then(() => assert.fail('the third page should wait'), (e: unknown) => assert.ok(e instanceof RetryAt));
    const [gone] = sandbox.users();
    // While the listing waits, the first user (on a page already read) is deleted and someone new joins: the total
    // stays 350, so only the rows themselves (the overlap, the distinct ids) show that the list moved.
    sandbox.moveBetweenPages({ remove: 1, insert: 1 });
    // Page 3 is served before the move; page 4 starts one row early, which the overlap exposes. Each later read
    // meets the window after two pages, and is resumed too.
    let waits = 0;
    for (;;) {
      clock.advance(121_000);
      const outcome = await directory.refresh().then(() => 'done', (e: unknown) => (e instanceof RetryAt ? 'waiting' : e));
      if (outcome === 'done') break;
      assert.equal(outcome, 'waiting');
      assert.ok(++waits < 5, 'the listing keeps making progress');
    }
    assert.equal(pageCalls(), 4 + 4, 'four pages up to the refusal, then one full read: no page read twice within a read');
    assert.equal(directory.lookup(gone!.email), undefined, 'the deleted user is not kept from the stale page');
    assert.ok(directory.lookup(sandbox.users().at(-1)!.email), 'the user who joined is listed');
    assert.equal(directory.size(), 350);
  });

  test('a listing that started before the caller\'s approval is not resumed for it', async () => {
    const { directory, clock, pageCalls } = await rateLimitedDirectory();
    await directory.refresh().then(() => assert.fail('the third page should wait'), (e: unknown) => assert.ok(e instanceof RetryAt));
    clock.advance(121_000);
    const approvedAt = clock.now();
    await directory.refresh(undefined, approvedAt).catch((e: unknown) => assert.ok(e instanceof RetryAt));
    // Nothing it read before the approval may answer for this item: it starts on page 1 again.
    assert.equal(pageCalls(), 4);
    assert.equal(directory.refreshedAt(), null);
  });
});
