/**
 * How the core's words and people read in Slack: the one place an item's detail (src/requests/words.ts) and a
 * request's subject become mrkdwn. Text is escaped, so a reason or a name typed as `<!channel>` shows as typed;
 * people are mentioned.
 */
import type { Subject } from '../requests/model.js';
import type { StoredWords } from '../requests/words.js';
import { escapeMrkdwn, isSlackId, joinMrkdwn, mention, mrkdwn, trustedMrkdwn, type Mrkdwn } from '../util/mrkdwn.js';

export function wordsMrkdwn(words: StoredWords): Mrkdwn {
  if (typeof words === 'string') return escapeMrkdwn(words);
  return joinMrkdwn(
    words.map((word) => {
      if (typeof word === 'string') return escapeMrkdwn(word);
      if ('person' in word) return mention(word.person);
      if ('strong' in word) return mrkdwn`*${escapeMrkdwn(word.strong)}*`;
      return trustedMrkdwn(word.mrkdwn);
    }),
    '',
  );
}

/** How a subject is shown: a mention, or the name and e-mail someone typed for a new hire, escaped. */
export function subjectLabel(subject: Subject): Mrkdwn {
  if (subject.slackId && isSlackId(subject.slackId)) return mention(subject.slackId);
  const name = [subject.firstName, subject.lastName].filter(Boolean).join(' ');
  return name ? mrkdwn`${escapeMrkdwn(name)} (${escapeMrkdwn(subject.email)})` : escapeMrkdwn(subject.email);
}
