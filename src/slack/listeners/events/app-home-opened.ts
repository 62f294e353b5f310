import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { refreshHomes } from '../../../requests/service.js';

/** Publishing goes through the job queue like every other Slack write; opening the tab only asks for it. */
export function appHomeOpened(ctx: AppContext) {
  return async ({ event }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'home') return;
    refreshHomes(ctx, [event.user]);
    ctx.wake();
  };
}
