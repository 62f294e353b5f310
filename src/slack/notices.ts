/** The words of every notice the request lifecycle emits (`src/requests/notices.ts`), as mrkdwn. */
import type { KnownBlock } from '@slack/types';
import { appById, type AccessConfig } from '../config.js';
import { STATE_LABEL } from '../requests/model.js';
import type { Notice } from '../requests/notices.js';
import { channelMention, escapeMrkdwn, mention, mrkdwn, type Mrkdwn } from '../util/mrkdwn.js';
import { subjectLabel, wordsMrkdwn } from './words.js';

const appName = (config: AccessConfig, appId: string) => escapeMrkdwn(appById(config, appId)?.name ?? appId);
const decider = (notice: { by: string; forWhom: string | null }) => (notice.forWhom ? mrkdwn`${mention(notice.by)} (for ${mention(notice.forWhom)})` : mention(notice.by));

/** The action id of "Ask for an extension" (its value: the item whose access ends). */
export const EXTEND_ACTION = 'access_extend';

/** Blocks for the notices that carry a button; the rest are their text alone. */
export function noticeBlocks(config: AccessConfig, notice: Notice): KnownBlock[] | undefined {
  if (notice.type !== 'access_ending') return undefined;
  return [
    { type: 'section', text: { type: 'mrkdwn', text: noticeText(config, notice) } },
    {
      type: 'actions', block_id: `extend:${notice.itemId}`,
      elements: [{ type: 'button', action_id: EXTEND_ACTION, text: { type: 'plain_text', text: 'Ask for an extension' }, value: String(notice.itemId) }],
    },
  ];
}

