/** A database from an earlier schema version upgrades at start-up without losing anything. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase, schemaVersion } from '../../src/db/connection.js';
import { migrations } from '../../src/db/migrations/index.js';
import { noticeJobSchema } from '../../src/requests/notices.js';
import { getItem } from '../../src/requests/repository.js';
import type { StoredWords } from '../../src/requests/words.js';
import { wordsMrkdwn } from '../../src/slack/words.js';

test('a version-1 database with requests in flight upgrades to the latest schema with its data intact', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'accessbot-migrate-')), 'old.db');
  const old = openDatabase(path, { upTo: 1 });
  assert.equal(schemaVersion(old), 1);
  old.prepare("INSERT INTO requests (id, kind, requester_id, justification, effective_date, options, created_at, updated_at) VALUES ('AR-OLD', 'onboard', 'U1', 'why', '2026-01-01', '{\"autodeskRole\":\"viewer\",\"autodeskTeams\":[\"team-789\"]}', 1, 1)").run();
  old.prepare("INSERT INTO items (request_id, app_id, subject_email, state, updated_at) VALUES ('AR-OLD', 'axure', 'a@example.com', 'approved', 1)").run();
  old.prepare("INSERT INTO jobs (kind, payload, state, run_at, attempts, created_at, updated_at) VALUES ('item.fulfill', '{\"itemId\":1}', 'queued', 1, 0, 1, 1)").run();
  old.close();

  const upgraded = openDatabase(path);
  assert.equal(schemaVersion(upgraded), migrations.at(-1)!.version);
  assert.deepEqual(upgraded.prepare('SELECT id, state FROM items').get(), { id: 1, state: 'approved' });
  assert.equal((upgraded.prepare("SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued'").get() as { n: number }).n, 1);
  // The Autodesk role and teams asked before the form fields became plugin data are where its connector reads them.
  assert.deepEqual(JSON.parse((upgraded.prepare("SELECT options FROM requests WHERE id = 'AR-OLD'").get() as { options: string }).options), { role: 'viewer', teams: ['team-789'] });
  upgraded.close();
  const again = openDatabase(path);
  assert.equal(schemaVersion(again), migrations.at(-1)!.version, 'opening again applies nothing twice');
  again.close();
});

test('item details stored as mrkdwn before they were words read and show as they did', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'accessbot-migrate-')), 'old.db');
  const old = openDatabase(path, { upTo: 15 });
  const shown = 'cancelled by <@U0ALICE>: &lt;!channel&gt;';
  old.prepare("INSERT INTO requests (id, kind, requester_id, justification, effective_date, options, created_at, updated_at) VALUES ('AR-OLD', 'onboard', 'U1', 'why', '2026-01-01', '{}', 1, 1)").run();
  old.prepare("INSERT INTO items (request_id, app_id, subject_email, state, detail, updated_at) VALUES ('AR-OLD', 'axure', 'a@example.com', 'cancelled', ?, 1)").run(shown);
  old.prepare("INSERT INTO items (request_id, app_id, subject_email, state, updated_at) VALUES ('AR-OLD', 'axure', 'b@example.com', 'approved', 1)").run();
  old.prepare(
    "INSERT INTO tasks (item_id, request_id, app_id, kind, item_json, assignee, state, last_progress_at, created_at, updated_at, by_hand_json) VALUES (1, 'AR-OLD', 'axure', 'onboard', '{}', 'U0IT1', 'open', 1, 1, 1, ?)",
  ).run(JSON.stringify({ tried: 'autodesk: 400 &lt;x&gt;', askedBy: 'U0ADMIN', askedAt: 1 }));
  const notice = { to: 'U1', notice: { type: 'item_failed', requestId: 'AR-OLD', appId: 'axure', subject: { slackId: null, email: 'a@example.com', firstName: null, lastName: null }, detail: 'autodesk: 400 &lt;x&gt;' } };
  old.prepare("INSERT INTO jobs (kind, payload, state, run_at, attempts, created_at, updated_at) VALUES ('request.notice', ?, 'queued', 1, 0, 1, 1)").run(JSON.stringify(notice));
  old.close();

  const upgraded = openDatabase(path);
  const [cancelled, untouched] = [getItem(upgraded, 1)!, getItem(upgraded, 2)!];
  assert.equal(wordsMrkdwn(cancelled.detail!), shown, 'shown exactly as before, not escaped twice');
  assert.equal(untouched.detail, null);
  const byHand = JSON.parse((upgraded.prepare('SELECT by_hand_json FROM tasks').get() as { by_hand_json: string }).by_hand_json) as { tried: StoredWords };
  assert.equal(wordsMrkdwn(byHand.tried), 'autodesk: 400 &lt;x&gt;');
  const queued = noticeJobSchema.parse(JSON.parse((upgraded.prepare("SELECT payload FROM jobs WHERE kind = 'request.notice'").get() as { payload: string }).payload));
  assert.equal(queued.notice.type === 'item_failed' && wordsMrkdwn(queued.notice.detail), 'autodesk: 400 &lt;x&gt;');
  upgraded.close();
});
