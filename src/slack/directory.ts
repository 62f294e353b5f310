/**
 * Reads from Slack what judging a click needs and must not wait for inside a transaction: the members of the
 * `itAdmins` user groups, and the e-mails of the people who may decide (approvers, IT admins, clickers) and
whether their accounts are deactivated (such an approver is skipped when a step opens). Read
 * at start-up, refreshed periodically; a clicker's e-mail is read (once an hour at most) before their click is judged.
 */
import { approvalStepsOf } from '../config.js';
import type { AppContext } from '../context.js';

/** How long a person's e-mail, once read, is trusted before a click reads it again. */
const EMAIL_FRESH_MS = 60 * 60_000;
/** How often the IT admins' groups and the approvers' e-mails are read again. */
export const DIRECTORY_REFRESH_MS = 10 * 60_000;

async function readEmail(ctx: AppContext, userId: string): Promise<void> {
  const answer = await ctx.slack.users.info({ user: userId });
  ctx.knownEmails?.remember(userId, answer.user?.profile?.email, ctx.clock.now(), answer.user?.deleted === true);
}

/**
 * The clicker's e-mail, read unless read recently. False when it is unknown and Slack could not be asked: the
 * click is then not judged, since the clicker may be a subject known only by e-mail.
 */
export async function learnClicker(ctx: AppContext, userId: string): Promise<boolean> {
  if (!ctx.knownEmails) return true;
  const readAt = ctx.knownEmails.readAt(userId);
  if (readAt !== undefined && ctx.clock.now() - readAt < EMAIL_FRESH_MS) return true;
  try {
    await readEmail(ctx, userId);
    return true;
  } catch (error) {
    ctx.log.warn('could not read a clicker from Slack', { userId, error: (error as Error).message });
    return readAt !== undefined;
  }
}

/** Reads every IT admin group's members and every approver's and IT admin's e-mail; failures are logged, not thrown. */
export async function refreshDirectory(ctx: AppContext): Promise<void> {
  for (const group of ctx.itAdmins.groups()) {
    try {
      const answer = await ctx.slack.usergroups.users.list({ usergroup: group });
      ctx.itAdmins.setGroupMembers(group, answer.users ?? []);
    } catch (error) {
      ctx.log.warn('could not read an itAdmins user group from Slack; its members are not IT admins until it is read', { group, error: (error as Error).message });
    }
  }
  const people = new Set([...ctx.itAdmins.members(), ...ctx.config.apps.flatMap((app) => approvalStepsOf(app).flatMap((step) => step.approvers))]);
  const queue = [...people];
  // A few at a time: a large approver list must not trip Slack's rate limit at start-up.
  await Promise.all(
    Array.from({ length: Math.min(4, queue.length) }, async () => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        await readEmail(ctx, userId).catch((error: Error) => ctx.log.warn('could not read an approver from Slack', { userId, error: error.message }));
      }
    }),
  );
}
