/**
 * Approval reminders: a step nobody has decided is reminded to whoever may decide it every
 * `approvalRemindEvery`, inside `workingHours`, as a reply in the thread under their approval card (the IT
 * card for a step that fell back to IT), never as a new card. After `approvalEscalateAfter` reminders the IT
 * channel is told once. Each reminder is a durable job that schedules the next from the time it actually ran,
 * so after downtime one catch-up reminder goes out, not a burst.
 */
import type { AppContext } from '../context.js';
import { writeAudit } from '../db/audit.js';
import { inTransaction, type Db } from '../db/connection.js';
import { RetryAt } from '../jobs/errors.js';
import { enqueue } from '../jobs/queue.js';
import type { JobRunner } from '../jobs/runner.js';
import { eligibleApprovers, type Approval, type RequestDetail } from '../requests/model.js';
import { peopleFacts } from '../requests/people.js';
import { approvalRemindKey, scheduleApprovalReminder } from '../requests/reminders.js';
import { getRequestDetail } from '../requests/repository.js';
import { REQUEST_JOB, refreshHomes, syncMessages } from '../requests/notices.js';
import { SLACK_JOB } from './kinds.js';
import { alignToHours, isWithinHours, parseReminderHours } from '../util/working-hours.js';
import { approvalEscalation, approvalReminder } from './blocks/reminders.js';
import { slackCall } from './errors.js';
import { recordReposted, storedMessage } from './outbox.js';

interface ReminderState { request_id: string; state: string; reminders_sent: number; escalated_at: number | null }

const reminderState = (db: Db, approvalId: number) =>
  db.prepare('SELECT request_id, state, reminders_sent, escalated_at FROM approvals WHERE id = ?').get(approvalId) as ReminderState | undefined;

/** Where one reminder goes: the card it is threaded under, and who it is for. */
interface Target { card: 'approval_card' | 'it_approval_card'; cardRecipient: string; recipients: string[] }

/** Whoever may decide the step now: its listed approvers but those barred, or the IT admins for a fallback step. */
function targetsOf(ctx: AppContext, detail: RequestDetail, approval: Approval): Target[] {
  const facts = peopleFacts(ctx);
  if (approval.fallbackToIt) {
    const admins = eligibleApprovers(detail, approval.appId, approval.stepIndex, ctx.itAdmins.members(), facts);
    return [{ card: 'it_approval_card', cardRecipient: ctx.config.itChannel, recipients: admins }];
  }
  return eligibleApprovers(detail, approval.appId, approval.stepIndex, approval.approvers, facts).map((approver) => ({ card: 'approval_card', cardRecipient: approver, recipients: [approver] }));
}

