import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { checkLeaverSoon } from '../../leavers.js';

/**
 * `leaverDetection`: a profile change that says the user is deactivated queues a check; the job asks Slack
 * itself, so a forged or stale event files nothing. Only SQLite writes here, so the ack is never late.
 */
export function userChange(ctx: AppContext) {
  return ({ event }: SlackEventMiddlewareArgs<'user_change'> & AllMiddlewareArgs): Promise<void> => {
    const user = event.user as { id?: unknown; deleted?: unknown } | undefined;
    // Whatever changed (e-mail, name, deactivation), the directory reads this person again before relying on them.
    if (typeof user?.id === 'string') ctx.people.markChanged(user.id);
    if (user?.deleted !== true || typeof user.id !== 'string') return Promise.resolve();
    if (ctx.config.leaverDetection) checkLeaverSoon(ctx, user.id);
    // Said once per deactivation, so an operator who expected an offboarding sees why none came.
    else ctx.log.info('a Slack user was deactivated; leaverDetection is off, so nothing is filed', { userId: user.id });
    return Promise.resolve();
  };
}
