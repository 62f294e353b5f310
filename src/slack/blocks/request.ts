/** Approval cards, the requester's status message and IT failure alerts: pure renderings of a request's state. */
import type { KnownBlock } from '@slack/types';
import { approvalStepsOf, type AccessConfig, type AppConfig } from '../../config.js';
import { STATE_LABEL, subjectLabel, type Approval, type Item, type RequestDetail } from '../../requests/model.js';
import { escapeMrkdwn, joinMrkdwn, mention, mrkdwn, trustedMrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';
import { context, contexts, formatTime, header, quotedSections, section, sections, sectionsOfLines } from './common.js';

/** Action id prefixes; the full id carries the request id so several cards can share a Home view. */
export const ACTION = {
  approve: 'approval_approve',
  deny: 'approval_deny',
  retry: 'fulfillment_retry',
} as const;

export interface Rendered {
  /** The notification and fallback text: mrkdwn too. */
  text: Mrkdwn;
  blocks: KnownBlock[];
}

const appOf = (config: AccessConfig, appId: string): AppConfig | undefined => config.apps.find((app) => app.id === appId);
const appName = (config: AccessConfig, appId: string) => escapeMrkdwn(appOf(config, appId)?.name ?? appId);
const kindWord = (detail: RequestDetail) => (detail.request.kind === 'onboard' ? 'Onboarding' : 'Offboarding');

/** "Autodesk: 120/300 deactivated, 2 failed" — the live progress of one app's items. */
export function progressLine(config: AccessConfig, detail: RequestDetail, appId: string): Mrkdwn {
  const items = detail.items.filter((item) => item.appId === appId);
  const app = appOf(config, appId);
  const done = items.filter((item) => item.state === 'completed').length;
  const failed = items.filter((item) => item.state === 'failed').length;
  const denied = items.filter((item) => item.state === 'denied').length;
  const verb =
    detail.request.kind === 'onboard' ? 'onboarded'
      : app?.connector === 'autodesk' ? (app.offboardAction === 'delete' ? 'deleted' : 'deactivated')
        : 'offboarded';
  const parts = [`${done}/${items.length} ${verb}`];
  if (failed) parts.push(`${failed} failed`);
  if (denied) parts.push(`${denied} denied`);
  return escapeMrkdwn(`${app?.name ?? appId}: ${parts.join(', ')}`);
}

/** An item's detail is stored as mrkdwn: the one place that writes it escapes what came from outside. */
const detailOf = (item: Item): Mrkdwn | undefined => (item.detail ? trustedMrkdwn(item.detail) : undefined);

function itemLine(config: AccessConfig, item: Item): Mrkdwn {
  const icon = { awaiting_approval: '⏳', approved: '🟢', in_progress: '🔄', completed: '✅', failed: '❌', denied: '⛔' }[item.state];
  const stored = detailOf(item);
  const detail = stored && stored !== STATE_LABEL[item.state] ? mrkdwn` — ${stored}` : mrkdwn``;
  return mrkdwn`${escapeMrkdwn(icon)} ${subjectLabel(item.subject)} · ${appName(config, item.appId)}: ${escapeMrkdwn(STATE_LABEL[item.state])}${detail}`;
}

function approvalLine(config: AccessConfig, approval: Approval): Mrkdwn {
  const app = appOf(config, approval.appId);
  const steps = app ? approvalStepsOf(app) : [];
  const stepName = steps[approval.stepIndex]?.name;
  const label = mrkdwn`${appName(config, approval.appId)}, step ${approval.stepIndex + 1}/${Math.max(steps.length, 1)}${stepName ? escapeMrkdwn(` (${stepName})`) : mrkdwn``}`;
  const by = mention(approval.decidedBy ?? '');
  if (approval.state === 'approved') return mrkdwn`✅ ${label}: approved by ${by} ${formatTime(approval.decidedAt!)}`;
  if (approval.state === 'denied') {
    return mrkdwn`⛔ ${label}: denied by ${by} ${formatTime(approval.decidedAt!)}${approval.reason ? mrkdwn` — "${escapeMrkdwn(approval.reason)}"` : mrkdwn``}`;
  }
  const who = approval.fallbackToIt ? mrkdwn`the IT channel (nobody listed may decide)` : joinMrkdwn(approval.approvers.map(mention), ' or ');
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
    mrkdwn`*Effective date*\n${escapeMrkdwn(request.effectiveDate)}`,
  ];
  const blocks: KnownBlock[] = [
    header(`${kindWord(detail)} request ${request.id}`),
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  const autodesk = appIds.map((id) => appOf(config, id)).find((app) => app?.connector === 'autodesk');
  if (autodesk?.connector === 'autodesk') {
    if (request.kind === 'onboard') {
      const teams = (request.options.autodeskTeams ?? []).map((id) => autodesk.teams.find((team) => team.id === id)?.name ?? id);
      blocks.push(section(mrkdwn`*${escapeMrkdwn(autodesk.name)} role:* ${escapeMrkdwn(request.options.autodeskRole ?? autodesk.defaultRole)}   *Teams:* ${escapeMrkdwn(teams.length ? teams.join(', ') : 'none')}`));
    } else {
      blocks.push(
        section(
          autodesk.offboardAction === 'delete'
            ? mrkdwn`:warning: *${escapeMrkdwn(autodesk.name)}: this is a hard, irreversible delete.* The account and its data are removed for good.`
            : mrkdwn`:warning: *${escapeMrkdwn(autodesk.name)} deactivation cannot be undone through the API* (reactivation needs an Autodesk support case).`,
        ),
      );
    }
  }
  const more = subjects.length > 40 ? mrkdwn`, …and ${subjects.length - 40} more` : mrkdwn``;
  blocks.push(...sections(mrkdwn`*Who* (${subjects.length})\n${joinMrkdwn(subjects.slice(0, 40).map(subjectLabel), ', ')}${more}`));
  blocks.push(...quotedSections(mrkdwn`Why`, escapeMrkdwn(request.justification)));
  return blocks;
}

function statusBlocks(config: AccessConfig, detail: RequestDetail): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  if (detail.approvals.length) blocks.push(...contexts(joinMrkdwn(detail.approvals.map((approval) => approvalLine(config, approval)), '\n')));
  const appIds = [...new Set(detail.items.map((item) => item.appId))];
  const started = detail.items.some((item) => !['awaiting_approval', 'denied'].includes(item.state));
  if (started) blocks.push(...sections(mrkdwn`*Progress*\n${joinMrkdwn(appIds.map((id) => progressLine(config, detail, id)), '\n')}`));
  return blocks;
}

