/** Words for people: refusals and usage. Domain results in, one readable sentence out. */
import { appById, type AccessConfig } from '../config.js';
import { STATE_LABEL, type DecisionRefusal, type Item, type ItemState } from '../requests/model.js';
import type { CancelRefusal, RetryRefusal } from '../requests/service.js';
import type { ByHandResult } from '../requests/by-hand.js';
import { escapeMrkdwn, joinMrkdwn, mention, mrkdwn, type Mrkdwn } from '../util/mrkdwn.js';
import { subjectLabel, wordsMrkdwn } from './words.js';
import { formatTime } from './blocks/common.js';
import type { FailureChoice } from './blocks/request.js';

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
    case 'decided_earlier_step':
      return mrkdwn`You decided step ${refusal.stepIndex + 1} of this approval chain; one person decides at most one step, so another approver (or IT) decides this one. Nothing was changed.`;
    case 'it_admins_only':
      return mrkdwn`Nobody listed may decide this step, so only the IT admins (${joinMrkdwn(refusal.admins.map(mention), ', ')}) can. Nothing was changed.`;
    case 'delegated':
      return mrkdwn`You handed your approvals to ${mention(refusal.delegate)} (\`/access delegate\`), so they decide this one. Type \`/access delegate off\` to decide yourself again. Nothing was changed.`;
    case 'outdated_card':
      return mrkdwn`This card is out of date and has been refreshed: look at it again and click there if it is still yours to decide. Nothing was changed.`;
  }
}

/** A click that cannot be judged because Slack did not say who the clicker is (their e-mail). */
export const CLICKER_UNKNOWN = 'Slack did not tell accessbot who you are just now (it checks nobody decides their own access), so nothing was changed. Please try again in a minute.';

export const USAGE = [
  '*Usage of `/access`*',
  '• `/access` — open the request form',
  '• `/access onboard` / `/access offboard` — open it preselected',
  '• `/access status` — your open requests and where each item stands',
  '• `/access tasks` — the access tasks assigned to you',
  '• `/access cancel <request id>` — cancel what has not been done yet (yours; IT admins: any)',
  '• `/access delegate @person until YYYY-MM-DD` — hand your approvals to someone until the end of that day; `/access delegate off` ends it',
  '• `/access report @person` (or an e-mail) — every app, what was done for them, by whom, when, and what is still open',
  '• `/access help` — this message',
].join('\n');

/** A failure people can act on, never a stack trace. */
export const SOMETHING_WENT_WRONG = 'Sorry, something went wrong on our side and nothing was changed. Please try again; if it keeps happening, tell IT.';

const itemText = (config: AccessConfig, item: Item): Mrkdwn =>
  mrkdwn`${subjectLabel(item.subject)} · ${escapeMrkdwn(appById(config, item.appId)?.name ?? item.appId)}: ${escapeMrkdwn(STATE_LABEL[item.state])}${item.detail !== null && wordsMrkdwn(item.detail) ? mrkdwn` (${wordsMrkdwn(item.detail)})` : mrkdwn``}`;

/** What a cancel stopped, and what it could not: done or underway work is listed, not undone. */
export function cancelledText(config: AccessConfig, result: { cancelled: Item[]; kept: Item[]; detail: { request: { id: string } } }): Mrkdwn {
  const n = result.cancelled.length;
  const lines = [mrkdwn`Request ${escapeMrkdwn(result.detail.request.id)} cancelled: ${n} item${escapeMrkdwn(n === 1 ? '' : 's')} will not be done. The approvers and assignees concerned have been told.`];
  if (result.kept.length) {
    lines.push(mrkdwn``, mrkdwn`Not undone by cancelling (already done, underway or ended):`);
    lines.push(...result.kept.slice(0, 30).map((item) => mrkdwn`• ${itemText(config, item)}`));
    if (result.kept.length > 30) lines.push(mrkdwn`• …and ${result.kept.length - 30} more`);
  }
  return joinMrkdwn(lines, '\n');
}

const statesText = (states: [ItemState, number][]) => states.map(([state, n]) => `${n} ${STATE_LABEL[state]}`).join(', ');

/** Why a cancel changed nothing. */
export function cancelRefusalText(refusal: CancelRefusal): string {
  const id = refusal.requestId;
  switch (refusal.reason) {
    case 'not_found':
      return `There is no request ${id}. \`/access status\` lists your open requests.`;
    case 'not_allowed':
      return `Only the requester <@${refusal.requesterId}> or an IT admin can cancel request ${id}. Nothing was changed.`;
    case 'nothing_to_cancel':
      if (refusal.open.length > 0) {
        return `Nothing in request ${id} can be cancelled any more: what is left is already underway (${statesText(refusal.open)}) and is not undone by cancelling. Ask IT if it must be reversed.`;
      }
      return refusal.cancelledBy
        ? `Request ${id} was already cancelled by <@${refusal.cancelledBy}>: ${statesText(refusal.all)}. Nothing more to cancel.`
        : `Request ${id} is finished (${statesText(refusal.all)}): nothing left to cancel.`;
  }
}

/** What a Retry click did, or why it did nothing. */
export function retryText(config: AccessConfig, requestId: string, result: { ok: true; retried: number } | ({ ok: false } & RetryRefusal)): string {
  if (result.ok) return `Retrying ${result.retried} failed item${result.retried === 1 ? '' : 's'} of ${requestId}.`;
  switch (result.reason) {
    case 'app_gone':
      return `The app "${result.appId}" is no longer configured.`;
    case 'not_allowed':
      return `Only the IT admins and ${appById(config, result.appId)?.name ?? result.appId} approvers can retry it (${result.allowed.map((id) => `<@${id}>`).join(', ')}). Nothing was changed.`;
    case 'nothing_failed':
      return 'Nothing to retry: no item of this request is failed any more.';
  }
}

/** What a Do it by hand click did, or why it did nothing (`chosen`: what IT last chose, when nothing is failed). */
export function byHandText(config: AccessConfig, requestId: string, appId: string, result: ByHandResult, chosen?: FailureChoice): string {
  const app = appById(config, appId)?.name ?? appId;
  if (!result.ok) {
    if (result.reason === 'not_allowed') return `Only the IT admins can finish ${app} items by hand (${result.allowed.map((id) => `<@${id}>`).join(', ')}). Nothing was changed.`;
    if (!chosen) return `Nothing to do: no ${app} item of ${requestId} is failed any more.`;
    const what = chosen.choice === 'by_hand' ? 'Do it by hand' : 'Retry';
    return `Nothing to do: <@${chosen.by}> already chose ${what} for the failed ${app} items of ${requestId}; none is failed any more.`;
  }
  const lines = result.tasks.length
    ? [`${result.tasks.length} failed ${app} item${result.tasks.length === 1 ? '' : 's'} of ${requestId} became task${result.tasks.length === 1 ? '' : 's'}: ${result.tasks.map((t) => `#${t.taskId} for <@${t.assignee}>`).join(', ')}. Marking a task done completes its item.`]
    : [];
  for (const skip of result.skipped) {
    lines.push(skip.why === 'protected'
      ? `${escapeMrkdwn(skip.email)} is a protected account (protectedEmails): it stays failed, no task.`
      : `${escapeMrkdwn(skip.email)}: nobody but the person it is about could take the task; it stays failed.`);
  }
  return lines.join('\n');
}