export function noticeText(config: AccessConfig, notice: Notice): Mrkdwn {
  switch (notice.type) {
    case 'step_undecidable':
      return mrkdwn`:warning: Nobody may decide step ${notice.stepIndex + 1} of ${appName(config, notice.appId)} for request ${escapeMrkdwn(notice.requestId)}: every IT admin is its requester, one of the people concerned, or decided an earlier step. Add someone to \`itAdmins\`, or the requester can cancel it.`;
    case 'step_routed_to_it':
      return mrkdwn`Nobody listed for step ${notice.stepIndex + 1} of ${appName(config, notice.appId)} may approve request ${escapeMrkdwn(notice.requestId)} (you cannot approve your own request, people cannot approve their own access, one person decides one step, and approvers deactivated in Slack are skipped). It has been sent to the IT channel ${channelMention(notice.itChannel)} for an IT admin to decide.`;
    case 'denied':
      return mrkdwn`Request ${escapeMrkdwn(notice.requestId)}: ${decider(notice)} denied ${appName(config, notice.appId)} access${notice.reason ? mrkdwn`: "${escapeMrkdwn(notice.reason)}"` : mrkdwn``}.`;
    case 'step_approved':
      return mrkdwn`Request ${escapeMrkdwn(notice.requestId)}: ${decider(notice)} approved step ${notice.stepIndex + 1} of ${notice.steps} for ${appName(config, notice.appId)}; waiting for the next approver.`;
    case 'approved': {
      const { fulfillment } = notice;
      const when = fulfillment.when === 'no_connector'
        ? mrkdwn`It waits for fulfillment: no connector is configured for this app yet.`
        : fulfillment.when === 'on' ? mrkdwn`It will be carried out on ${escapeMrkdwn(fulfillment.date)}.` : mrkdwn`It is being carried out now.`;
      return mrkdwn`Request ${escapeMrkdwn(notice.requestId)}: ${decider(notice)} approved ${appName(config, notice.appId)} access. ${when}`;
    }
    case 'item_failed':
      return mrkdwn`Request ${escapeMrkdwn(notice.requestId)}: ${appName(config, notice.appId)} for ${subjectLabel(notice.subject)} could not be done: ${wordsMrkdwn(notice.detail)}. IT has been alerted.`;
    case 'request_finished': {
      const summary = escapeMrkdwn(notice.states.map(([state, n]) => `${n} ${STATE_LABEL[state]}`).join(', '));
      const id = escapeMrkdwn(notice.requestId);
      return notice.states.some(([state]) => state === 'failed')
        ? mrkdwn`Request ${id} finished with problems: ${summary}. IT has been alerted and can retry the failed items.`
        : mrkdwn`Request ${id} is done: ${summary}.`;
    }
    case 'decision_withdrawn': {
      const by = notice.byRequester ? mrkdwn`its requester ${mention(notice.by)}` : mention(notice.by);
      const whose = notice.audience === 'it' ? mrkdwn`the IT channel's decision` : mrkdwn`your decision`;
      return mrkdwn`Request ${escapeMrkdwn(notice.requestId)} was cancelled by ${by}: ${whose} is no longer needed.`;
    }
    case 'cancelled_for_you':
      return mrkdwn`${mention(notice.by)} cancelled your request ${escapeMrkdwn(notice.requestId)}: ${notice.cancelled} item${notice.cancelled === 1 ? mrkdwn`` : mrkdwn`s`} will not be done.`;
    case 'preview_changed': {
      const what = mrkdwn`${appName(config, notice.appId)} for ${subjectLabel(notice.subject)} was stopped before any change: ${escapeMrkdwn(notice.change)}. Nothing was done;`;
      return notice.audience === 'approver'
        ? mrkdwn`Request ${escapeMrkdwn(notice.requestId)}: ${what} look at the new preview on the card and decide again.`
        : mrkdwn`Request ${escapeMrkdwn(notice.requestId)}: ${what} the approvers were asked again.`;
    }
    case 'leaver_filed': {
      const who = notice.subject.slackId ? mrkdwn`${subjectLabel(notice.subject)} (${escapeMrkdwn(notice.subject.email)})` : subjectLabel(notice.subject);
      const apps = escapeMrkdwn(notice.appIds.map((appId) => appById(config, appId)?.name ?? appId).join(', '));
      return mrkdwn`:bust_in_silhouette: ${who} was deactivated in Slack: offboarding ${escapeMrkdwn(notice.requestId)} filed for ${apps}, sent for approval.`;
    }
    case 'access_ending': {
      const what = mrkdwn`${appName(config, notice.appId)} access`;
      const until = escapeMrkdwn(notice.endDate);
      return notice.audience === 'subject'
        ? mrkdwn`:hourglass: Your ${what} ends on ${until} (granted by request ${escapeMrkdwn(notice.requestId)}): it is removed by itself that day. Need it longer? Ask for an extension: a new request, approved like any.`
        : mrkdwn`:hourglass: ${what} of ${subjectLabel(notice.subject)} ends on ${until} (your request ${escapeMrkdwn(notice.requestId)}): it is removed by itself that day. Need it longer? Ask for an extension: a new request, approved like any.`;
    }
    case 'delegation_started': {
      const until = escapeMrkdwn(notice.untilDate);
      const zone = escapeMrkdwn(notice.timezone);
      return notice.audience === 'delegate'
        ? mrkdwn`${mention(notice.delegator)} has handed their access approvals to you until the end of ${until} (${zone}): their open approvals and new ones come to you, marked "for ${mention(notice.delegator)}". You are bound by the usual rules: never your own request or your own access, and one step per person in a chain.`
        : mrkdwn`Your approvals go to ${mention(notice.delegate)} until the end of ${until} (${zone}), the open ones included. \`/access delegate off\` ends it sooner.`;
    }
    case 'delegation_ended': {
      const ended = notice.expired ? mrkdwn`ended (its last day, ${escapeMrkdwn(notice.untilDate)}, is over)` : mrkdwn`ended`;
      return notice.audience === 'delegator'
        ? mrkdwn`Your delegation to ${mention(notice.delegate)} has ${ended}: approvals for you come to you again, the open ones included.`
        : mrkdwn`${mention(notice.delegator)}'s delegation to you has ${ended}: their approvals go back to them.`;
    }
  }
}