function decisionButtons(requestId: string): KnownBlock {
  return {
    type: 'actions',
    block_id: `decide:${requestId}`,
    elements: [
      { type: 'button', action_id: `${ACTION.approve}:${requestId}`, text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: requestId },
      { type: 'button', action_id: `${ACTION.deny}:${requestId}`, text: { type: 'plain_text', text: 'Deny' }, style: 'danger', value: requestId },
    ],
  };
}

/**
 * The approval card. `canDecide` says whether this copy carries buttons: an approver's DM while they have a
 * pending step, the mirror and IT copies while anything is pending.
 */
export function approvalCard(config: AccessConfig, detail: RequestDetail, canDecide: boolean, note?: string): Rendered {
  const blocks = [...requestSummary(config, detail), ...statusBlocks(config, detail)];
  if (note) blocks.push(context(escapeMrkdwn(note)));
  if (canDecide) blocks.push(decisionButtons(detail.request.id));
  return { text: mrkdwn`${escapeMrkdwn(`${kindWord(detail)} request ${detail.request.id}`)} from ${mention(detail.request.requesterId)} needs a decision`, blocks };
}

/** The requester's own message about the request, kept current. */
export function requesterStatus(config: AccessConfig, detail: RequestDetail): Rendered {
  const lines = detail.items.map((item) => itemLine(config, item));
  return {
    text: escapeMrkdwn(`Your ${kindWord(detail).toLowerCase()} request ${detail.request.id}`),
    blocks: [
      section(mrkdwn`*${escapeMrkdwn(`Your ${kindWord(detail).toLowerCase()} request ${detail.request.id}`)}* (effective ${escapeMrkdwn(detail.request.effectiveDate)})`),
      ...statusBlocks(config, detail),
      ...sectionsOfLines(lines, 40),
    ],
  };
}

/** Posted to the IT channel when an app's items of a request fail; Retry re-runs only the failed ones. */
export function failureAlert(config: AccessConfig, detail: RequestDetail, appId: string): Rendered {
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
      elements: [{ type: 'button', action_id: `${ACTION.retry}:${detail.request.id}:${appId}`, text: { type: 'plain_text', text: `Retry ${failed.length} failed` }, value: `${detail.request.id}|${appId}` }],
    });
  } else {
    blocks.push(section(mrkdwn`No item is failed any more.`));
  }
  return { text: mrkdwn`${appName(config, appId)} could not finish request ${escapeMrkdwn(detail.request.id)}: ${failed.length} failed`, blocks };
}

/** For `/access status` and the Home tab: one request in a few lines. */
export function requestOverview(config: AccessConfig, detail: RequestDetail): KnownBlock[] {
  return [
    section(overviewTitle(detail)),
    ...sectionsOfLines(detail.items.map((item) => itemLine(config, item)), 15),
  ];
}

const overviewTitle = (detail: RequestDetail) =>
  mrkdwn`*${escapeMrkdwn(detail.request.id)}* · ${escapeMrkdwn(kindWord(detail))} · effective ${escapeMrkdwn(detail.request.effectiveDate)}`;

export function requestOverviewText(config: AccessConfig, detail: RequestDetail): Mrkdwn {
  return joinMrkdwn([overviewTitle(detail), ...detail.items.slice(0, 15).map((item) => itemLine(config, item))], '\n');
}
