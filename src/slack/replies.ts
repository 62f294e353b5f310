/** Words for people: refusals and usage. Domain results in, one readable sentence out. */
import type { DecisionRefusal } from '../requests/model.js';
import { escapeMrkdwn, joinMrkdwn, mention, mrkdwn, type Mrkdwn } from '../util/mrkdwn.js';
import { formatTime } from './blocks/common.js';

export function refusalText(refusal: DecisionRefusal): Mrkdwn {
  switch (refusal.reason) {
    case 'not_found':
      return mrkdwn`This request no longer exists.`;
    case 'already_decided':
      return refusal.decidedBy
        ? mrkdwn`Nothing to do: this was already ${escapeMrkdwn(refusal.state)} by ${mention(refusal.decidedBy)}${refusal.decidedAt ? mrkdwn` ${formatTime(refusal.decidedAt)}` : mrkdwn``}.`
        : mrkdwn`Nothing to do: this was already decided.`;
    case 'own_request':
      return mrkdwn`You can't approve or deny your own request. It is waiting for its approvers.`;
    case 'own_access':
      return mrkdwn`You can't decide on your own access. Another approver (or IT) has to.`;
    case 'not_an_approver':
      return mrkdwn`Only ${joinMrkdwn(refusal.approvers.map(mention), ' or ')} can decide the current step of this request. Nothing was changed.`;
  }
}

export const USAGE = [
  '*Usage of `/access`*',
  '• `/access` — open the request form',
  '• `/access onboard` / `/access offboard` — open it preselected',
  '• `/access status` — your open requests and where each item stands',
  '• `/access tasks` — the access tasks assigned to you',
  '• `/access help` — this message',
].join('\n');

/** A failure people can act on, never a stack trace. */
export const SOMETHING_WENT_WRONG = 'Sorry, something went wrong on our side and nothing was changed. Please try again; if it keeps happening, tell IT.';
