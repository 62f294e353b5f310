/**
 * The job runner and its database as an operator sees them: one bot process per database (a second refuses to
 * start with one line; a killed owner does not lock the file), and a job that keeps crashing the bot is failed
 * and reported instead of re-run at every start.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { BotProcess } from '../../src/sandboxes/bot-process.js';
import { cardFor, dmsTo, itemStates, requestAccess } from '../support/flows.js';
import { freePort, Harness, IT_CHANNEL, PEOPLE } from '../support/harness.js';
import { readWords, wordsText } from '../../src/requests/words.js';

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

test('an item whose job was cut off by the bot dying four times in a row fails, and the requester and IT are told', async () => {
  h.autodesk.addUser({ email: 'dave@example.com', firstName: 'Dave', status: 'active' });
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.dave], effective_date: tomorrow });
  await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
  await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
  await h.slack.waitFor(() => itemStates(h, id)[0] === 'approved', { description: 'approved, waiting for its date' });
  await h.bot.stop('SIGKILL');
  // As the database looks after the job's fourth run killed the bot (its date had come): still marked running,
  // restarted three times already.
  const db = new Database(h.env.DATABASE_PATH);
  const changed = db
    .prepare(
      `UPDATE jobs SET state = 'running', run_at = ?, restarts = 3, lease_token = 'dead', lease_until = ?
       WHERE kind = 'item.fulfill' AND payload = (SELECT json_object('itemId', id) FROM items WHERE request_id = ?)`,
    )
    .run(Date.now(), Date.now() + 60_000, id).changes;
  db.close();
  assert.equal(changed, 1);
  await h.startBot();
  await h.slack.waitFor(() => h.slack.messagesTo(IT_CHANNEL).some((m) => m.text.includes(id) && m.text.includes('could not finish')), { description: 'IT alert' });
  await h.slack.waitFor(() => dmsTo(h, PEOPLE.requester).some((t) => t.includes(id) && t.includes('could not be done')), { description: 'requester told' });
  assert.deepEqual(itemStates(h, id), ['failed']);
  assert.match(wordsText(readWords(h.query<{ detail: string }>('SELECT detail FROM items WHERE request_id = ?', id)[0]!.detail)), /stopped while running this job 4 times/);
  assert.equal(h.autodesk.userByEmail('dave@example.com')!.status, 'active', 'not run a fifth time');
});
