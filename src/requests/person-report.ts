/**
 * One report per person (`/access report`, the Report button, the audit export): for every app in the config,
 * what accessbot did for that person across all their requests, by whom or by which connector, when, and what is
 * still open. Pure reads of the database; the Slack rendering is in src/slack/blocks/person-report.ts.
 */
import { approvalStepsOf, type AccessConfig } from '../config.js';
import { actorNameOf } from '../connectors/forms.js';
import type { Db } from '../db/connection.js';
import { REQUEST_JOB } from './notices.js';
import { enqueue } from '../jobs/queue.js';
import { expandApprovers } from './approver-entries.js';
import { TERMINAL_STATES, type ItemState, type RequestKind } from './model.js';
import type { RequestDeps } from './service.js';
import { readWords, type StoredWords } from './words.js';
import { appsAssignedTo } from '../tasks/model.js';

/** Whom a report is about, as far as Slack's copy of the workspace and the requests know them. */
export interface ReportPerson {
  slackId: string | null;
  /** Lower-cased; null only for a Slack user without an e-mail who was never a subject by e-mail. */
  email: string | null;
  name: string | null;
}

/** One item (one request, this person, this app), newest first in its app's row. */
export interface ReportEntry {
  requestId: string;
  kind: RequestKind;
  state: ItemState;
  /** The item's detail as the connector or a person left it, in words. */
  detail: StoredWords | null;
  requesterId: string;
  requestedAt: number;
  /** Who moved the item last: a Slack user id, or `accessbot` when a connector did. */
  lastActor: string | null;
  lastAt: number;
}

/**
 * - `open`: awaiting approval, approved and waiting, in progress (an invitation, a task), or failed;
 * - `has_access`: last onboarded and not offboarded since; `removed`: last offboarded;
 * - `none`: nothing ever completed (never asked, or only denied / cancelled).
 */
export type AppStanding = 'open' | 'has_access' | 'removed' | 'none';

export interface AppReportRow {
  appId: string;
  appName: string;
  connector: string;
  /** Who accessbot was when it acted on this app ("the Autodesk connector"), as the app's plugin says it. */
  actorName: string;
  standing: AppStanding;
  /** The entries that keep the app open (non-final items, and the latest item when it failed). */
  open: ReportEntry[];
  entries: ReportEntry[];
}

export interface PersonReport {
  person: ReportPerson;
  generatedAt: number;
  apps: AppReportRow[];
  /** Items for apps no longer in the config: listed so nothing done for the person goes unseen. */
  retiredApps: AppReportRow[];
  openApps: number;
}

interface PersonRow { id: string; email: string | null; real_name: string | null; first_name: string | null; last_name: string | null }

const personName = (row: Pick<PersonRow, 'real_name' | 'first_name' | 'last_name'>) => row.real_name || [row.first_name, row.last_name].filter(Boolean).join(' ') || null;

/**
 * Finds the person by Slack id or e-mail in Slack's copy of the workspace and in the requests' subjects.
 * Undefined when neither knows them: the caller answers that nobody by that name is known.
 */
export function findReportPerson(db: Db, by: { slackId: string } | { email: string }): ReportPerson | undefined {
  if ('slackId' in by) {
    const row = db.prepare('SELECT id, email, real_name, first_name, last_name FROM slack_people WHERE id = ?').get(by.slackId) as PersonRow | undefined;
    const item = db.prepare('SELECT subject_email, subject_first_name, subject_last_name FROM items WHERE subject_slack_id = ? ORDER BY id DESC LIMIT 1').get(by.slackId) as
      | { subject_email: string; subject_first_name: string | null; subject_last_name: string | null }
      | undefined;
    if (!row && !item) return undefined;
    const email = row?.email ?? item?.subject_email ?? null;
    const name = row ? personName(row) : personName({ real_name: null, first_name: item!.subject_first_name, last_name: item!.subject_last_name });
    return { slackId: by.slackId, email: email?.toLowerCase() ?? null, name };
  }
  const email = by.email.toLowerCase();
  // A live account before a deactivated one with the same address; the newest copy of each.
  const row = db.prepare('SELECT id, email, real_name, first_name, last_name FROM slack_people WHERE lower(email) = ? ORDER BY deleted, fetched_at DESC LIMIT 1').get(email) as PersonRow | undefined;
  const item = db.prepare('SELECT subject_slack_id, subject_first_name, subject_last_name FROM items WHERE lower(subject_email) = ? ORDER BY id DESC LIMIT 1').get(email) as
    | { subject_slack_id: string | null; subject_first_name: string | null; subject_last_name: string | null }
    | undefined;
  if (!row && !item) return undefined;
  const name = row ? personName(row) : personName({ real_name: null, first_name: item!.subject_first_name, last_name: item!.subject_last_name });
  return { slackId: row?.id ?? item?.subject_slack_id ?? null, email, name };
}

interface EntryRow {
  id: number; request_id: string; kind: RequestKind; app_id: string; state: ItemState; detail: string | null; requester_id: string;
  created_at: number; updated_at: number; actor: string | null; at: number | null;
}

/** Every item about this person (by Slack id or by e-mail), newest request first, with who moved it last and when. */
function entriesOf(db: Db, person: ReportPerson): EntryRow[] {
  return db
    .prepare(
      `SELECT i.id, i.request_id, r.kind, i.app_id, i.state, i.detail, r.requester_id, r.created_at, i.updated_at,
              (SELECT actor FROM audit a WHERE a.item_id = i.id ORDER BY a.id DESC LIMIT 1) AS actor,
              (SELECT at FROM audit a WHERE a.item_id = i.id ORDER BY a.id DESC LIMIT 1) AS at
       FROM items i JOIN requests r ON r.id = i.request_id
       WHERE (? IS NOT NULL AND i.subject_slack_id = ?) OR (? IS NOT NULL AND lower(i.subject_email) = ?)
       ORDER BY r.created_at DESC, i.id DESC`,
    )
    .all(person.slackId, person.slackId, person.email, person.email) as EntryRow[];
}

