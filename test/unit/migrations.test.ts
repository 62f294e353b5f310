/** A database from an earlier schema version upgrades at start-up without losing anything. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase, schemaVersion } from '../../src/db/connection.js';
import { migrations } from '../../src/db/migrations/index.js';

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
