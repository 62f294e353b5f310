/** Approval cards, the requester's status message and IT failure alerts: pure renderings of a request's state. */
import type { KnownBlock } from '@slack/types';
import { formatDistance } from 'date-fns';
import { appById, approvalStepsOf, type AccessConfig } from '../../config.js';
import { cardLinesOf, offboardedWordOf, previewsBeforeApproval } from '../../connectors/forms.js';
import { STATE_LABEL, isOpenRequest, type Approval, type Item, type RequestDetail } from '../../requests/model.js';
import type { StoredPreview } from '../../requests/previews.js';
import { escapeMrkdwn, joinMrkdwn, mention, mrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';
import { subjectLabel, wordsMrkdwn } from '../words.js';
import { context, contexts, formatTime, header, quotedSections, section, sections, sectionsOfLines } from './common.js';
import { reportButton } from './person-report.js';

/** Action id prefixes; the full id carries the request id so several cards can share a Home view. */
export const ACTION = {
  approve: 'approval_approve',
  deny: 'approval_deny',
  retry: 'fulfillment_retry',
  byHand: 'fulfillment_by_hand',
  cancel: 'request_cancel',
} as const;

export interface Rendered {
  /** The notification and fallback text: mrkdwn too. */
  text: Mrkdwn;
  blocks: KnownBlock[];
}

const appOf = appById;
const appName = (config: AccessConfig, appId: string) => escapeMrkdwn(appOf(config, appId)?.name ?? appId);
const kindWord = (detail: RequestDetail) => (detail.request.kind === 'onboard' ? 'Onboarding' : 'Offboarding');

/** "Autodesk: 120/300 deactivated, 2 failed" — the live progress of one app's items. */
export function progressLine(config: AccessConfig, detail: RequestDetail, appId: string): Mrkdwn {
  const items = detail.items.filter((item) => item.appId === appId);
  const app = appOf(config, appId);
  const done = items.filter((item) => item.state === 'completed').length;
  const failed = items.filter((item) => item.state === 'failed').length;
  const denied = items.filter((item) => item.state === 'denied').length;
  const cancelled = items.filter((item) => item.state === 'cancelled').length;
  const verb = detail.request.kind === 'onboard' ? 'onboarded' : app ? offboardedWordOf(config, app) : 'offboarded';
  const parts = [`${done}/${items.length} ${verb}`];
  if (failed) parts.push(`${failed} failed`);
  if (denied) parts.push(`${denied} denied`);
  if (cancelled) parts.push(`${cancelled} cancelled`);
  return escapeMrkdwn(`${app?.name ?? appId}: ${parts.join(', ')}`);
}

/** An item's detail as mrkdwn, or undefined when it says nothing. */
const detailOf = (item: Item): Mrkdwn | undefined => (item.detail === null ? undefined : wordsMrkdwn(item.detail) || undefined);

function itemLine(config: AccessConfig, item: Item): Mrkdwn {
  const icon = { awaiting_approval: '⏳', approved: '🟢', in_progress: '🔄', completed: '✅', failed: '❌', denied: '⛔', cancelled: '🚫' }[item.state];
  const stored = detailOf(item);
  const detail = stored && stored !== STATE_LABEL[item.state] ? mrkdwn` — ${stored}` : mrkdwn``;
  return mrkdwn`${escapeMrkdwn(icon)} ${subjectLabel(item.subject)} · ${appName(config, item.appId)}: ${escapeMrkdwn(STATE_LABEL[item.state])}${detail}`;
}

/**
 * Who a pending listed step waits on: its approvers but those who may not decide it (the requester, a person
 * concerned, someone who decided an earlier step of the chain).
 */
function waitingOn(detail: RequestDetail, approval: Approval): string[] {
  const subjects = new Set(detail.items.filter((item) => item.appId === approval.appId).map((item) => item.subject.slackId));
  const earlier = new Set(detail.approvals.filter((a) => a.appId === approval.appId && a.stepIndex < approval.stepIndex).map((a) => a.decidedBy));
  return approval.approvers.filter((id) => id !== detail.request.requesterId && !subjects.has(id) && !earlier.has(id));
}

/** "⏳ Autodesk, step 1/2 (Manager): waiting on @mona since 2 days", for the requester. */
function waitingLine(config: AccessConfig, detail: RequestDetail, approval: Approval, now: number): Mrkdwn {
  const who = approval.fallbackToIt ? mrkdwn`the IT admins` : joinMrkdwn(waitingOn(detail, approval).map(mention), ' or ');
  return mrkdwn`⏳ ${stepLine(config, approval)}: waiting on ${who} since ${escapeMrkdwn(formatDistance(approval.openedAt, now))}`;
}

function waitingLines(config: AccessConfig, detail: RequestDetail, now: number): Mrkdwn[] {
  return detail.approvals.filter((approval) => approval.state === 'pending').map((approval) => waitingLine(config, detail, approval, now));
}

function stepLine(config: AccessConfig, approval: Approval): Mrkdwn {
  const app = appOf(config, approval.appId);
  const steps = app ? approvalStepsOf(app) : [];
  const stepName = steps[approval.stepIndex]?.name;
  return mrkdwn`${appName(config, approval.appId)}, step ${approval.stepIndex + 1}/${Math.max(steps.length, 1)}${stepName ? escapeMrkdwn(` (${stepName})`) : mrkdwn``}`;
}

function approvalLine(config: AccessConfig, approval: Approval): Mrkdwn {
  const label = stepLine(config, approval);
  const by = approval.decidedFor ? mrkdwn`${mention(approval.decidedBy ?? '')} (for ${mention(approval.decidedFor)})` : mention(approval.decidedBy ?? '');
  if (approval.state === 'approved') return mrkdwn`✅ ${label}: approved by ${by} ${formatTime(approval.decidedAt!)}`;
  if (approval.state === 'denied') {
    return mrkdwn`⛔ ${label}: denied by ${by} ${formatTime(approval.decidedAt!)}${approval.reason ? mrkdwn` — "${escapeMrkdwn(approval.reason)}"` : mrkdwn``}`;
  }
  if (approval.state === 'cancelled') return mrkdwn`🚫 ${label}: request cancelled by ${mention(approval.decidedBy ?? '')} ${formatTime(approval.decidedAt!)}; no decision needed`;
  const who = approval.fallbackToIt ? mrkdwn`the IT admins (nobody listed may decide)` : joinMrkdwn(approval.approvers.map(mention), ' or ');
  return mrkdwn`⏳ ${label}: waiting for ${who}`;
}

/** What the approver must know before clicking: who, what, when, why, and what cannot be undone. */
function requestSummary(config: AccessConfig, detail: RequestDetail): KnownBlock[] {
  const { request } = detail;
  const appIds = [...new Set(detail.items.map((item) => item.appId))];
  const subjects = [...new Map(detail.items.map((item) => [item.subject.email.toLowerCase(), item.subject])).values()];
  const fields = [
    mrkdwn`*Requester*\n${mention(request.requesterId)}`,
    mrkdwn`*What*\n${escapeMrkdwn(kindWord(detail))}`,
    mrkdwn`*Apps*\n${joinMrkdwn(appIds.map((id) => appName(config, id)), ', ')}`,
    mrkdwn`*Effective date*\n${escapeMrkdwn(request.effectiveDate)}${untilText(detail)}`,
  ];
  const blocks: KnownBlock[] = [
    header(`${kindWord(detail)} request ${request.id}`),
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  blocks.push(...cardLinesOf(config, appIds, request).map((line) => section(wordsMrkdwn(line))));
  const more = subjects.length > 40 ? mrkdwn`, …and ${subjects.length - 40} more` : mrkdwn``;
  blocks.push(...sections(mrkdwn`*Who* (${subjects.length})\n${joinMrkdwn(subjects.slice(0, 40).map(subjectLabel), ', ')}${more}`));
  blocks.push(...quotedSections(mrkdwn`Why`, escapeMrkdwn(request.justification)));
  return blocks;
}

const previewIcon = (summary: string) => (summary.startsWith('preview unavailable') ? '⚠️' : summary.startsWith('protected') ? '🔒' : '🔎');

/** "account 8f3… · Ann@X.com · active · last login 30 Nov": the account a preview names, as the app stores it. */
function previewAccount(preview: StoredPreview): Mrkdwn {
  if (!preview.accountId) return mrkdwn``;
  const login = preview.lastLogin && !Number.isNaN(Date.parse(preview.lastLogin)) ? mrkdwn` · last login ${formatTime(Date.parse(preview.lastLogin))}` : mrkdwn``;
  return mrkdwn` (account \`${escapeMrkdwn(preview.accountId)}\` · ${escapeMrkdwn(preview.email ?? '')} · ${escapeMrkdwn(preview.status ?? 'unknown')}${login})`;
}

/**
 * What approving will do, per person and app, as the connector read it after the request was filed (issue 13 §1).
 * Until it is read the card says so; approving never waits for it.
 */
function previewBlocks(config: AccessConfig, detail: RequestDetail): KnownBlock[] {
  const previews = new Map((detail.previews ?? []).map((preview) => [preview.itemId, preview]));
  const lines: Mrkdwn[] = [];
  let reading = 0;
  const readingFrom = new Set<string>();
  for (const item of detail.items) {
    const preview = previews.get(item.id);
    if (!preview) {
      const app = appOf(config, item.appId);
      if (app && previewsBeforeApproval(config, app) && item.state === 'awaiting_approval') {
        reading++;
        readingFrom.add(item.appId);
      }
      continue;
    }
    lines.push(mrkdwn`${escapeMrkdwn(previewIcon(preview.summary))} ${subjectLabel(item.subject)} · ${appName(config, item.appId)}: ${escapeMrkdwn(preview.summary)}${previewAccount(preview)}`);
  }
  if (lines.length === 0 && reading === 0) return [];
  const readAt = Math.max(0, ...[...previews.values()].filter((preview) => preview.state === 'ok').map((preview) => preview.readAt));
  const title = readAt > 0 ? mrkdwn`*What approving will do* (read ${formatTime(readAt)})` : mrkdwn`*What approving will do*`;
  const blocks = lines.length ? sectionsOfLines([title, ...lines], 41) : [section(title)];
  if (reading > 0) blocks.push(context(mrkdwn`⏳ Reading ${escapeMrkdwn(String(reading))} account${reading === 1 ? mrkdwn`` : mrkdwn`s`} from ${joinMrkdwn([...readingFrom].map((id) => appName(config, id)), ', ')}… Approving does not wait for it.`));
  return blocks;
}

/** With `now` (the requester's view), a pending step says whom it waits on and since when. */
function statusBlocks(config: AccessConfig, detail: RequestDetail, now?: number): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  const line = (approval: Approval) => (now !== undefined && approval.state === 'pending' ? waitingLine(config, detail, approval, now) : approvalLine(config, approval));
  if (detail.approvals.length) blocks.push(...contexts(joinMrkdwn(detail.approvals.map(line), '\n')));
  const appIds = [...new Set(detail.items.map((item) => item.appId))];
  const started = detail.items.some((item) => !['awaiting_approval', 'denied', 'cancelled'].includes(item.state));
  if (started) blocks.push(...sections(mrkdwn`*Progress*\n${joinMrkdwn(appIds.map((id) => progressLine(config, detail, id)), '\n')}`));
  return blocks;
}

/** "Autodesk step 2 (App owner)": one approval as the card names it. */
/** Plain text ("Autodesk step 2 (App owner)"): escape it where it goes into mrkdwn. */
export function stepLabel(config: AccessConfig, approval: Approval): string {
  const app = appOf(config, approval.appId);
  const stepName = app ? approvalStepsOf(app)[approval.stepIndex]?.name : undefined;
  return `${app?.name ?? approval.appId} step ${approval.stepIndex + 1}${stepName ? ` (${stepName})` : ''}`;
}

/**
 * A decision button names the request and the approvals it was rendered for: "AR-7K3Q9X|12,13". A click
 * decides those (of them, what the clicker may decide) and nothing else, so a card left over from step 1
 * cannot decide step 2.
 */
export function decisionValue(requestId: string, approvals: readonly Approval[]): string {
  return `${requestId}|${approvals.map((approval) => approval.id).join(',')}`;
}

/** The request and approval ids of a decision button; `approvalIds` is null for a card from before ids were carried. */
export function parseDecisionValue(value: string | undefined): { requestId: string; approvalIds: number[] | null } {
  const [requestId = '', ids] = (value ?? '').split('|');
  if (ids === undefined) return { requestId, approvalIds: null };
  return { requestId, approvalIds: ids.split(',').filter((id) => /^\d+$/.test(id)).map(Number) };
}

/** Whom a delegate's buttons decide for: "Approve (for @mona)". Plain text, so a name, not a mention. */
export interface DecidingFor {
  id: string;
  name: string | null;
}

function decisionButtons(requestId: string, approvals: readonly Approval[], forWhom?: DecidingFor): KnownBlock {
  const value = decisionValue(requestId, approvals);
  // Slack cuts button text at 75 characters.
  const suffix = forWhom ? ` (for @${(forWhom.name ?? forWhom.id).slice(0, 50)})` : '';
  return {
    type: 'actions',
    block_id: `decide:${requestId}`,
    elements: [
      { type: 'button', action_id: `${ACTION.approve}:${requestId}`, text: { type: 'plain_text', text: `Approve${suffix}` }, style: 'primary', value },
      { type: 'button', action_id: `${ACTION.deny}:${requestId}`, text: { type: 'plain_text', text: `Deny${suffix}` }, style: 'danger', value },
    ],
  };
}

/**
 * Whose click decides what on this copy of the card. `personal`: the recipient's own copy (their DM or Home),
 * whose buttons decide exactly `approvals`. `shared`: a channel copy, whose buttons decide, of `approvals`,
 * only what each clicker may decide.
 */
export type CardButtons =
  | {
      personal: readonly Approval[];
      /** The recipient decides these for an approver who delegated to them. */
      forWhom?: DecidingFor;
      /** The recipient handed their approvals to this person: the card says so instead of offering buttons. */
      delegatedTo?: string;
    }
  | { shared: readonly Approval[]; who: (approval: Approval) => Mrkdwn };

function decidesLine(config: AccessConfig, buttons: CardButtons): Mrkdwn {
  const label = (approval: Approval) => escapeMrkdwn(stepLabel(config, approval));
  if ('personal' in buttons) {
    const forWhom = buttons.forWhom ? mrkdwn` for ${mention(buttons.forWhom.id)}, who handed you their approvals` : mrkdwn``;
    return mrkdwn`*Approve* or *Deny* decides${forWhom}: ${joinMrkdwn(buttons.personal.map(label), ', ')}.`;
  }
  const steps = buttons.shared.map((approval) => mrkdwn`${label(approval)}, by ${buttons.who(approval)}`);
  return mrkdwn`A click here decides only the step the clicker may decide: ${joinMrkdwn(steps, '; ')}.`;
}

/**
 * The approval card. `buttons` says what this copy's buttons decide; without it (or when it decides nothing)
 * the card has no buttons and only shows the state.
 */
export function approvalCard(config: AccessConfig, detail: RequestDetail, buttons?: CardButtons, note?: string): Rendered {
  const blocks = [...requestSummary(config, detail), ...previewBlocks(config, detail), ...statusBlocks(config, detail)];
  if (note) blocks.push(context(escapeMrkdwn(note)));
  const approvals = buttons ? ('personal' in buttons ? buttons.personal : buttons.shared) : [];
  if (buttons && approvals.length > 0) {
    blocks.push(context(decidesLine(config, buttons)));
    blocks.push(decisionButtons(detail.request.id, approvals, 'personal' in buttons ? buttons.forWhom : undefined));
  } else if (buttons && 'personal' in buttons && buttons.delegatedTo) {
    blocks.push(context(mrkdwn`You handed your approvals to ${mention(buttons.delegatedTo)}: they decide this for you. \`/access delegate off\` to decide it yourself.`));
  }
  return { text: mrkdwn`${escapeMrkdwn(`${kindWord(detail)} request ${detail.request.id}`)} from ${mention(detail.request.requesterId)} needs a decision`, blocks };
}

/** Cancel stays on the requester's message while something in the request would still be stopped by it. */
function cancelButton(detail: RequestDetail, canCancel: boolean): KnownBlock[] {
  if (!canCancel) return [];
  const { id } = detail.request;
  return [{
    type: 'actions',
    block_id: `cancel:${id}`,
    elements: [{
      type: 'button', action_id: `${ACTION.cancel}:${id}`, text: { type: 'plain_text', text: 'Cancel request' }, style: 'danger', value: id,
      confirm: {
        title: { type: 'plain_text', text: `Cancel ${id}?` },
        text: { type: 'plain_text', text: 'What has not been done yet will not be done, and the approvers and IT are told. What is already done stays done.' },
        confirm: { type: 'plain_text', text: 'Cancel request' },
        deny: { type: 'plain_text', text: 'Keep it' },
      },
    }],
  }];
}

/**
 * The requester's own message about the request, kept current (and re-rendered at each approval reminder).
 * `canCancel`: whether cancelling would still stop an item (`cancelWouldStop` in src/requests/service.ts, which
 * needs the database: an item being finished by hand is told apart by its task).
 */
export function requesterStatus(config: AccessConfig, detail: RequestDetail, now: number, canCancel: boolean): Rendered {
  const lines = detail.items.map((item) => itemLine(config, item));
  return {
    text: escapeMrkdwn(`Your ${kindWord(detail).toLowerCase()} request ${detail.request.id}`),
    blocks: [
      section(mrkdwn`*${escapeMrkdwn(`Your ${kindWord(detail).toLowerCase()} request ${detail.request.id}`)}* (effective ${escapeMrkdwn(detail.request.effectiveDate)}${untilText(detail)})`),
      ...statusBlocks(config, detail, now),
      ...sectionsOfLines(lines, 40),
      ...cancelButton(detail, canCancel),
      // A finished offboarding with something done: the Report button shows each person's report across all apps.
      ...(detail.request.kind === 'offboard' && !isOpenRequest(detail) && detail.items.some((item) => item.state === 'completed') ? [reportButton(detail.request.id)] : []),
    ],
  };
}

/** Who chose Retry or Do it by hand last, and when: the alert says it once nothing is failed any more. */
export interface FailureChoice { choice: 'retry' | 'by_hand'; by: string; at: number }

/**
 * Posted to the IT channel when an app's items of a request fail; Retry re-runs only the failed ones, Do it by hand
 * (IT admins) makes them tasks. Either one leaves nothing failed, so the buttons go and the alert says who chose what.
 */
export function failureAlert(config: AccessConfig, detail: RequestDetail, appId: string, chosen?: FailureChoice): Rendered {
  const failed = detail.items.filter((item) => item.appId === appId && item.state === 'failed');
  const lines = failed.map((item) => mrkdwn`❌ ${subjectLabel(item.subject)}: ${detailOf(item) ?? mrkdwn`failed`}`);
  const blocks: KnownBlock[] = [
    section(mrkdwn`:rotating_light: *${appName(config, appId)} could not finish request ${escapeMrkdwn(detail.request.id)}* (${escapeMrkdwn(kindWord(detail).toLowerCase())}, requested by ${mention(detail.request.requesterId)})`),
    context(progressLine(config, detail, appId)),
  ];
  if (failed.length) {
    blocks.push(...sectionsOfLines(lines, 30));
    blocks.push({
      type: 'actions',
      block_id: `retry:${detail.request.id}:${appId}`,
      elements: [
        { type: 'button', action_id: `${ACTION.retry}:${detail.request.id}:${appId}`, text: { type: 'plain_text', text: `Retry ${failed.length} failed` }, value: `${detail.request.id}|${appId}` },
        { type: 'button', action_id: `${ACTION.byHand}:${detail.request.id}:${appId}`, text: { type: 'plain_text', text: 'Do it by hand' }, value: `${detail.request.id}|${appId}` },
      ],
    });
  } else if (chosen) {
    const what = chosen.choice === 'by_hand' ? mrkdwn`chose *Do it by hand*: the items became tasks` : mrkdwn`chose *Retry*`;
    blocks.push(section(mrkdwn`No item is failed any more: ${mention(chosen.by)} ${what} ${formatTime(chosen.at)}.`));
  } else {
    blocks.push(section(mrkdwn`No item is failed any more.`));
  }
  return { text: mrkdwn`${appName(config, appId)} could not finish request ${escapeMrkdwn(detail.request.id)}: ${failed.length} failed`, blocks };
}

/** For `/access status` and the Home tab: one request in a few lines, with whom each pending step waits on. */
export function requestOverview(config: AccessConfig, detail: RequestDetail, now: number): KnownBlock[] {
  const waiting = waitingLines(config, detail, now);
  return [
    section(overviewTitle(detail)),
    ...(waiting.length ? contexts(joinMrkdwn(waiting, '\n')) : []),
    ...sectionsOfLines(detail.items.map((item) => itemLine(config, item)), 15),
  ];
}

const overviewTitle = (detail: RequestDetail) =>
  mrkdwn`*${escapeMrkdwn(detail.request.id)}* · ${escapeMrkdwn(kindWord(detail))} · effective ${escapeMrkdwn(detail.request.effectiveDate)}${untilText(detail)}`;

/** " until <date>" for time-bound access (every item of a request shares its end date), else nothing. */
function untilText(detail: Pick<RequestDetail, 'items'>): Mrkdwn {
  const endDate = detail.items.find((item) => item.endDate)?.endDate;
  return endDate ? mrkdwn` until ${escapeMrkdwn(endDate)}` : mrkdwn``;
}

export function requestOverviewText(config: AccessConfig, detail: RequestDetail, now: number): Mrkdwn {
  return joinMrkdwn([overviewTitle(detail), ...waitingLines(config, detail, now), ...detail.items.slice(0, 15).map((item) => itemLine(config, item))], '\n');
}
