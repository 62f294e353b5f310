/** `/access [onboard|offboard|status|tasks|cancel <id>|delegate …|report …|help]`. Acks first; the modal opens inside the trigger's 3 seconds. */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { isOpenRequest } from '../../../requests/model.js';
import { requestsOf } from '../../../requests/repository.js';
import { cancelRequest } from '../../../requests/service.js';
import { delegateCommandText } from './delegate.js';
import { escapeMrkdwn } from '../../../util/mrkdwn.js';
import type { View } from '@slack/types';
import type { RequestKind } from '../../../requests/model.js';
import { addDaysToDate, dateInZone, startOfDateInZone } from '../../../util/time.js';
import { requestModal } from '../../blocks/modals.js';
import { requestOverviewText } from '../../blocks/request.js';
import { reportCommandAnswer } from '../../person-report.js';
import { SOMETHING_WENT_WRONG, USAGE, cancelRefusalText, cancelledText } from '../../replies.js';

export type TasksText = (ctx: AppContext, userId: string) => string;

/**
 * The request form changes only with the day (its effective date starts at today) and the kind asked for, so it
 * is built once per day and kind, not on every `/access` (the work right after the ack, which the next commands
 * wait behind). Today is kept from the zone's midnight to the next one (DST included); a clock set back rebuilds.
 */
function requestModalOfToday(ctx: AppContext): (kind: RequestKind | undefined) => View {
  let day: { today: string; from: number; until: number } | undefined;
  const views = new Map<RequestKind | undefined, View>();
  return (kind) => {
    const now = ctx.clock.now();
    if (!day || now < day.from || now >= day.until) {
      const { timezone } = ctx.config;
      const today = dateInZone(now, timezone);
      day = { today, from: startOfDateInZone(today, timezone), until: startOfDateInZone(addDaysToDate(today, 1), timezone) };
      views.clear();
    }
    let view = views.get(kind);
    if (!view) views.set(kind, (view = requestModal(ctx.config, day.today, kind)));
    return view;
  };
}

export function accessCommand(ctx: AppContext, tasksText: TasksText) {
  const modalOfToday = requestModalOfToday(ctx);
  return async ({ command, ack, client, logger }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    const word = command.text.trim().toLowerCase();
    try {
      if (word === '' || word === 'onboard' || word === 'offboard' || word === 'new') {
        await ack();
        const kind = word === 'onboard' || word === 'offboard' ? word : undefined;
        await client.views.open({ trigger_id: command.trigger_id, view: modalOfToday(kind) });
        return;
      }
      if (word === 'status') {
        const open = requestsOf(ctx.db, command.user_id).filter(isOpenRequest);
        const text = open.length
          ? `*Your open requests* (${open.length})\n\n${open.map((detail) => requestOverviewText(ctx.config, detail, ctx.clock.now())).join('\n\n')}`
          : 'You have no open requests. Type `/access` to make one.';
        await ack({ response_type: 'ephemeral', text });
        return;
      }
      if (word === 'cancel' || word.startsWith('cancel ')) {
        const requestId = command.text.trim().split(/\s+/)[1]?.toUpperCase() ?? '';
        if (!/^AR-[A-Z0-9]{1,20}$/.test(requestId)) {
          const given = requestId ? `\`${escapeMrkdwn(requestId.slice(0, 40))}\` is not a request id. ` : 'Which request? ';
          await ack({ response_type: 'ephemeral', text: `${given}Type \`/access cancel AR-…\` with the id from your request message or \`/access status\`.` });
          return;
        }
        const result = cancelRequest(ctx, requestId, command.user_id);
        await ack({ response_type: 'ephemeral', text: result.ok ? cancelledText(ctx.config, result) : cancelRefusalText(result) });
        return;
      }
      if (word === 'delegate' || word.startsWith('delegate ')) {
        const text = await delegateCommandText(ctx, client, command.user_id, command.user_name, command.text.trim().slice('delegate'.length).trim());
        await ack({ response_type: 'ephemeral', text });
        return;
      }
      if (word === 'report' || word.startsWith('report ')) {
        await ack({ response_type: 'ephemeral', ...reportCommandAnswer(ctx, command.user_id, command.text.trim().slice('report'.length)) });
        return;
      }
      if (word === 'tasks') {
        await ack({ response_type: 'ephemeral', text: tasksText(ctx, command.user_id) });
        return;
      }
      const prefix = word === 'help' ? '' : `I don't know \`/access ${escapeMrkdwn(command.text.trim().slice(0, 50))}\`.\n\n`;
      await ack({ response_type: 'ephemeral', text: prefix + USAGE });
    } catch (error) {
      logger.error(`/access ${word} failed: ${(error as Error).message}`);
      await ack({ response_type: 'ephemeral', text: SOMETHING_WENT_WRONG }).catch(() => undefined);
    }
  };
}
