/** Approval reminders (replies in the thread under an approver's card) and the one escalation to the IT channel. */
import { formatDistance } from 'date-fns';
import type { AccessConfig } from '../../config.js';
import type { Approval, RequestDetail } from '../../requests/model.js';
import { escapeMrkdwn, joinMrkdwn, mention, mrkdwn, slackDate, type Mrkdwn } from '../../util/mrkdwn.js';
import { context, section } from './common.js';
import { stepLabel, type Rendered } from './request.js';

const kindWord = (detail: RequestDetail) => (detail.request.kind === 'onboard' ? 'onboarding' : 'offboarding');
const people = (ids: readonly string[]) => joinMrkdwn(ids.map(mention), ' or ');

export interface ReminderFacts {
  /** Who is reminded: the approvers who may decide, or the IT admins for a step that fell back to IT. */
  recipients: readonly string[];
  /** The how-manieth reminder of this step. */
  count: number;
  now: number;
  /** Posted in the thread under the recipient's card; false when there is no card to point at. */
  underCard?: boolean;
}

/**
 * The reminder posted under the card. For a step that fell back to IT it goes to the shared IT card, so it
 * names the IT admins (a mention is what makes each of them notice it in a channel).
 */
export function approvalReminder(config: AccessConfig, detail: RequestDetail, approval: Approval, facts: ReminderFacts): Rendered {
  const waited = escapeMrkdwn(formatDistance(approval.openedAt, facts.now));
  const step = escapeMrkdwn(stepLabel(config, approval));
  const request = escapeMrkdwn(detail.request.id);
  const whose = approval.fallbackToIt ? mrkdwn`${people(facts.recipients)}: an IT admin's decision` : mrkdwn`your decision`;
  const text = mrkdwn`:bell: Reminder ${facts.count}: ${escapeMrkdwn(kindWord(detail))} request ${request} from ${mention(detail.request.requesterId)} has waited ${waited} for ${whose} on ${step}.`;
  const where = facts.underCard === false ? mrkdwn`on the request's card, or on the accessbot Home tab` : mrkdwn`on the card above this thread`;
  return { text, blocks: [section(text), context(mrkdwn`*Approve* or *Deny* ${where}.`)] };
}

/** Told once to the IT channel after `approvalEscalateAfter` reminders: who is waiting for whom since when. */
export function approvalEscalation(config: AccessConfig, detail: RequestDetail, approval: Approval, facts: ReminderFacts): Rendered {
  const waited = escapeMrkdwn(formatDistance(approval.openedAt, facts.now));
  const step = escapeMrkdwn(stepLabel(config, approval));
  const whom = approval.fallbackToIt ? mrkdwn`the IT admins (${people(facts.recipients)})` : people(facts.recipients);
  const text: Mrkdwn = mrkdwn`:hourglass: ${mention(detail.request.requesterId)} has been waiting on ${whom} since ${slackDate(approval.openedAt)} (${waited}) for ${step} of ${escapeMrkdwn(kindWord(detail))} request ${escapeMrkdwn(detail.request.id)}; ${facts.count} reminder${facts.count === 1 ? mrkdwn`` : mrkdwn`s`} went unanswered.`;
  return { text, blocks: [section(text), context(mrkdwn`Reminders go on; nudge them, or the requester can cancel the request.`)] };
}
