/** One bot process per database: a second refuses to start with one line; a killed owner does not lock the file. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BotProcess } from '../../src/sandboxes/bot-process.js';
import { freePort, Harness } from '../support/harness.js';

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.close();
});

async function healthy(): Promise<boolean> {
  const response = await fetch(`${h.botUrl}/healthz`);
  return response.status === 200;
}

test('a second bot process on the same database exits non-zero with one line naming the owner; the first runs on', async () => {
  const second = new BotProcess({ ...h.env, PORT: String(await freePort()) });
  try {
    await assert.rejects(second.start(), /bot exited/);
  } finally {
    await second.stop('SIGKILL');
  }
  assert.equal(await second.stop(), 1);
  const stderr = second.stderr.join('').trim().split('\n');
  assert.equal(stderr.length, 1, `one line: ${stderr.join(' | ')}`);
  assert.match(stderr[0]!, /^accessbot cannot start: another accessbot process \(pid \d+ on .+\) is using the database .+accessbot\.db; run one bot process per database$/);
  assert.ok(h.bot.running && (await healthy()), 'the owner is untouched');
});

test('after the owner is killed (SIGKILL: no clean release), a new process takes the database over at once', async () => {
  await h.restartBot('SIGKILL');
  assert.ok(await healthy());
  const [lock] = h.query<{ pid: number }>('SELECT pid FROM process_lock');
  assert.ok(lock && lock.pid !== 0, 'the new process holds the lock');
});
