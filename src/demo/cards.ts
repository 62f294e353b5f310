/**
 * `npm run demo -- --cards`: for each kind of message the product sent in the demo, a Block Kit Builder link that
 * carries exactly the blocks the bot sent (read from the Slack sandbox's recorded calls, so whatever a card holds
 * today is what the link shows: nothing about a card's shape is assumed here).
 */
import { LEAVER_JUSTIFICATION } from '../requests/leavers.js';
import type { RecordedCall } from '../sandboxes/slack/server.js';

export const BLOCK_KIT_BUILDER = 'https://app.slack.com/block-kit-builder/#';

/**
 * Longest link printed. Browsers take far longer URLs, but 8,000 characters is what common servers, proxies and
 * chat clients pass through whole (nginx's default request line is 8 KB); a longer link is reported, not printed
 * broken.
 */
export const MAX_URL_LENGTH = 8000;

/** What Block Kit Builder loads: a message's blocks, or a Home tab. */
export type BuilderPayload = { blocks: unknown[] } | { type: 'home'; blocks: unknown[] };

export function builderUrl(payload: BuilderPayload): string {
  // Parentheses encoded too, so the link stays whole inside a Markdown link (the README's) and chat clients.
  return BLOCK_KIT_BUILDER + encodeURIComponent(JSON.stringify(payload)).replace(/\(/g, '%28').replace(/\)/g, '%29');
}

/** The payload a link carries, back from the link: what a reader's browser hands the builder. */
export function payloadOfUrl(url: string): BuilderPayload {
  if (!url.startsWith(BLOCK_KIT_BUILDER)) throw new Error('not a Block Kit Builder link');
  return JSON.parse(decodeURIComponent(url.slice(BLOCK_KIT_BUILDER.length))) as BuilderPayload;
}

export type CardLink = { kind: string; url: string } | { kind: string; tooLong: number };

export function cardLink(kind: string, payload: BuilderPayload, limit = MAX_URL_LENGTH): CardLink {
  const url = builderUrl(payload);
  return url.length <= limit ? { kind, url } : { kind, tooLong: url.length };
}

type Args = { text?: unknown; blocks?: unknown; view?: { type?: unknown; blocks?: unknown } };

const isApprovalCard = (text: string, blocks: string) => text.includes('needs a decision') && blocks.includes('"Approve');
/** A leaver's offboarding says on its card why it exists (src/requests/leavers.ts). */
const isLeaverCard = (text: string, blocks: string) => isApprovalCard(text, blocks) && blocks.includes(LEAVER_JUSTIFICATION);
const isTask = (_text: string, blocks: string) => blocks.includes('Mark done');
/** A by-hand task says what the connector tried (src/slack/tasks/blocks.ts). */
const isByHandTask = (text: string, blocks: string) => isTask(text, blocks) && blocks.includes('*Tried:* the ');

/**
 * What the product sends, told apart by the notification text each kind carries (its wording is the contract).
 * A message is of the first kind it matches, so the general kinds leave out the special ones listed after them.
 */
const MESSAGE_KINDS: { kind: string; matches: (text: string, blocks: string) => boolean }[] = [
  { kind: 'approval card', matches: (text, blocks) => isApprovalCard(text, blocks) && !isLeaverCard(text, blocks) },
  { kind: "a leaver's approval card", matches: isLeaverCard },
  { kind: "the requester's status", matches: (text) => /^Your (onboarding|offboarding) request/.test(text) },
  { kind: 'a task', matches: (text, blocks) => isTask(text, blocks) && !isByHandTask(text, blocks) },
  { kind: 'a by-hand task', matches: isByHandTask },
  { kind: 'a failure alert', matches: (text) => text.includes('could not finish request') },
  { kind: 'the per-person report', matches: (text) => text.startsWith('Access report for') },
];

/**
 * For each kind, the blocks of the last call that sent one (its final look in the demo); Home from the last
 * `views.publish` that had content. Kinds the demo never sent are left out.
 */
export function cardsFromCalls(calls: readonly RecordedCall[]): { kind: string; payload: BuilderPayload }[] {
  const found = new Map<string, BuilderPayload>();
  let home: BuilderPayload | undefined;
  for (const call of calls) {
    if (!call.ok) continue;
    const args = call.args as Args;
    if (call.method === 'views.publish' && Array.isArray(args.view?.blocks) && args.view.blocks.length > 0) {
      home = { type: 'home', blocks: args.view.blocks as unknown[] };
      continue;
    }
    if (call.method !== 'chat.postMessage' && call.method !== 'chat.update') continue;
    if (!Array.isArray(args.blocks) || typeof args.text !== 'string') continue;
    const blocks = JSON.stringify(args.blocks);
    const kind = MESSAGE_KINDS.find((candidate) => candidate.matches(args.text as string, blocks))?.kind;
    if (kind) found.set(kind, { blocks: args.blocks as unknown[] });
  }
  const cards = MESSAGE_KINDS.flatMap(({ kind }) => (found.has(kind) ? [{ kind, payload: found.get(kind)! }] : []));
  return home ? [...cards, { kind: 'Home', payload: home }] : cards;
}

export function formatCardLinks(links: readonly CardLink[], limit = MAX_URL_LENGTH): string {
  const lines = links.map((link) =>
    'url' in link
      ? `${link.kind}:\n  ${link.url}\n`
      : `${link.kind}: too long for one link (${link.tooLong} characters, over ${limit}); see it in Slack or paste its blocks into the builder.\n`);
  return `\n━━ Cards as Slack draws them (Block Kit Builder links, at most ${limit} characters) ━━\n${lines.join('')}`;
}
