/**
 * The per-person access report as Slack shows it: one line per app of the config (what stands, what was done, by
 * whom or by which connector, when), then what is still open. Within Slack's limits: at most 50 blocks, 3000
 * characters a section; past those, "…and N more".
 */
import type { KnownBlock } from '@slack/types';
import type { PersonReport, ReportEntry, AppReportRow } from '../../requests/person-report.js';
import { STATE_LABEL } from '../../requests/model.js';
import { escapeMrkdwn, isSlackId, joinMrkdwn, mention, mrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';
import { wordsMrkdwn } from '../words.js';
import { context, formatTime, header, section, sectionsOfLines } from './common.js';
import type { Rendered } from './request.js';

export const REPORT_ACTION = 'person_report';

/** Entries shown per app; older ones are counted. */
const ENTRIES_PER_APP = 4;
/** Apps listed: at most ~1,300 characters each (4 entries), two to a section, well inside 50 blocks. */
const MAX_APPS = 60;
const MAX_BLOCKS = 50;

/** Plain-text name of whom the report is about, for headers and notifications. */
export function reportPersonName(report: Pick<PersonReport, 'person'>): string {
  const { person } = report;
  return person.name && person.email ? `${person.name} (${person.email})` : person.name ?? person.email ?? person.slackId ?? 'unknown person';
}

function personLabel(report: PersonReport): Mrkdwn {
  const { person } = report;
  const email = person.email ? escapeMrkdwn(person.email) : mrkdwn`no e-mail`;
  return person.slackId && isSlackId(person.slackId) ? mrkdwn`${mention(person.slackId)} · ${email}` : email;
}

/** "by @ivy" for a person, "by the Autodesk connector" when accessbot acted. */
function byWhom(entry: ReportEntry, row: AppReportRow): Mrkdwn {
  if (!entry.lastActor) return mrkdwn``;
  if (entry.lastActor === 'accessbot') return escapeMrkdwn(` by ${row.actorName}`);
  return mrkdwn` by ${mention(entry.lastActor)}`;
}

const VERB: Record<string, Record<'onboard' | 'offboard', string>> = {
  completed: { onboard: 'onboarded', offboard: 'offboarded' },
};

function entryLine(entry: ReportEntry, row: AppReportRow): Mrkdwn {
  const what = VERB[entry.state]?.[entry.kind] ?? `${entry.kind === 'onboard' ? 'onboarding' : 'offboarding'} ${STATE_LABEL[entry.state]}`;
  const said = entry.detail === null ? undefined : wordsMrkdwn(entry.detail);
  const detail = said && said !== STATE_LABEL[entry.state] ? mrkdwn` — ${said}` : mrkdwn``;
  return mrkdwn`    ${escapeMrkdwn(what)}${byWhom(entry, row)} ${formatTime(entry.lastAt)} · ${escapeMrkdwn(entry.requestId)} asked by ${mention(entry.requesterId)}${detail}`;
}

const STANDING: Record<AppReportRow['standing'], string> = {
  open: '⏳ open',
  has_access: '🟢 has access',
  removed: '✅ removed',
  none: '▫️ no access recorded by accessbot',
};

function appLines(row: AppReportRow): Mrkdwn[] {
  const lines = [mrkdwn`*${escapeMrkdwn(row.appName)}*: ${escapeMrkdwn(STANDING[row.standing])}`];
  for (const entry of row.entries.slice(0, ENTRIES_PER_APP)) lines.push(entryLine(entry, row));
  if (row.entries.length > ENTRIES_PER_APP) lines.push(mrkdwn`    …and ${row.entries.length - ENTRIES_PER_APP} earlier`);
  return [joinMrkdwn(lines, '\n')];
}

export function personReportMessage(report: PersonReport): Rendered {
  const rows = [...report.apps, ...report.retiredApps];
  const lines = rows.flatMap(appLines);
  const openText = report.openApps === 0
    ? mrkdwn`Nothing is open: every app is closed for this person.`
    : mrkdwn`*Still open (${report.openApps}):* ${joinMrkdwn(rows.filter((row) => row.standing === 'open').map((row) => mrkdwn`${escapeMrkdwn(row.appName)} (${joinMrkdwn(row.open.map((entry) => escapeMrkdwn(`${STATE_LABEL[entry.state]}, ${entry.requestId}`)), '; ')})`), ', ')}`;
  // As many apps as fit in the blocks left (long details take more room); the rest are counted, "…and N more".
  let shown = Math.min(MAX_APPS, lines.length);
  let appBlocks = sectionsOfLines(lines, shown);
  while (appBlocks.length > MAX_BLOCKS - 3 && shown > 1) appBlocks = sectionsOfLines(lines, --shown);
  const blocks: KnownBlock[] = [
    header(`Access report: ${reportPersonName(report)}`),
    section(mrkdwn`${personLabel(report)}\n${openText}`),
    ...appBlocks,
    context(mrkdwn`Every app in accessbot's config; as of ${formatTime(report.generatedAt)}.`),
  ];
  if (blocks.length > MAX_BLOCKS) {
    // Only one app whose stored details are of unusual length gets here: what is left out is still counted.
    const dropped = blocks.length - (MAX_BLOCKS - 1);
    blocks.splice(MAX_BLOCKS - 2, dropped, context(mrkdwn`…and ${dropped} more blocks: \`npm run audit -- --person\` has all of it.`));
  }
  const status = report.openApps === 0 ? 'nothing open' : `${report.openApps} open`;
  return { text: escapeMrkdwn(`Access report for ${reportPersonName(report)}: ${status}`), blocks };
}

/** The Report button on a finished offboarding's status message. */
export function reportButton(requestId: string): KnownBlock {
  return {
    type: 'actions',
    block_id: `report:${requestId}`,
    elements: [{ type: 'button', action_id: `${REPORT_ACTION}:${requestId}`, text: { type: 'plain_text', text: 'Report' }, value: requestId }],
  };
}
