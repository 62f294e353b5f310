/**
 * `/access report` answers inside its ack, so none of its reads may scan `items` or `audit`: both grow with every
 * request (the audit table is never pruned), and a scan there made a report take seconds with a few thousand stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAccessConfig } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { findReportPerson, personReport } from '../../src/requests/person-report.js';
import { baseConfig } from '../support/harness.js';

/** Every statement the report prepares, each with its query plan. */
function reportPlans(db: Db): { sql: string; plan: string[] }[] {
  const prepared: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  });
  try {
    const config = parseAccessConfig(baseConfig());
    const bySlackId = findReportPerson(db, { slackId: 'U0CAROL' }) ?? { slackId: 'U0CAROL', email: 'carol@example.com', name: null };
    findReportPerson(db, { email: 'carol@example.com' });
    personReport(db, config, bySlackId, Date.now());
    personReport(db, config, { slackId: null, email: 'carol@example.com', name: null }, Date.now());
  } finally {
    db.prepare = prepare;
  }
  return [...new Set(prepared)].map((sql) => {
    const parameters = Array.from({ length: sql.split('?').length - 1 }, () => 'x');
    return { sql, plan: (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]).map((row) => row.detail) };
  });
}

const scans = (plans: { sql: string; plan: string[] }[]) =>
  plans.flatMap(({ sql, plan }) => plan.filter((step) => /^SCAN (items|audit|i|a)\b/.test(step)).map((step) => `${step} in: ${sql.replace(/\s+/g, ' ').slice(0, 120)}`));

test('the report reads items by subject and the last audit entry of each item through indexes, never a scan', () => {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'accessbot-report-')), 'report.db'));
  try {
    const plans = reportPlans(db);
    assert.ok(plans.length >= 3, 'the report prepared its statements');
    assert.deepEqual(scans(plans), []);
  } finally {
    db.close();
  }
});

test('the schema before those indexes did scan (so the check above can fail)', () => {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'accessbot-report-')), 'report.db'), { upTo: 15 });
  try {
    assert.notDeepEqual(scans(reportPlans(db)), []);
  } finally {
    db.close();
  }
});
