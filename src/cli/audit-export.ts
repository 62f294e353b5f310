/**
 * `npm run audit -- --since 2026-01-01 [--format csv|json] [--database path]`: every decision and action since a
 * date, for access reviews. Opens the database read-only, so it is safe while the bot runs.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

export interface AuditRecord {
  at: string;
  actor: string;
  action: string;
  requestId: string | null;
  requester: string | null;
  kind: string | null;
  appId: string | null;
  subject: string | null;
  fromState: string | null;
  toState: string | null;
  detail: string | null;
}

export function readAudit(db: Database.Database, sinceMs: number): AuditRecord[] {
  const rows = db
    .prepare(
      `SELECT a.at, a.actor, a.action, a.request_id, r.requester_id, r.kind, a.app_id, i.subject_email, a.from_state, a.to_state, a.detail
       FROM audit a LEFT JOIN requests r ON r.id = a.request_id LEFT JOIN items i ON i.id = a.item_id
       WHERE a.at >= ? ORDER BY a.id`,
    )
    .all(sinceMs) as Record<string, string | number | null>[];
  return rows.map((row) => ({
    at: new Date(row.at as number).toISOString(),
    actor: String(row.actor),
    action: String(row.action),
    requestId: row.request_id as string | null,
    requester: row.requester_id as string | null,
    kind: row.kind as string | null,
    appId: row.app_id as string | null,
    subject: row.subject_email as string | null,
    fromState: row.from_state as string | null,
    toState: row.to_state as string | null,
    detail: row.detail as string | null,
  }));
}

const csvCell = (value: string | null) => (value === null ? '' : /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export function formatAudit(records: AuditRecord[], format: 'csv' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(records, null, 2)}\n`;
  const columns: (keyof AuditRecord)[] = ['at', 'actor', 'action', 'requestId', 'requester', 'kind', 'appId', 'subject', 'fromState', 'toState', 'detail'];
  return `${[columns.join(','), ...records.map((record) => columns.map((column) => csvCell(record[column])).join(','))].join('\n')}\n`;
}

function main(): void {
  const usage = 'usage: npm run audit -- --since YYYY-MM-DD [--format csv|json] [--database path]';
  let values;
  try {
    ({ values } = parseArgs({ options: { since: { type: 'string' }, format: { type: 'string', default: 'csv' }, database: { type: 'string' } } }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  const since = Date.parse(values.since ?? '');
  if (!values.since || Number.isNaN(since)) {
    process.stderr.write(`--since needs a date like 2026-01-01\n${usage}\n`);
    process.exit(2);
  }
  if (values.format !== 'csv' && values.format !== 'json') {
    process.stderr.write(`--format must be csv or json\n${usage}\n`);
    process.exit(2);
  }
  const path = values.database ?? process.env.DATABASE_PATH ?? './data/accessbot.db';
  if (!existsSync(path)) {
    process.stderr.write(`no database at ${path} (set DATABASE_PATH or --database)\n`);
    process.exit(1);
  }
  const db = new Database(path, { readonly: true });
  try {
    process.stdout.write(formatAudit(readAudit(db, since), values.format));
  } finally {
    db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