const isFinal = (state: ItemState) => (TERMINAL_STATES as readonly string[]).includes(state);

function rowOf(config: AccessConfig, appId: string, appName: string, connector: string, entries: ReportEntry[]): AppReportRow {
  const open = entries.filter((entry, index) => !isFinal(entry.state) || (index === 0 && entry.state === 'failed'));
  const lastDone = entries.find((entry) => entry.state === 'completed');
  const standing: AppStanding = open.length ? 'open' : !lastDone ? 'none' : lastDone.kind === 'onboard' ? 'has_access' : 'removed';
  return { appId, appName, connector, actorName: actorNameOf(config, connector), standing, open, entries };
}

export function personReport(db: Db, config: AccessConfig, person: ReportPerson, now: number): PersonReport {
  const byApp = new Map<string, ReportEntry[]>();
  for (const row of entriesOf(db, person)) {
    const entry: ReportEntry = {
      requestId: row.request_id, kind: row.kind, state: row.state, detail: row.detail === null ? null : readWords(row.detail), requesterId: row.requester_id, requestedAt: row.created_at,
      lastActor: row.actor, lastAt: row.at ?? row.updated_at,
    };
    byApp.set(row.app_id, [...(byApp.get(row.app_id) ?? []), entry]);
  }
  const apps = config.apps.map((app) => rowOf(config, app.id, app.name, app.connector, byApp.get(app.id) ?? []));
  const configured = new Set(config.apps.map((app) => app.id));
  const retiredApps = [...byApp].filter(([appId]) => !configured.has(appId)).map(([appId, entries]) => rowOf(config, appId, appId, 'unknown', entries));
  return { person, generatedAt: now, apps, retiredApps, openApps: [...apps, ...retiredApps].filter((row) => row.standing === 'open').length };
}

/**
 * Who may read a person's report (the issue is silent; this is the choice): the IT admins, anyone who approves
 * or carries out any app (approvers, manual assignees), the requester of one of that person's requests, and the
 * person themself. A report tells who has access to what, so colleagues at large do not get it.
 */
export function mayReadReport(deps: Pick<RequestDeps, 'db' | 'config' | 'itAdmins' | 'approverEntries'>, viewer: string, person: ReportPerson): boolean {
  if (deps.itAdmins.has(viewer) || viewer === person.slackId) return true;
  for (const app of deps.config.apps) {
    const entries = approvalStepsOf(app).flatMap((step) => step.approvers);
    if (expandApprovers(deps, entries).includes(viewer)) return true;
  }
  if (appsAssignedTo(deps.config, viewer).length > 0) return true;
  const asked = deps.db
    .prepare(
      `SELECT 1 FROM items i JOIN requests r ON r.id = i.request_id
       WHERE r.requester_id = ? AND ((? IS NOT NULL AND i.subject_slack_id = ?) OR (? IS NOT NULL AND lower(i.subject_email) = ?)) LIMIT 1`,
    )
    .get(viewer, person.slackId, person.slackId, person.email, person.email);
  return asked !== undefined;
}

/** Reports posted on one finished offboarding: a bigger one is a Report button or a command away for the rest. */
export const MAX_POSTED_REPORTS = 20;

/** `slack_messages.purpose` of a posted report still kept current, `…:<e-mail>`. */
export const OPEN_PURPOSE = 'person_report:';
/** A report whose person had every app closed: no longer updated, so it stays as it was when it closed. */
export const CLOSED_PURPOSE = 'person_report_closed:';

/**
 * When an offboarding finishes: its requester gets each person's report, once (the job is keyed), up to
 * MAX_POSTED_REPORTS of them. Call in the transaction that finished the request.
 */
export function queueReportsOnFinish(db: Db, now: number, requestId: string): void {
  const request = db.prepare('SELECT kind FROM requests WHERE id = ?').get(requestId) as { kind: string } | undefined;
  if (request?.kind !== 'offboard') return;
  const emails = (db.prepare('SELECT DISTINCT lower(subject_email) AS email FROM items WHERE request_id = ? ORDER BY id').all(requestId) as { email: string }[]).map((row) => row.email);
  for (const email of emails.slice(0, MAX_POSTED_REPORTS)) {
    enqueue(db, now, REQUEST_JOB.personReport, { requestId, email }, { key: `person_report:${requestId}:${email}`, queue: `person_report:${requestId}:${email}` });
  }
}

/**
 * An item of this person changed: every report posted about them and not yet closed is brought up to date
 * (coalesced, so a burst of changes re-renders once; one queue per message, so two renders never race to
 * post it). Call in the transaction that made the change.
 */
export function refreshReportsOf(db: Db, now: number, subjectEmail: string): void {
  const email = subjectEmail.toLowerCase();
  const rows = db.prepare('SELECT request_id FROM slack_messages WHERE purpose = ?').all(`${OPEN_PURPOSE}${email}`) as { request_id: string }[];
  for (const { request_id: requestId } of rows) {
    enqueue(db, now, REQUEST_JOB.personReport, { requestId, email }, { key: `person_report_refresh:${requestId}:${email}`, mode: 'coalesce', runAt: now + 500, queue: `person_report:${requestId}:${email}` });
  }
}

