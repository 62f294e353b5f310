/**
 * What the core says about an item (its `detail`: "deactivated", "cancelled by @alice", an API's error), as typed
 * words instead of Slack markup. Text is text as written, whoever wrote it (a person's reason, an API's message);
 * a person is their Slack id. `src/slack/words.ts` is the one place that turns words into mrkdwn: it escapes every
 * text and mentions every person, so nothing written here can become markup.
 */
import { z } from 'zod';

/** Someone shown by name: their Slack user id. */
export interface PersonWord {
  person: string;
}
/** Text that must stand out (a card line's label, a warning): shown bold, still escaped. */
export interface StrongWord {
  strong: string;
}
export type Word = string | PersonWord | StrongWord;
/** Plain text, or text and people in reading order. */
export type Words = string | readonly Word[];

/**
 * A detail written before details were words (migration 016 wrapped those rows): mrkdwn that was escaped when it
 * was written, shown as it is. Read back only; no code writes one.
 */
export interface LegacyMrkdwn {
  mrkdwn: string;
}
export type StoredWords = string | readonly (Word | LegacyMrkdwn)[];

const person = z.strictObject({ person: z.string() });
const strong = z.strictObject({ strong: z.string() });
export const storedWordsSchema = z.union([z.string(), z.array(z.union([z.string(), person, strong, z.strictObject({ mrkdwn: z.string() })])).readonly()]);

/** How words are kept in a TEXT column (an item's detail): as JSON. */
export function storeWords(words: StoredWords): string {
  return JSON.stringify(words);
}

/** The words of a stored detail; text that is not stored words (a row older than migration 016) reads as the mrkdwn it was. */
export function readWords(stored: string): StoredWords {
  try {
    const parsed = storedWordsSchema.safeParse(JSON.parse(stored));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: kept as written.
  }
  return [{ mrkdwn: stored }];
}

/** The words as one plain line (logs, tests): a person as `@` and their id, a legacy part as it was stored. */
export function wordsText(words: StoredWords): string {
  if (typeof words === 'string') return words;
  return words.map((word) => (typeof word === 'string' ? word : 'person' in word ? `@${word.person}` : 'strong' in word ? word.strong : word.mrkdwn)).join('');
}
