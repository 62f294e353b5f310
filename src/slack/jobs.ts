/**
 * The Slack side effects that must not be lost: posting messages, keeping every message about a request in
 * step with the database, publishing Home tabs. They run as durable jobs, so a Slack outage delays them.
 * Message coordinates (channel, ts) are stored, so a restarted bot updates the same messages.
 */
import { createHash } from 'node:crypto';
import type { KnownBlock } from '@slack/types';
import type { AppContext } from '../context.js';
import { PermanentError, RetryAt } from '../jobs/errors.js';
import type { JobPayloads } from '../jobs/kinds.js';
import { enqueue } from '../jobs/queue.js';
import { delegationOf, delegationsTo } from '../requests/delegation-store.js';
import { approvalAudience, approvalSeat, isOpenRequest, pendingDecidableBy, type Approval, type RequestDetail } from '../requests/model.js';
import { REQUEST_JOB, type NoticeJob } from '../requests/notices.js';
import { peopleFacts } from '../requests/people.js';
import { channelMention, escapeMrkdwn, joinMrkdwn, mention, mrkdwn, quoteLines, trustedMrkdwn, type Mrkdwn } from '../util/mrkdwn.js';
import { getRequestDetail, requestsAwaiting, requestsOf } from '../requests/repository.js';
import { cancelWouldStop } from '../requests/service.js';
import { homeView } from './blocks/home.js';
import { approvalCard, failureAlert, requesterStatus, type Rendered } from './blocks/request.js';
import { permanentSlackError, slackCall } from './errors.js';
import { SLACK_JOB } from './kinds.js';
import { noticeBlocks, noticeText } from './notices.js';
import { lastFailureChoice } from '../requests/by-hand.js';
import { appsWithFailureAlerts, cardRecipients, failureAlertPurpose, recordPosted, recordUpdated, storedMessage } from './outbox.js';

export { slackCall };

const hashOf = (rendered: Rendered) => createHash('sha256').update(JSON.stringify(rendered)).digest('hex').slice(0, 16);

