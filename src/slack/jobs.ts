/**
 * The Slack side effects that must not be lost: posting messages, keeping every message about a request in
 * step with the database, publishing Home tabs. They run as durable jobs, so a Slack outage delays them.
 * Message coordinates (channel, ts) are stored, so a restarted bot updates the same messages.
 */
import { createHash } from 'node:crypto';
import type { KnownBlock } from '@slack/types';
import type { AppContext } from '../context.js';
import { PermanentError, RetryAt } from '../jobs/errors.js';
import { JOB, type JobPayloads } from '../jobs/kinds.js';
import { enqueue } from '../jobs/queue.js';
import { delegationOf, delegationsTo } from '../requests/delegation-store.js';
import { decidersOf, decidingFor, isOpenRequest, pendingDecidableBy, refusalFor, type Approval, type RequestDetail } from '../requests/model.js';
import { peopleFacts } from '../requests/people.js';
import { channelMention, escapeMrkdwn, joinMrkdwn, mention, mrkdwn, quoteLines, trustedMrkdwn, type Mrkdwn } from '../util/mrkdwn.js';
import { getRequestDetail, requestsAwaiting, requestsOf } from '../requests/repository.js';
import { homeView } from './blocks/home.js';
import { approvalCard, failureAlert, requesterStatus, type Rendered } from './blocks/request.js';

/** A rate-limited Slack call is retried when Slack says, without spending an attempt. */
export async function slackCall<T>(ctx: AppContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const retryAfter = (error as { retryAfter?: number }).retryAfter;
    if (typeof retryAfter === 'number') throw new RetryAt(ctx.clock.now() + retryAfter * 1000, `Slack rate limit: retry after ${retryAfter}s`);
    throw error;
  }
}

interface MessageRow { id: number; channel: string; ts: string; content_hash: string | null }

const hashOf = (rendered: Rendered) => createHash('sha256').update(JSON.stringify(rendered)).digest('hex').slice(0, 16);

