/**
 * `/access delegate`: an approver hands their approvals, open ones and new ones, to someone else until the end of
 * a day in the config's timezone. Nothing is copied onto the steps: who decides a listed approver's share is
 * worked out when it is judged (`decidersOf` in model.ts), so when the delegation ends the steps are theirs again
 * without any rewrite. Starting and ending are each one transaction with their audit rows, the DMs to both
 * people, the re-sync of the cards concerned and the job that ends it on its date.
 */
import { z } from 'zod';
import { inTransaction } from '../db/connection.js';
import { writeAudit } from '../db/audit.js';
import { RetryAt } from '../jobs/errors.js';
import { defineJob } from '../jobs/kinds.js';
import { enqueue } from '../jobs/queue.js';
import type { JobRunner } from '../jobs/runner.js';
import { addDaysToDate, dateInZone, startOfDateInZone } from '../util/time.js';
import {
  delegationById, delegationOf, delegationsTo, insertDelegation, markDelegationEnded, requestsWithPendingStepsOf, unendedDelegationOf, type Delegation,
} from './delegation-store.js';
import { eligibleApprovers } from './model.js';
import { peopleFacts } from './people.js';
import { getRequestDetail } from './repository.js';
import { notify, refreshHomes, syncMessages } from './notices.js';
import type { RequestDeps } from './service.js';
import type { Words } from './words.js';

/** How far ahead a delegation may run: longer absences belong in the config's approver lists. */
export const MAX_DELEGATION_DAYS = 90;
const delegationExpiry = z.object({ delegationId: z.number().int() });
declare module '../jobs/kinds.js' {
  interface JobPayloads { 'delegation.expire': z.infer<typeof delegationExpiry> }
}
export const DELEGATION_EXPIRY_JOB = defineJob('delegation.expire', delegationExpiry);

export type DelegationResult = { ok: true; delegation: Delegation; replaced: Delegation | undefined; routedToIt: number } | { ok: false; message: Words };

/** Why this last day cannot be used (in the past, too far ahead, not a date), or null: text, escaped where it is shown. */
export function untilDateProblem(untilDate: string, now: number, timeZone: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(untilDate);
  // A date that does not exist (2026-02-30) does not survive the round trip through the calendar.
  if (!match || new Date(`${untilDate}T00:00:00Z`).toISOString().slice(0, 10) !== untilDate) {
    return `\`${untilDate.slice(0, 20)}\` is not a date: write it like 2026-12-24.`;
  }
  const today = dateInZone(now, timeZone);
  if (untilDate < today) return `${untilDate} is in the past (today is ${today} in ${timeZone}).`;
  const latest = addDaysToDate(today, MAX_DELEGATION_DAYS);
  if (untilDate > latest) return `A delegation can last at most ${MAX_DELEGATION_DAYS} days: the latest last day is ${latest}.`;
  return null;
}

/** Re-renders the cards of every request with a step this approver is listed on, and both people's Home tabs. */
function resyncApprovalsOf(deps: RequestDeps, delegator: string, delegate: string): void {
  for (const requestId of requestsWithPendingStepsOf(deps.db, delegator)) syncMessages(deps, requestId);
  refreshHomes(deps, [delegator, delegate]);
}

/**
 * A step the delegator was listed on that nobody may decide any more (their delegate is barred from it and no
 * other approver is left) goes to the IT admins, as a step that opened like that would.
 */
function routeStrandedSteps(deps: RequestDeps, delegator: string, now: number): number {
  let routed = 0;
  const facts = peopleFacts(deps);
  for (const requestId of requestsWithPendingStepsOf(deps.db, delegator)) {
    const detail = getRequestDetail(deps.db, requestId)!;
    for (const approval of detail.approvals) {
      if (approval.state !== 'pending' || approval.fallbackToIt || !approval.approvers.includes(delegator)) continue;
      if (eligibleApprovers(detail, approval.appId, approval.stepIndex, approval.approvers, facts).length > 0) continue;
      deps.db.prepare('UPDATE approvals SET fallback_to_it = 1 WHERE id = ? AND state = ?').run(approval.id, 'pending');
      writeAudit(deps.db, now, { actor: 'accessbot', action: 'approval.routed_to_it', requestId, appId: approval.appId, detail: { stepIndex: approval.stepIndex, because: 'delegation', delegator } });
      syncMessages(deps, requestId);
      routed++;
    }
  }
  return routed;
}

