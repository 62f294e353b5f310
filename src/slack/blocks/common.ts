/** Small Block Kit helpers shared by the builders. Slack rejects section text over 3000 characters. */
import type { KnownBlock } from '@slack/types';

export const SECTION_TEXT_LIMIT = 3000;

export function truncate(text: string, limit = SECTION_TEXT_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

export function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text) } };
}

export function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text) }] };
}

export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, 150) } };
}

/** Lines split over as many sections as their length needs, with at most `maxLines` shown. */
export function sectionsOfLines(lines: string[], maxLines = 60): KnownBlock[] {
  const shown = lines.slice(0, maxLines);
  if (lines.length > maxLines) shown.push(`…and ${lines.length - maxLines} more`);
  const blocks: KnownBlock[] = [];
  let current = '';
  for (const line of shown) {
    const next = current ? `${current}\n${line}` : line;
    if (next.length > SECTION_TEXT_LIMIT && current) {
      blocks.push(section(current));
      current = line;
    } else current = next;
  }
  if (current) blocks.push(section(current));
  return blocks;
}

export function plain(text: string) {
  return { type: 'plain_text' as const, text: truncate(text, 75), emoji: true };
}

export function formatTime(epochMs: number): string {
  const seconds = Math.floor(epochMs / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${new Date(epochMs).toISOString().replace('T', ' ').slice(0, 16)} UTC>`;
}