/** Posts the message once, or updates the stored one when its content changed. */
export async function upsertMessage(ctx: AppContext, requestId: string | null, purpose: string, recipient: string, rendered: Rendered): Promise<void> {
  const row = ctx.db.prepare('SELECT id, channel, ts, content_hash FROM slack_messages WHERE request_id IS ? AND purpose = ? AND recipient = ?').get(requestId, purpose, recipient) as
    | MessageRow
    | undefined;
  const hash = hashOf(rendered);
  if (row) {
    if (row.content_hash === hash) return;
    await slackCall(ctx, () => ctx.slack.chat.update({ channel: row.channel, ts: row.ts, text: rendered.text, blocks: rendered.blocks }));
    ctx.db.prepare('UPDATE slack_messages SET content_hash = ? WHERE id = ?').run(hash, row.id);
    return;
  }
  const posted = await slackCall(ctx, () => ctx.slack.chat.postMessage({ channel: recipient, text: rendered.text, blocks: rendered.blocks, unfurl_links: false }));
  ctx.db
    .prepare('INSERT INTO slack_messages (request_id, purpose, recipient, channel, ts, content_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(requestId, purpose, recipient, posted.channel!, posted.ts!, hash, ctx.clock.now());
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
  // Every approver of a listed step gets a card (it keeps them informed), with buttons for what they may decide now.
  const approvers = new Set<string>();
  for (const approval of detail.approvals) {
    if (approval.fallbackToIt) continue;
    for (const approver of approval.approvers) {
      const bar = refusalFor(detail, approval, approver, facts)?.reason;
      // Nobody reads a deactivated account's DMs (and Slack may refuse them): it is skipped like an absent one.
      if (bar !== 'own_request' && bar !== 'own_access' && !facts.isDeactivated?.(approver)) approvers.add(approver);
    }
  }
  // Delegates of listed approvers get one too; so does whoever had one before (a delegation that ended), so
  // their buttons go away.
  for (const approval of detail.approvals) {
    if (approval.state !== 'pending' || approval.fallbackToIt) continue;
    for (const [decider, forWhom] of decidersOf(detail, approval, facts)) if (forWhom) approvers.add(decider);
  }
  const carded = ctx.db.prepare("SELECT recipient FROM slack_messages WHERE request_id = ? AND purpose = 'approval_card'").all(requestId) as { recipient: string }[];
  for (const { recipient } of carded) approvers.add(recipient);
  const listedPending = (userId: string) => pendingDecidableBy(detail, userId, facts).filter((approval) => !approval.fallbackToIt);
  for (const approver of approvers) {
    const personal = listedPending(approver);
    const forId = personal.map((approval) => decidingFor(detail, approval, approver, facts)).find((id) => id !== null);
    const forWhom = forId ? { id: forId, name: delegationOf(ctx.db, forId, ctx.clock.now())?.delegatorName ?? null } : undefined;
    // Said only where a step still waiting lists them; a card from a step they decided before stays as it was.
    const listedOnPending = detail.approvals.some((approval) => approval.state === 'pending' && !approval.fallbackToIt && approval.approvers.includes(approver));
    const delegatedTo = listedOnPending ? facts.delegateOf?.(approver) : undefined;
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
  await upsert('requester_status', detail.request.requesterId, requesterStatus(config, detail, ctx.clock.now()));
  const appsWithAlerts = new Set(
    (ctx.db.prepare("SELECT purpose FROM slack_messages WHERE request_id = ? AND purpose LIKE 'failure_alert:%'").all(requestId) as { purpose: string }[]).map((row) =>
      row.purpose.slice('failure_alert:'.length)),
  );
  for (const item of detail.items) if (item.state === 'failed') appsWithAlerts.add(item.appId);
  for (const appId of appsWithAlerts) await upsert(`failure_alert:${appId}`, config.itChannel, failureAlert(config, detail, appId));
  if (failures.length) throw new Error(failures.join('; '));
  if (rateLimited) throw rateLimited;
}

/** Slack's answers that retrying the same message cannot change. */
const UNDELIVERABLE = new Set([
  'channel_not_found', 'not_in_channel', 'is_archived', 'user_not_found', 'user_disabled', 'cannot_dm_bot', 'messages_tab_disabled',
  'restricted_action', 'invalid_blocks', 'msg_too_long', 'no_text', 'too_many_attachments',
]);

function undeliverableReason(error: unknown): string | undefined {
  const code = (error as { data?: { error?: unknown } }).data?.error;
  return typeof code === 'string' && UNDELIVERABLE.has(code) ? code : undefined;
}

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
    enqueue(ctx.db, now, JOB.sendMessage, message, { runAt: now + ctx.config.jobs.retryMax });
    ctx.log.warn('Slack message not delivered yet; queued again', { channel: message.channel, at: new Date(now + ctx.config.jobs.retryMax).toISOString() });
    return;
  }
  if (message.channel === ctx.config.itChannel) {
    ctx.log.error('Slack message to the IT channel cannot be delivered', { reason, text: message.text });
    return;
  }
  const to = /^[CG]/.test(message.channel) ? channelMention(message.channel) : mention(message.channel);
  enqueue(ctx.db, now, JOB.sendMessage, {
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
  ctx.runner.register(JOB.sendMessage, {
    async run({ channel, text, blocks }) {
      try {
        await slackCall(ctx, () => ctx.slack.chat.postMessage({ channel, text, ...(blocks ? { blocks } : {}), unfurl_links: false }));
      } catch (error) {
        const reason = undeliverableReason(error);
        if (reason) throw new PermanentError(`Slack refused the message: ${reason}`, reason);
        throw error;
      }
    },
    onGiveUp: (message, error) => keepUndelivered(ctx, message, error),
  });
  ctx.runner.register(JOB.syncRequestMessages, {
    logFields: ({ requestId }) => ({ requestId }),
    run: ({ requestId }) => syncRequestMessages(ctx, requestId),
    // A card that cannot be delivered (an approver id that is not a user, a channel the bot is not in) must not
    // vanish into the logs: IT hears of it, and the next change of the request tries again.
    onGiveUp({ requestId }, error) {
      enqueue(ctx.db, ctx.clock.now(), JOB.sendMessage, {
        channel: ctx.config.itChannel,
        text: mrkdwn`:warning: accessbot could not post or update the Slack messages of request ${escapeMrkdwn(requestId)}: ${escapeMrkdwn(error.message)}. Check the approvers and channels in access.config.json and that the bot is invited to the channels.`,
      });
      ctx.wake();
    },
  });
  ctx.runner.register(JOB.refreshHome, {
    async run({ userId }) {
      await publishHome(ctx, userId, homeTasks);
    },
  });
}