/** Posts the message once, or updates the stored one when its content changed. */
export async function upsertMessage(ctx: AppContext, requestId: string | null, purpose: string, recipient: string, rendered: Rendered): Promise<void> {
  const key = { requestId, purpose, recipient };
  const stored = storedMessage(ctx.db, key);
  const hash = hashOf(rendered);
  if (stored) {
    if (stored.contentHash === hash) return;
    await slackCall(ctx, () => ctx.slack.chat.update({ channel: stored.channel, ts: stored.ts, text: rendered.text, blocks: rendered.blocks }));
    recordUpdated(ctx.db, stored.id, hash);
    return;
  }
  const posted = await slackCall(ctx, () => ctx.slack.chat.postMessage({ channel: recipient, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
  recordPosted(ctx.db, key, { channel: posted.channel!, ts: posted.ts!, contentHash: hash }, ctx.clock.now());
}

/** Renders every message about a request from its current state: cards, mirror, IT copies, the requester's status. */
async function syncRequestMessages(ctx: AppContext, requestId: string): Promise<void> {
  const detail = getRequestDetail(ctx.db, requestId);
  if (!detail) return;
  // One undeliverable message (a wrong approver id) must not hold back the others: try all, then fail with
  // what went wrong so the job retries only what is still out of date (unchanged messages are skipped).
  const failures: string[] = [];
  let rateLimited: RetryAt | undefined;
  const upsert = async (purpose: string, recipient: string, rendered: Rendered) => {
    try {
      await upsertMessage(ctx, requestId, purpose, recipient, rendered);
    } catch (error) {
      if (error instanceof RetryAt) rateLimited = error;
      else failures.push(`${recipient}: ${(error as Error).message}`);
    }
  };
  const { config } = ctx;
  const facts = peopleFacts(ctx);
  // Whom the model says to keep informed gets a card, with buttons for what they may decide now; so does whoever
  // had one before (a delegation that ended), so their buttons go away.
  const approvers = approvalAudience(detail, facts);
  for (const recipient of cardRecipients(ctx.db, requestId)) approvers.add(recipient);
  for (const approver of approvers) {
    const { decides: personal, forWhom: forId, delegatedTo } = approvalSeat(detail, approver, facts);
    const forWhom = forId ? { id: forId, name: delegationOf(ctx.db, forId, ctx.clock.now())?.delegatorName ?? null } : undefined;
    await upsert('approval_card', approver, approvalCard(config, detail, { personal, ...(forWhom ? { forWhom } : {}), ...(delegatedTo ? { delegatedTo } : {}) }));
  }
  const pending = detail.approvals.filter((approval) => approval.state === 'pending');
  const who = (approval: Approval) => (approval.fallbackToIt ? mrkdwn`an IT admin` : joinMrkdwn(approval.approvers.map(mention), ' or '));
  if (config.approvalsChannel) await upsert('approval_mirror', config.approvalsChannel, approvalCard(config, detail, { shared: pending, who }));
  if (detail.approvals.some((approval) => approval.fallbackToIt)) {
    const itPending = pending.filter((approval) => approval.fallbackToIt);
    const admins = ctx.itAdmins.members().map((id) => `<@${id}>`).join(', ');
    const note = `Nobody listed may decide this step (the requester and the people concerned cannot approve themselves, and one person decides one step), so the IT admins decide: ${admins}.`;
    await upsert('it_approval_card', config.itChannel, approvalCard(config, detail, { shared: itPending, who }, note));
  }
  await upsert('requester_status', detail.request.requesterId, requesterStatus(config, detail, ctx.clock.now(), detail.items.some((item) => cancelWouldStop(ctx, item))));
  const appsWithAlerts = new Set(appsWithFailureAlerts(ctx.db, requestId));
  for (const item of detail.items) if (item.state === 'failed') appsWithAlerts.add(item.appId);
  for (const appId of appsWithAlerts) await upsert(failureAlertPurpose(appId), config.itChannel, failureAlert(config, detail, appId, lastFailureChoice(ctx, requestId, appId)));
  if (failures.length) throw new Error(failures.join('; '));
  if (rateLimited) throw rateLimited;
}

/** Posts a message that stands alone (not one kept up to date): refused for good when Slack will never take it. */
async function postMessage(ctx: AppContext, { channel, text, blocks }: JobPayloads['slack.send']): Promise<void> {
  try {
    await slackCall(ctx, () => ctx.slack.chat.postMessage({ channel, text, ...(blocks ? { blocks } : {}), unfurl_links: false }));
  } catch (error) {
    throw permanentSlackError(error) ?? error;
  }
}

const noticeMessage = (ctx: AppContext, { to, notice }: NoticeJob) => ({ channel: to, text: noticeText(ctx.config, notice), blocks: noticeBlocks(ctx.config, notice) });

/**
 * A message the runner gave up on is never dropped. When Slack refuses it for good (a channel the bot is not in, a
 * deactivated user), IT gets its text with the reason, so someone can pass it on; when Slack was just unreachable
 * for all of `jobs.giveUpAfter`, the same message is queued again for `jobs.retryMax` later, and again after
 * that, until Slack takes it (the give-up still shows in /healthz). Runs inside the give-up transaction.
 */
function keepUndelivered(ctx: AppContext, message: JobPayloads['slack.send'], error: Error): void {
  const now = ctx.clock.now();
  const reason = error instanceof PermanentError ? error.code : undefined;
  if (!reason) {
    enqueue(ctx.db, now, SLACK_JOB.sendMessage, message, { runAt: now + ctx.config.jobs.retryMax });
    ctx.log.warn('Slack message not delivered yet; queued again', { channel: message.channel, at: new Date(now + ctx.config.jobs.retryMax).toISOString() });
    return;
  }
  if (message.channel === ctx.config.itChannel) {
    ctx.log.error('Slack message to the IT channel cannot be delivered', { reason, text: message.text });
    return;
  }
  const to = /^[CG]/.test(message.channel) ? channelMention(message.channel) : mention(message.channel);
  enqueue(ctx.db, now, SLACK_JOB.sendMessage, {
    channel: ctx.config.itChannel,
    text: mrkdwn`:warning: accessbot could not deliver this message to ${to} (Slack says ${escapeMrkdwn(reason)}); please pass it on:\n${quoteLines(trustedMrkdwn(message.text))}`,
  });
  ctx.wake();
}

/** "You handed your approvals to @x until …" and "@y handed you their approvals until …", for Home. */
function delegationLines(ctx: AppContext, userId: string): Mrkdwn[] {
  const now = ctx.clock.now();
  const lines: Mrkdwn[] = [];
  const mineOut = delegationOf(ctx.db, userId, now);
  if (mineOut) lines.push(mrkdwn`:handshake: You handed your approvals to ${mention(mineOut.delegate)} until ${escapeMrkdwn(mineOut.untilDate)} (\`/access delegate off\` to take them back).`);
  for (const incoming of delegationsTo(ctx.db, userId, now)) {
    lines.push(mrkdwn`:handshake: ${mention(incoming.delegator)} handed you their approvals until ${escapeMrkdwn(incoming.untilDate)}.`);
  }
  return lines;
}

export type HomeTasks = (ctx: AppContext, userId: string) => KnownBlock[];

export function publishHome(ctx: AppContext, userId: string, tasks: HomeTasks): Promise<unknown> {
  const mine = requestsOf(ctx.db, userId).filter(isOpenRequest);
  const facts = peopleFacts(ctx);
  // Requests naming someone who delegated to me are mine to decide too.
  const delegators = delegationsTo(ctx.db, userId, ctx.clock.now()).map((delegation) => delegation.delegator);
  const byId = new Map<string, RequestDetail>();
  for (const who of [userId, ...delegators]) {
    for (const detail of requestsAwaiting(ctx.db, who, who === userId && ctx.itAdmins.has(userId))) byId.set(detail.request.id, detail);
  }
  const awaiting = [...byId.values()]
    .sort((a, b) => a.request.createdAt - b.request.createdAt)
    .map((detail: RequestDetail) => ({ detail, decides: pendingDecidableBy(detail, userId, facts) }))
    .filter(({ decides }) => decides.length > 0);
  return slackCall(ctx, () => ctx.slack.views.publish({ user_id: userId, view: homeView(ctx.config, mine, awaiting, tasks(ctx, userId), ctx.clock.now(), delegationLines(ctx, userId)) }));
}

export function registerSlackJobs(ctx: AppContext, homeTasks: HomeTasks): void {
  ctx.runner.register(SLACK_JOB.sendMessage, {
    run: (message) => postMessage(ctx, message),
    onGiveUp: (message, error) => keepUndelivered(ctx, message, error),
  });
  // A notice is worded when it is sent; one given up on is kept as words, like any other message.
  ctx.runner.register(REQUEST_JOB.notice, {
    run: (job) => postMessage(ctx, noticeMessage(ctx, job)),
    onGiveUp: (job, error) => keepUndelivered(ctx, noticeMessage(ctx, job), error),
  });
  ctx.runner.register(REQUEST_JOB.syncMessages, {
    logFields: ({ requestId }) => ({ requestId }),
    run: ({ requestId }) => syncRequestMessages(ctx, requestId),
    // A card that cannot be delivered (an approver id that is not a user, a channel the bot is not in) must not
    // vanish into the logs: IT hears of it, and the next change of the request tries again.
    onGiveUp({ requestId }, error) {
      enqueue(ctx.db, ctx.clock.now(), SLACK_JOB.sendMessage, {
        channel: ctx.config.itChannel,
        text: mrkdwn`:warning: accessbot could not post or update the Slack messages of request ${escapeMrkdwn(requestId)}: ${escapeMrkdwn(error.message)}. Check the approvers and channels in access.config.json and that the bot is invited to the channels.`,
      });
      ctx.wake();
    },
  });
  ctx.runner.register(REQUEST_JOB.refreshHome, {
    async run({ userId }) {
      await publishHome(ctx, userId, homeTasks);
    },
  });
}
