import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { AutodeskApi, AutodeskUser } from '../../src/connectors/autodesk/api.js';
import { AutodeskDirectory } from '../../src/connectors/autodesk/directory.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock } from '../../src/util/time.js';
import { listCalls, startHarness, tempDatabase, type Harness } from './context.js';

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
});
