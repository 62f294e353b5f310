/**
 * When the next approval reminder of a step is due. Sending it is the Slack side's job
 * (`src/slack/approval-reminders.ts`); the request lifecycle only schedules it, in the transaction that opened
 * the step, so a step is never left without its reminder.
 */
import { enqueue } from '../jobs/queue.js';
import { REQUEST_JOB } from './notices.js';
import { nextReminderTime } from '../util/working-hours.js';
import type { RequestDeps } from './service.js';

export const approvalRemindKey = (approvalId: number) => `approval-remind:${approvalId}`;

/**
 * Schedules the next reminder of a step, `approvalRemindEvery` after `after` and inside the working hours.
 * Nothing when reminders are off. Call inside the transaction that opened the step or sent a reminder.
 */
export function scheduleApprovalReminder(deps: RequestDeps, approvalId: number, after: number): void {
  const every = deps.config.approvalRemindEvery;
  if (every === undefined) return;
  const runAt = nextReminderTime(after, every, deps.config.workingHours, deps.config.timezone);
  enqueue(deps.db, deps.clock.now(), REQUEST_JOB.remindApproval, { approvalId }, { key: approvalRemindKey(approvalId), mode: 'replace', runAt });
}