async function remind(ctx: AppContext, approvalId: number): Promise<void> {
  const now = ctx.clock.now();
  const { config } = ctx;
  const hours = parseReminderHours(config.workingHours);
  const due = inTransaction(ctx.db, () => {
    const state = reminderState(ctx.db, approvalId);
    // Decided, cancelled, or reminders switched off since: the chain ends here.
    if (!state || state.state !== 'pending' || config.approvalRemindEvery === undefined) return undefined;
    // Due inside the hours but run outside them (the bot was down, or the job retried): wait for the next window.
    if (hours && !isWithinHours(now, hours, config.timezone)) {
      enqueue(ctx.db, now, REQUEST_JOB.remindApproval, { approvalId }, { key: approvalRemindKey(approvalId), mode: 'replace', runAt: alignToHours(now, hours, config.timezone) });
      return undefined;
    }
    const detail = getRequestDetail(ctx.db, state.request_id)!;
    return { detail, approval: detail.approvals.find((approval) => approval.id === approvalId)!, count: state.reminders_sent + 1 };
  });
  if (!due) return;
  const { detail, approval, count } = due;
  const purpose = `approval_reminder:${approvalId}`;
  const failures: string[] = [];
  for (const target of targetsOf(ctx, detail, approval)) {
    // A retry after a partial failure does not remind twice those already reminded this round.
    const reminderKey = { requestId: detail.request.id, purpose, recipient: target.cardRecipient };
    if (storedMessage(ctx.db, reminderKey)?.contentHash === String(count)) continue;
    const card = storedMessage(ctx.db, { requestId: detail.request.id, purpose: target.card, recipient: target.cardRecipient });
    // Looked at again right before each post: a decision made meanwhile stops the rest of this round.
    if (reminderState(ctx.db, approvalId)?.state !== 'pending') return;
    const rendered = approvalReminder(config, detail, approval, { recipients: target.recipients, count, now, underCard: card !== undefined });
    // A card that could not be posted (its sync job is failing and IT was told) leaves a plain message, not silence.
    const where = card ? { channel: card.channel, thread_ts: card.ts } : { channel: target.cardRecipient };
    let posted;
    try {
      posted = await slackCall(ctx, () => ctx.slack.chat.postMessage({ ...where, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
    } catch (error) {
      if (error instanceof RetryAt) throw error;
      failures.push(`${target.cardRecipient}: ${(error as Error).message}`);
      continue;
    }
    recordReposted(ctx.db, reminderKey, { channel: posted.channel ?? where.channel, ts: posted.ts ?? '', contentHash: String(count) }, now);
  }
  if (failures.length) throw new Error(`approval reminder not sent to ${failures.join('; ')}`);
  inTransaction(ctx.db, () => {
    const counted = ctx.db.prepare("UPDATE approvals SET reminders_sent = ? WHERE id = ? AND state = 'pending' AND reminders_sent = ?").run(count, approvalId, count - 1).changes === 1;
    if (!counted) return;
    const recipients = targetsOf(ctx, detail, approval).flatMap((target) => target.recipients);
    writeAudit(ctx.db, now, { actor: 'accessbot', action: 'approval.reminded', requestId: detail.request.id, appId: approval.appId, detail: { stepIndex: approval.stepIndex, reminder: count, recipients } });
    scheduleApprovalReminder(ctx, approvalId, now);
    const escalate = count >= config.approvalEscalateAfter
      && ctx.db.prepare('UPDATE approvals SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL').run(now, approvalId).changes === 1;
    if (escalate) {
      const rendered = approvalEscalation(config, detail, approval, { recipients, count, now });
      enqueue(ctx.db, now, SLACK_JOB.sendMessage, { channel: config.itChannel, text: rendered.text, blocks: rendered.blocks }, { key: `approval-escalation:${approvalId}` });
      writeAudit(ctx.db, now, { actor: 'accessbot', action: 'approval.escalated', requestId: detail.request.id, appId: approval.appId, detail: { stepIndex: approval.stepIndex, reminders: count, waitingOn: recipients, since: approval.openedAt } });
    }
    // "waiting on @x since 2 days" on the requester's message and Home would otherwise stay at its first age.
    syncMessages(ctx, detail.request.id);
    refreshHomes(ctx, [detail.request.requesterId]);
  });
  ctx.wake();
}

export function registerApprovalReminders(runner: JobRunner, ctx: AppContext): void {
  runner.register(REQUEST_JOB.remindApproval, {
    logFields: ({ approvalId }) => ({ approvalId, requestId: reminderState(ctx.db, approvalId)?.request_id }),
    run: ({ approvalId }) => remind(ctx, approvalId),
    // A reminder that keeps failing (an approver Slack will not deliver to) must not end the chain: the round
    // counts as sent, so those it did reach are reminded again next time, at the next interval.
    onGiveUp({ approvalId }) {
      const state = reminderState(ctx.db, approvalId);
      if (state?.state !== 'pending') return;
      ctx.db.prepare('UPDATE approvals SET reminders_sent = reminders_sent + 1 WHERE id = ?').run(approvalId);
      scheduleApprovalReminder(ctx, approvalId, ctx.clock.now());
      ctx.wake();
    },
  });
  if (ctx.config.approvalRemindEvery === undefined) return;
  // Steps opened while reminders were off (or before this version) get theirs too: one now if long overdue.
  const unscheduled = ctx.db
    .prepare(
      `SELECT id, created_at FROM approvals a WHERE state = 'pending'
       AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.key = 'approval-remind:' || a.id AND j.state IN ('queued', 'running'))`,
    )
    .all() as { id: number; created_at: number }[];
  inTransaction(ctx.db, () => {
    for (const { id, created_at } of unscheduled) scheduleApprovalReminder(ctx, id, created_at);
  });
}
