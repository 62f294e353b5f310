/**
 * What the request lifecycle tells people, as data: who is told what happened, never the words. `src/slack/`
 * turns each notice into the message people read (`src/slack/notices.ts`). A notice is enqueued as a job in the
 * transaction of the change it reports, so it is sent exactly when the change commits, and survives a crash.
 */
import { z } from 'zod';
import type { Db } from '../db/connection.js';
import { defineJob } from '../jobs/kinds.js';
import { enqueue } from '../jobs/queue.js';
import type { Clock } from '../util/time.js';
import { storedWordsSchema } from './words.js';


const itemStates = z.enum(['awaiting_approval', 'denied', 'approved', 'in_progress', 'completed', 'failed', 'cancelled']);
const subject = z.object({ slackId: z.string().nullable(), email: z.string(), firstName: z.string().nullable(), lastName: z.string().nullable() });
/** Who decided: the clicker, and whom they decided for when they are a delegate. */
const decider = z.object({ by: z.string(), forWhom: z.string().nullable() });

export const noticeSchema = z.discriminatedUnion('type', [
  /** A step of an app went to the IT admins because nobody listed may decide it (told to the requester). */
  z.object({ type: z.literal('step_routed_to_it'), requestId: z.string(), appId: z.string(), stepIndex: z.number(), itChannel: z.string() }),
  /** Nobody at all may decide a step, IT admins included (told to the IT channel). */
  z.object({ type: z.literal('step_undecidable'), requestId: z.string(), appId: z.string(), stepIndex: z.number() }),
  z.object({ type: z.literal('denied'), requestId: z.string(), appId: z.string(), reason: z.string().nullable(), ...decider.shape }),
  /** One step of several approved; the next is open. */
  z.object({ type: z.literal('step_approved'), requestId: z.string(), appId: z.string(), stepIndex: z.number(), steps: z.number(), ...decider.shape }),
  /** The last step approved: fulfillment starts now, on `startsOn`, or waits for a connector (`no_connector`). */
  z.object({
    type: z.literal('approved'), requestId: z.string(), appId: z.string(), ...decider.shape,
    fulfillment: z.discriminatedUnion('when', [z.object({ when: z.literal('now') }), z.object({ when: z.literal('on'), date: z.string() }), z.object({ when: z.literal('no_connector') })]),
  }),
  /** `detail` is the connector's reason as stored with the item, in words (src/requests/words.ts). */
  z.object({ type: z.literal('item_failed'), requestId: z.string(), appId: z.string(), subject, detail: storedWordsSchema }),
  /** No item is open any more: how many ended in each state. */
  z.object({ type: z.literal('request_finished'), requestId: z.string(), states: z.array(z.tuple([itemStates, z.number()])) }),
  /** A pending decision is no longer needed: told to its approvers (`audience: 'approver'`) or the IT channel. */
  z.object({ type: z.literal('decision_withdrawn'), requestId: z.string(), by: z.string(), byRequester: z.boolean(), audience: z.enum(['approver', 'it']) }),
  /** Someone other than the requester cancelled the request (told to the requester). */
  z.object({ type: z.literal('cancelled_for_you'), requestId: z.string(), by: z.string(), cancelled: z.number() }),
  /** The account found at execution is not the one the approvers saw: nothing was done, the last step reopened. */
  z.object({ type: z.literal('preview_changed'), requestId: z.string(), appId: z.string(), subject, change: z.string(), audience: z.enum(['approver', 'requester']) }),
  /** Slack said a person with access was deactivated: an offboarding was filed for these apps (told to the IT channel). */
  z.object({ type: z.literal('leaver_filed'), requestId: z.string(), subject, appIds: z.array(z.string()) }),
  /** An access ends on `endDate`: told to the person (`subject`) and the requester, with a way to ask for more. */
  z.object({ type: z.literal('access_ending'), requestId: z.string(), itemId: z.number(), appId: z.string(), subject, endDate: z.string(), audience: z.enum(['subject', 'requester']) }),
  z.object({ type: z.literal('delegation_started'), delegator: z.string(), delegate: z.string(), untilDate: z.string(), timezone: z.string(), audience: z.enum(['delegator', 'delegate']) }),
  z.object({ type: z.literal('delegation_ended'), delegator: z.string(), delegate: z.string(), untilDate: z.string(), expired: z.boolean(), audience: z.enum(['delegator', 'delegate']) }),
]);
export type Notice = z.infer<typeof noticeSchema>;

/** The payload of a `request.notice` job: a user id or channel id, and what to tell them. */
export const noticeJobSchema = z.object({ to: z.string(), notice: noticeSchema });
export type NoticeJob = z.infer<typeof noticeJobSchema>;

declare module '../jobs/kinds.js' {
  interface JobPayloads {
    'request.notice': NoticeJob;
    'request.sync_messages': { requestId: string };
    'slack.refresh_home': { userId: string };
    'approval.remind': { approvalId: number };
    'slack.person_report': { requestId: string; email: string };
  }
}

/**
 * The jobs this module leaves for whoever shows requests to people (`src/slack/` runs them). Their kind strings
 * are stored in queued rows, so they never change.
 */
export const REQUEST_JOB = {
  /** Tell one person or channel about a change. */
  notice: defineJob('request.notice', noticeJobSchema),
  /** Post missing cards and re-render every message about a request from the database. */
  syncMessages: defineJob('request.sync_messages', z.object({ requestId: z.string() })),
  /** Re-publish one person's Home tab. */
  refreshHome: defineJob('slack.refresh_home', z.object({ userId: z.string() })),
  /** Remind the approvers of one pending approval step. */
  remindApproval: defineJob('approval.remind', z.object({ approvalId: z.number().int().positive() })),
  /** Post or update the per-person access report sent to an offboarding's requester. */
  personReport: defineJob('slack.person_report', z.object({ requestId: z.string(), email: z.string() })),
} as const;

/** Enqueues a notice; call inside the transaction of the change it reports. */
export function notify(deps: { db: Db; clock: Clock }, to: string, notice: Notice): void {
  const job: NoticeJob = { to, notice };
  enqueue(deps.db, deps.clock.now(), REQUEST_JOB.notice, job);
}

/** Debounce for re-rendering messages while a bulk run reports progress. */
export const PROGRESS_REFRESH_MS = 3000;

export function syncMessages(deps: { db: Db; clock: Clock }, requestId: string, delayMs = 0): void {
  enqueue(deps.db, deps.clock.now(), REQUEST_JOB.syncMessages, { requestId }, { key: `sync:${requestId}`, mode: 'coalesce', runAt: deps.clock.now() + delayMs, queue: `sync:${requestId}` });
}

export function refreshHomes(deps: { db: Db; clock: Clock }, userIds: Iterable<string>): void {
  for (const userId of new Set(userIds)) {
    enqueue(deps.db, deps.clock.now(), REQUEST_JOB.refreshHome, { userId }, { key: `home:${userId}`, mode: 'coalesce', runAt: deps.clock.now() + 500 });
  }
}
