/**
 * `npm run audit -- --since 2026-01-01 [--format csv|json] [--database path]`: every decision and action since a
 * date, for access reviews. `--person <e-mail>` (with or without `--since`): that person's access report (every
 * app of `--config`, default ACCESS_CONFIG or ./access.config.json), then every audit row about them. Opens the
 * database read-only, so it is safe while the bot runs.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { loadAccessConfig, type AccessConfig } from '../config.js';
import { personReport, type PersonReport } from '../requests/person-report.js';

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

/** With `personEmail`, only the rows about that person's items. */
export function readAudit(db: Database.Database, sinceMs: number, personEmail?: string): AuditRecord[] {
  const rows = db
    .prepare(
      `SELECT a.at, a.actor, a.action, a.request_id, r.requester_id, r.kind, a.app_id, i.subject_email, a.from_state, a.to_state, a.detail
       FROM audit a LEFT JOIN requests r ON r.id = a.request_id LEFT JOIN items i ON i.id = a.item_id
       WHERE a.at >= ? AND (? IS NULL OR lower(i.subject_email) = ?) ORDER BY a.id`,
    )
    .all(sinceMs, personEmail?.toLowerCase() ?? null, personEmail?.toLowerCase() ?? null) as Record<string, string | number | null>[];
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

/** One row per app of the config (then apps no longer configured): what stands, what is open, the latest action. */
export interface ReportRecord {
  app: string;
  standing: string;
  open: string;
  lastRequest: string | null;
  lastKind: string | null;
  lastState: string | null;
  lastBy: string | null;
  lastAt: string | null;
}

export function reportRecords(report: PersonReport): ReportRecord[] {
  return [...report.apps, ...report.retiredApps].map((row) => {
    const last = row.entries[0];
    return {
      app: row.appName, standing: row.standing, open: row.open.map((entry) => `${entry.requestId} ${entry.state}`).join('; '),
      lastRequest: last?.requestId ?? null, lastKind: last?.kind ?? null, lastState: last?.state ?? null,
      lastBy: last?.lastActor === 'accessbot' ? `${row.connector} connector` : last?.lastActor ?? null,
      lastAt: last ? new Date(last.lastAt).toISOString() : null,
    };
  });
}

/** The person's report and their audit rows, as one JSON document or two CSV tables separated by a blank line. */
export function formatPersonExport(db: Database.Database, config: AccessConfig, email: string, sinceMs: number, format: 'csv' | 'json', now = Date.now()): string {
  const person = { slackId: null, email: email.toLowerCase(), name: null };
  const slack = db.prepare('SELECT id FROM slack_people WHERE lower(email) = ? ORDER BY deleted, fetched_at DESC LIMIT 1').get(person.email) as { id: string } | undefined;
  const report = personReport(db, config, { ...person, slackId: slack?.id ?? null }, now);
  const records = reportRecords(report);
  const audit = readAudit(db, sinceMs, email);
  if (format === 'json') return `${JSON.stringify({ person: report.person, generatedAt: new Date(now).toISOString(), openApps: report.openApps, report: records, audit }, null, 2)}\n`;
  const columns: (keyof ReportRecord)[] = ['app', 'standing', 'open', 'lastRequest', 'lastKind', 'lastState', 'lastBy', 'lastAt'];
  const table = [columns.join(','), ...records.map((record) => columns.map((column) => csvCell(record[column])).join(','))].join('\n');
  return `${table}\n\n${formatAudit(audit, 'csv')}`;
}

function main(): void {
  const usage = 'usage: npm run audit -- --since YYYY-MM-DD [--format csv|json] [--database path]\n       npm run audit -- --person name@example.com [--since YYYY-MM-DD] [--format csv|json] [--database path] [--config access.config.json]';
  let values;
  try {
    ({ values } = parseArgs({
      options: { since: { type: 'string' }, format: { type: 'string', default: 'csv' }, database: { type: 'string' }, person: { type: 'string' }, config: { type: 'string' } },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  if (values.person !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.person)) {
    process.stderr.write(`--person needs an e-mail address like name@example.com\n${usage}\n`);
    process.exit(2);
  }
  const since = values.since === undefined && values.person ? 0 : Date.parse(values.since ?? '');
  if ((!values.since && !values.person) || Number.isNaN(since)) {
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
  let config: AccessConfig | undefined;
  if (values.person) {
    try {
      config = loadAccessConfig(values.config ?? process.env.ACCESS_CONFIG ?? './access.config.json');
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n(--person lists every app of the config: pass --config or set ACCESS_CONFIG)\n`);
      process.exit(1);
    }
  }
  const db = new Database(path, { readonly: true });
  try {
    process.stdout.write(values.person && config ? formatPersonExport(db, config, values.person, since, values.format) : formatAudit(readAudit(db, since), values.format));
  } finally {
    db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
