/**
 * Small Block Kit helpers shared by the builders. mrkdwn text goes in only as `Mrkdwn` (see src/util/mrkdwn.ts),
 * so nothing a person typed reaches Slack as markup; plain_text fields take any string (Slack shows it as is).
 * Slack rejects section text over 3000 characters: long text is split over several blocks, never cut.
 */
import type { KnownBlock } from '@slack/types';
import { joinMrkdwn, mrkdwn, quoteLines, slackDate, splitMrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';

export const SECTION_TEXT_LIMIT = 3000;

/** For plain_text, which Slack shows literally: cutting it is the only concern. */
export function truncate(text: string, limit = SECTION_TEXT_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/**
 * One section for text we know is short (labels, counts, mentions). Should it ever be longer, it is cut visibly
 * at a safe place rather than rejected by Slack; text people wrote goes through `sections` instead.
 */
export function section(text: Mrkdwn): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: fit(text) } };
}

export function context(text: Mrkdwn): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: fit(text) }] };
}

function fit(text: Mrkdwn): Mrkdwn {
  return text.length <= SECTION_TEXT_LIMIT ? text : mrkdwn`${splitMrkdwn(text, SECTION_TEXT_LIMIT - 1)[0]!}…`;
}

/** Text of any length, whole, over as many sections as it needs. */
export function sections(text: Mrkdwn): KnownBlock[] {
  return splitMrkdwn(text, SECTION_TEXT_LIMIT).map(section);
}

/** Text of any length, whole, over as many context blocks as it needs. */
export function contexts(text: Mrkdwn): KnownBlock[] {
  return splitMrkdwn(text, SECTION_TEXT_LIMIT).map(context);
}

/**
 * What a person wrote (a justification, a reason), under a bold label, as a block quote: whole, over as many
 * sections as it needs, every piece still quoted.
 */
export function quotedSections(label: Mrkdwn, text: Mrkdwn): KnownBlock[] {
  const pieces = splitMrkdwn(mrkdwn`*${label}*\n${quoteLines(text)}`, SECTION_TEXT_LIMIT - 1);
  return pieces.map((piece, i) => section(i === 0 || piece.startsWith('>') ? piece : mrkdwn`>${piece}`));
}

export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, 150) } };
}

/** Lines split over as many sections as their length needs, with at most `maxLines` shown. */
export function sectionsOfLines(lines: Mrkdwn[], maxLines = 60): KnownBlock[] {
  const shown = lines.slice(0, maxLines);
  if (lines.length > maxLines) shown.push(mrkdwn`…and ${lines.length - maxLines} more`);
  const blocks: KnownBlock[] = [];
  let current: Mrkdwn[] = [];
  let length = 0;
  for (const line of shown) {
    if (current.length && length + 1 + line.length > SECTION_TEXT_LIMIT) {
      blocks.push(...sections(joinMrkdwn(current, '\n')));
      current = [];
      length = 0;
    }
    current.push(line);
    length += (length ? 1 : 0) + line.length;
  }
  if (current.length) blocks.push(...sections(joinMrkdwn(current, '\n')));
  return blocks;
}

export function plain(text: string) {
  return { type: 'plain_text' as const, text: truncate(text, 75), emoji: true };
}

export function formatTime(epochMs: number): Mrkdwn {
  return slackDate(epochMs);
}