function endWithin(deps: RequestDeps, delegation: Delegation, actor: string, why: 'off' | 'expired' | 'replaced', now: number): boolean {
  if (!markDelegationEnded(deps.db, delegation.id, actor, now)) return false;
  writeAudit(deps.db, now, { actor, action: 'delegation.ended', detail: { delegator: delegation.delegator, delegate: delegation.delegate, until: delegation.untilDate, why } });
  if (why === 'replaced') return true;
  const ended = { type: 'delegation_ended', delegator: delegation.delegator, delegate: delegation.delegate, untilDate: delegation.untilDate, expired: why === 'expired' } as const;
  notify(deps, delegation.delegator, { ...ended, audience: 'delegator' });
  notify(deps, delegation.delegate, { ...ended, audience: 'delegate' });
  resyncApprovalsOf(deps, delegation.delegator, delegation.delegate);
  return true;
}

/**
 * Starts a delegation, replacing one in force. The checks that need Slack (the delegate is a person, active, not
 * a bot) are the caller's; these are the ones the database answers.
 */
export function startDelegation(deps: RequestDeps, input: { delegator: string; delegate: string; untilDate: string; delegatorName: string | null }): DelegationResult {
  const { delegator, delegate, untilDate } = input;
  if (delegate === delegator) return { ok: false, message: 'You cannot delegate your approvals to yourself. Name the colleague who decides for you.' };
  const problem = untilDateProblem(untilDate, deps.clock.now(), deps.config.timezone);
  if (problem) return { ok: false, message: `${problem} Nothing was changed.` };
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): DelegationResult => {
    // One hop only: approvals are never passed on by someone who is away themselves.
    const theirs = delegationOf(deps.db, delegate, now);
    if (theirs) {
      return { ok: false, message: [{ person: delegate }, ' has handed their own approvals to ', { person: theirs.delegate }, ` until ${theirs.untilDate}, so cannot take yours. Choose someone else. Nothing was changed.`] };
    }
    const replaced = unendedDelegationOf(deps.db, delegator);
    if (replaced) endWithin(deps, replaced, delegator, 'replaced', now);
    const endsAt = startOfDateInZone(addDaysToDate(untilDate, 1), deps.config.timezone);
    const delegation: Omit<Delegation, 'id'> = { delegator, delegate, untilDate, endsAt, delegatorName: input.delegatorName, createdAt: now };
    const id = insertDelegation(deps.db, delegation);
    writeAudit(deps.db, now, { actor: delegator, action: 'delegation.started', detail: { delegator, delegate, until: untilDate, endsAt, replaced: replaced?.id } });
    enqueue(deps.db, now, DELEGATION_EXPIRY_JOB, { delegationId: id }, { key: `delegation:${id}:expire`, runAt: endsAt });
    const routedToIt = routeStrandedSteps(deps, delegator, now);
    const started = { type: 'delegation_started', delegator, delegate, untilDate, timezone: deps.config.timezone } as const;
    notify(deps, delegate, { ...started, audience: 'delegate' });
    notify(deps, delegator, { ...started, audience: 'delegator' });
    resyncApprovalsOf(deps, delegator, delegate);
    if (replaced && replaced.delegate !== delegate) refreshHomes(deps, [replaced.delegate]);
    return { ok: true, delegation: { ...delegation, id }, replaced, routedToIt };
  });
  deps.wake();
  return result;
}

export type EndResult = { ok: true; delegation: Delegation } | { ok: false; message: Words };

/** `/access delegate off`: the approvals come back to the delegator at once. */
export function endDelegation(deps: RequestDeps, delegator: string): EndResult {
  const now = deps.clock.now();
  const result = inTransaction(deps.db, (): EndResult => {
    const delegation = delegationOf(deps.db, delegator, now);
    if (!delegation) return { ok: false, message: 'You have no delegation in force: your approvals already come to you.' };
    endWithin(deps, delegation, delegator, 'off', now);
    return { ok: true, delegation };
  });
  deps.wake();
  return result;
}

/** What `/access delegate` alone answers: the delegation I gave and those I hold. */
export function delegationStatus(deps: RequestDeps, userId: string): { given: Delegation | undefined; held: Delegation[] } {
  const now = deps.clock.now();
  return { given: delegationOf(deps.db, userId, now), held: delegationsTo(deps.db, userId, now) };
}

export function registerDelegationJobs(runner: JobRunner, deps: RequestDeps): void {
  runner.register(DELEGATION_EXPIRY_JOB, {
    async run({ delegationId }) {
      const delegation = delegationById(deps.db, delegationId);
      // Ended by hand or replaced meanwhile: nothing to do. Run early (a clock set back): wait for the date.
      if (!delegation || delegation.endedAt !== null) return;
      if (delegation.endsAt > deps.clock.now()) throw new RetryAt(delegation.endsAt, 'the delegation has not reached its date yet');
      inTransaction(deps.db, () => endWithin(deps, delegation, 'accessbot', 'expired', deps.clock.now()));
      deps.wake();
    },
  });
}
