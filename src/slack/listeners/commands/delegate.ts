/**
 * `/access delegate <@U…> until YYYY-MM-DD`, `/access delegate off`, and `/access delegate` alone (what is in
 * force). Slack sends a picked mention as `<@U123|name>` (or `<@U123>`); anything else is answered, never guessed.
 */
import type { WebClient } from '@slack/web-api';
import type { AppContext } from '../../../context.js';
import { delegationStatus, endDelegation, MAX_DELEGATION_DAYS, startDelegation } from '../../../requests/delegation.js';
import { escapeMrkdwn } from '../../../util/mrkdwn.js';
import { wordsMrkdwn } from '../../words.js';

const DELEGATE_USAGE = `Type \`/access delegate @person until YYYY-MM-DD\` (pick the person from the @ list; the last day is at most ${MAX_DELEGATION_DAYS} days ahead), or \`/access delegate off\`.`;

/** `<@U123|name> until 2026-12-24`, strictly: one mention, the word until, one date. */
const START = /^<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>\s+until\s+(\S+)$/i;

type Person = { ok: true; name: string | null } | { ok: false; message: string };

/** Whether Slack knows this person as someone active who can decide: not a bot, not deactivated. */
async function readDelegate(client: WebClient, userId: string): Promise<Person> {
  try {
    const { user } = await client.users.info({ user: userId });
    if (!user) return { ok: false, message: `Slack does not know <@${userId}>. Nothing was changed.` };
    if (user.is_bot || user.is_app_user || userId === 'USLACKBOT') return { ok: false, message: `<@${userId}> is a bot: approvals can only be handed to a person. Nothing was changed.` };
    if (user.deleted) return { ok: false, message: `<@${userId}>'s Slack account is deactivated: choose someone who is still here. Nothing was changed.` };
    return { ok: true, name: user.profile?.display_name || user.real_name || user.name || null };
  } catch (error) {
    if ((error as { data?: { error?: string } }).data?.error === 'user_not_found') return { ok: false, message: `Slack does not know <@${userId}>. Nothing was changed.` };
    throw error;
  }
}

/** How the delegator is named on the delegate's buttons; the slash command's user name when Slack cannot say. */
async function nameOf(client: WebClient, userId: string, fallback: string | undefined): Promise<string | null> {
  const { user } = await client.users.info({ user: userId }).catch(() => ({ user: undefined }));
  return user?.profile?.display_name || user?.real_name || user?.name || fallback || null;
}

function statusText(ctx: AppContext, userId: string): string {
  const { given, held } = delegationStatus(ctx, userId);
  const lines = [given ? `Your approvals go to <@${given.delegate}> until the end of ${given.untilDate}.` : 'Your approvals come to you (no delegation in force).'];
  for (const delegation of held) lines.push(`You decide for <@${delegation.delegator}> until the end of ${delegation.untilDate}.`);
  return `${lines.join('\n')}\n\n${DELEGATE_USAGE}`;
}

/** The ephemeral answer to `/access delegate <rest>`; the change itself is made by the requests layer. */
export async function delegateCommandText(ctx: AppContext, client: WebClient, userId: string, userName: string | undefined, rest: string): Promise<string> {
  if (rest === '') return statusText(ctx, userId);
  if (rest.toLowerCase() === 'off') {
    const result = endDelegation(ctx, userId);
    return result.ok ? `Delegation to <@${result.delegation.delegate}> ended: your approvals, the open ones included, come to you again. Both of you have been told.` : wordsMrkdwn(result.message);
  }
  const match = START.exec(rest);
  if (!match) {
    const mentioned = /<@[UW][A-Z0-9]+/i.test(rest);
    const why = mentioned ? `I could not read \`${escapeMrkdwn(rest.slice(0, 80))}\`.` : 'Whom to? Mention them with @ so Slack gives me their id.';
    return `${why} ${DELEGATE_USAGE}`;
  }
  const delegate = match[1]!.toUpperCase();
  const untilDate = match[2]!;
  if (delegate === userId) return 'You cannot delegate your approvals to yourself. Name the colleague who decides for you.';
  const person = await readDelegate(client, delegate);
  if (!person.ok) return person.message;
  const result = startDelegation(ctx, { delegator: userId, delegate, untilDate, delegatorName: await nameOf(client, userId, userName) });
  if (!result.ok) return wordsMrkdwn(result.message);
  const replaced = result.replaced ? ` It replaces your delegation to <@${result.replaced.delegate}>.` : '';
  const routed = result.routedToIt ? ` ${result.routedToIt} open step${result.routedToIt === 1 ? '' : 's'} that <@${delegate}> may not decide (their own request or access, or a step they decided) went to the IT admins.` : '';
  return `Your approvals go to <@${delegate}> until the end of ${result.delegation.untilDate} (${ctx.config.timezone}), the open ones included; both of you have been told.${replaced}${routed} \`/access delegate off\` ends it sooner.`;
}
