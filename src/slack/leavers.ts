/**
 * Leavers noticed, the Slack side: a `user_change` event only says what its body says, so the job asks Slack
 * (users.info) whether the person really is deactivated before anything is filed (src/requests/leavers.ts).
 */
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { RetryAt } from '../jobs/errors.js';
import { defineJob } from '../jobs/kinds.js';
import { enqueue } from '../jobs/queue.js';
import { fileLeaverOffboarding, hasRecordedAccess } from '../requests/leavers.js';
import { permanentSlackError, slackCall, slackErrorCode } from './errors.js';

declare module '../jobs/kinds.js' {
  interface JobPayloads {
    'slack.leaver_check': { userId: string };
  }
}

/** Check one Slack user Slack reported as deactivated, and file their offboardings if they are. */
export const LEAVER_JOB = defineJob('slack.leaver_check', z.object({ userId: z.string() }));

/** Until the IT team's user groups are read, there is nobody to file as: try again this much later. */
const NO_REQUESTER_RETRY_MS = 60_000;

/**
 * Called from the event listener: coalesced per person, so Slack's retries and a burst of profile changes make
 * one check, and one queue per person, so two checks of the same person never run at once.
 */
export function checkLeaverSoon(ctx: AppContext, userId: string): void {
  enqueue(ctx.db, ctx.clock.now(), LEAVER_JOB, { userId }, { key: `leaver:${userId}`, mode: 'coalesce', queue: `leaver:${userId}` });
  ctx.wake();
}

export function registerLeaverJob(ctx: AppContext): void {
  ctx.runner.register(LEAVER_JOB, {
    logFields: ({ userId }) => ({ userId }),
    async run({ userId }) {
      // Most deactivated people never had access through accessbot: no Slack call for those the directory knows.
      // Someone it does not know yet (a new hire onboarded by e-mail who joined Slack since its last read) is
      // asked of Slack, whose answer gives the e-mail their access was recorded under.
      if (!hasRecordedAccess(ctx, { slackId: userId, email: null, name: null })) {
        const inDirectory = ctx.knownEmails?.readAt(userId) !== undefined;
        const knownEmail = ctx.knownEmails?.emailOf(userId);
        if (inDirectory && (!knownEmail || !hasRecordedAccess(ctx, { slackId: userId, email: knownEmail, name: null }))) {
          ctx.log.info('leaver check: nothing to offboard (no access recorded, or its offboarding already filed)', { userId });
          return;
        }
      }
      const { user } = await slackCall(ctx, () => ctx.slack.users.info({ user: userId })).catch((error: unknown) => {
        // An id Slack does not know (a forged event) is no leaver, and no failure worth alerting on.
        if (slackErrorCode(error) === 'user_not_found') return { user: undefined };
        throw permanentSlackError(error, 'users.info refused') ?? error;
      });
      // Slack's answer is the directory's too: a deactivated approver is skipped from now on, not from the next refresh.
      if (user) ctx.people.remember([user]);
      if (!user || user.deleted !== true) {
        ctx.log.info('leaver check: Slack says the user is active (or does not know them), nothing filed', { userId });
        return;
      }
      const email = user.profile?.email?.toLowerCase() ?? null;
      const outcome = fileLeaverOffboarding(ctx, { slackId: userId, email, name: null });
      if ('reason' in outcome && outcome.reason === 'no_requester') {
        throw new RetryAt(ctx.clock.now() + NO_REQUESTER_RETRY_MS, 'no IT admin known yet to file the offboarding as');
      }
      if ('reason' in outcome && outcome.reason === 'no_access') {
        ctx.log.info('leaver check: nothing to offboard (no access recorded, or its offboarding already filed)', { userId });
        return;
      }
      ctx.log.info('leaver check done', { userId, filed: outcome.filed.map((request) => request.requestId) });
    },
  });
}
