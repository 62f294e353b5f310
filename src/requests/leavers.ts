/**
 * Leavers noticed (`leaverDetection`): when Slack says someone was deactivated, every app where accessbot granted
 * them access gets an offboarding, sent for approval like any request. The Slack side reads the event and asks
 * Slack whether the person really is deactivated; this module decides what to file, in one transaction.
 */
import { approvalStepsOf, appById, type AccessConfig } from '../config.js';
import { writeAudit } from '../db/audit.js';
import { inTransaction, type Db } from '../db/connection.js';
import { dateInZone } from '../util/time.js';
import { expandApprovers } from './approver-entries.js';
import type { Subject } from './model.js';
import { notify } from './notices.js';
import { personReport, type ReportPerson } from './person-report.js';
import { submitRequest, type RequestDeps } from './service.js';

/** Why the request exists, as approvers read it on the card. */
export const LEAVER_JUSTIFICATION = 'Filed by accessbot (leaver detection): this person was deactivated in Slack.';

export type LeaverOutcome =
  | { filed: { requestId: string; appIds: string[] }[] }
  /** Nothing to offboard: no access recorded, or an offboarding is already open (or done) for every app. */
  | { filed: []; reason: 'no_access' }
  /** The IT team names nobody (user groups not read from Slack yet): try again later. */
  | { filed: []; reason: 'no_requester' };

interface GrantRow { subject_email: string; subject_first_name: string | null; subject_last_name: string | null }

/**
 * The apps this person holds through accessbot, by the subject each was granted to: an onboarding completed and
 * neither offboarded since nor with anything still open (an open offboarding, or a failed last attempt IT is
 * handling, is not filed again). Apps no longer in the config cannot be offboarded by a connector and are skipped.
 */
function grantsOf(db: Db, config: AccessConfig, person: ReportPerson, now: number): Map<string, { subject: Subject; appIds: string[] }> {
  const bySubject = new Map<string, { subject: Subject; appIds: string[] }>();
  for (const row of personReport(db, config, person, now).apps) {
    if (row.standing !== 'has_access') continue;
    const grant = db
      .prepare(
        `SELECT i.subject_email, i.subject_first_name, i.subject_last_name FROM items i JOIN requests r ON r.id = i.request_id
         WHERE r.kind = 'onboard' AND i.state = 'completed' AND i.app_id = ?
           AND ((? IS NOT NULL AND i.subject_slack_id = ?) OR (? IS NOT NULL AND lower(i.subject_email) = ?))
         ORDER BY i.id DESC LIMIT 1`,
      )
      .get(row.appId, person.slackId, person.slackId, person.email, person.email) as GrantRow | undefined;
    if (!grant) continue;
    // The e-mail the app was given access under: the one its connector matches on.
    const key = grant.subject_email.toLowerCase();
    const entry = bySubject.get(key) ?? {
      subject: { slackId: person.slackId, email: grant.subject_email, firstName: grant.subject_first_name, lastName: grant.subject_last_name },
      appIds: [],
    };
    entry.appIds.push(row.appId);
    bySubject.set(key, entry);
  }
  return bySubject;
}

/** Whether this person has any access accessbot recorded that an offboarding would remove (a cheap pre-check). */
export function hasRecordedAccess(deps: Pick<RequestDeps, 'db' | 'config' | 'clock'>, person: ReportPerson): boolean {
  return grantsOf(deps.db, deps.config, person, deps.clock.now()).size > 0;
}

/**
 * The requester of record: an IT admin, so the usual notices (approved, done, the per-person report) reach the
 * IT team. The requester never decides their own request, so an IT admin who approves none of these apps is
 * preferred: every listed approver can still decide, and IT fallbacks have the other admins. Never the leaver.
 */
function requesterOfRecord(deps: RequestDeps, leaver: string | null, appIds: readonly string[]): string | undefined {
  const admins = deps.itAdmins.members().filter((id) => id !== leaver);
  const approvers = new Set(appIds.flatMap((appId) => {
    const app = appById(deps.config, appId);
    return app ? approvalStepsOf(app).flatMap((step) => expandApprovers(deps, step.approvers)) : [];
  }));
  return admins.find((id) => !approvers.has(id)) ?? admins[0];
}

/**
 * Files the offboardings of a person Slack says is deactivated, once: the check and the filing are one
 * transaction, so a retried or repeated event finds the open offboarding and files nothing.
 */
export function fileLeaverOffboarding(deps: RequestDeps, person: ReportPerson): LeaverOutcome {
  const outcome = inTransaction(deps.db, (): LeaverOutcome => {
    const now = deps.clock.now();
    const grants = grantsOf(deps.db, deps.config, person, now);
    if (grants.size === 0) return { filed: [], reason: 'no_access' };
    const requesterId = requesterOfRecord(deps, person.slackId, [...grants.values()].flatMap((grant) => grant.appIds));
    if (!requesterId) return { filed: [], reason: 'no_requester' };
    const filed: { requestId: string; appIds: string[] }[] = [];
    for (const { subject, appIds } of grants.values()) {
      const { requestId } = submitRequest(deps, {
        kind: 'offboard', requesterId, subjects: [subject], appIds, effectiveDate: dateInZone(now, deps.config.timezone),
        justification: LEAVER_JUSTIFICATION, options: {}, submittedBy: 'accessbot',
      });
      writeAudit(deps.db, now, { actor: 'accessbot', action: 'leaver.offboarding_filed', requestId, detail: { slackId: person.slackId, email: subject.email, apps: appIds, requesterOfRecord: requesterId } });
      notify(deps, deps.config.itChannel, { type: 'leaver_filed', requestId, subject, appIds });
      filed.push({ requestId, appIds });
    }
    return { filed };
  });
  deps.wake();
  return outcome;
}
