/**
 * Reads from Slack what judging a click needs and must not wait for inside a transaction: the members of the
 * `itAdmins` user groups, and the rows of the people who may decide (approvers, IT admins, clickers) in the one
 * directory of Slack users (`src/slack/people.ts`): their e-mails, and whether their accounts are deactivated
 * (such an approver is skipped when a step opens). Groups are read at start-up and periodically; a person whose
 * row the hourly users.list listing (or an earlier read) left fresh is not asked again.
 */
import { approvalStepsOf, ConfigError, personEntriesOf } from '../config.js';
import type { AppContext } from '../context.js';
import { expandApprovers, isEmailEntry, isGroupEntry } from '../requests/approver-entries.js';

/** How long a clicker's row, once read, is trusted before a click reads it again (the listing's period). */
const EMAIL_FRESH_MS = 60 * 60_000;
/** How often the IT admins' groups and the approvers' rows are read again. */
export const DIRECTORY_REFRESH_MS = 10 * 60_000;

/**
 * The clicker's row, read unless read recently (by the listing or an earlier click). False when it is unknown and
 * Slack could not be asked: the click is then not judged, since the clicker may be a subject known only by e-mail.
 */
export async function learnClicker(ctx: AppContext, userId: string): Promise<boolean> {
  if (!ctx.knownEmails) return true;
  const readAt = ctx.knownEmails.readAt(userId);
  if (readAt !== undefined && ctx.clock.now() - readAt < EMAIL_FRESH_MS) return true;
  try {
    await ctx.people.read(userId);
    return true;
  } catch (error) {
    ctx.log.warn('could not read a clicker from Slack', { userId, error: (error as Error).message });
    return readAt !== undefined;
  }
}

/** Tries of one e-mail look-up at start-up when Slack rate-limits or does not answer. */
const EMAIL_LOOKUP_TRIES = 5;

/**
 * Looks up every e-mail among `itAdmins` and the approvers, once, before the bot takes work. One that no Slack
 * user has stops start-up naming its JSON path: a step whose approver is nobody would quietly go to IT instead.
 * Deactivated accounts count as unknown (users.lookupByEmail does not answer them), and so does an e-mail Slack
 * could not be asked about after a few tries, with the reason: start again once Slack answers.
 */
export async function resolveApproverEmails(ctx: AppContext): Promise<void> {
  const entries = ctx.approverEntries;
  if (!entries) return;
  const wanted = personEntriesOf(ctx.config).filter(({ entry }) => isEmailEntry(entry));
  const answers = new Map<string, Promise<string | undefined>>();
  const lookUp = async (email: string): Promise<string | undefined> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await ctx.slack.users.lookupByEmail({ email });
        if (!answer.user?.id) return `Slack answered the look-up of ${email} without a user`;
        entries.setEmailUser(email, answer.user.id);
        ctx.people.remember([{ ...answer.user, profile: { ...answer.user.profile, email: answer.user.profile?.email ?? email } }]);
        return undefined;
      } catch (error) {
        const coded = error as Error & { data?: { error?: string }; retryAfter?: number };
        if (coded.data?.error === 'users_not_found') return `no Slack user has the e-mail ${email} (a deactivated account counts as none)`;
        if (attempt >= EMAIL_LOOKUP_TRIES) return `could not look up ${email} in Slack (${coded.data?.error ?? coded.message}); start again when Slack answers`;
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, (coded.retryAfter ?? attempt) * 1000)));
      }
    }
  };
  for (const { entry } of wanted) if (!answers.has(entry.toLowerCase())) answers.set(entry.toLowerCase(), lookUp(entry));
  const problems: string[] = [];
  for (const { entry, path } of wanted) {
    const problem = await answers.get(entry.toLowerCase());
    if (problem) problems.push(`${path}: ${problem}`);
  }
  if (problems.length) throw new ConfigError(ctx.settings.env.ACCESS_CONFIG, problems);
}

/** Reads one user group's members; a failed read keeps what was known. */
async function readGroup(ctx: AppContext, group: string): Promise<void> {
  try {
    const answer = await ctx.slack.usergroups.users.list({ usergroup: group });
    ctx.approverEntries?.setGroupMembers(group, answer.users ?? []);
    ctx.itAdmins.setGroupMembers(group, answer.users ?? []);
  } catch (error) {
    ctx.log.warn('could not read a user group from Slack; it names nobody new until it is read', { group, error: (error as Error).message });
  }
}

/** The user groups named as approvers of these apps (all apps when none are given) or as IT admins. */
function groupsOf(ctx: AppContext, appIds?: readonly string[]): string[] {
  const apps = appIds ? ctx.config.apps.filter((app) => appIds.includes(app.id)) : ctx.config.apps;
  const approverGroups = apps.flatMap((app) => approvalStepsOf(app).flatMap((step) => step.approvers)).filter(isGroupEntry);
  return [...new Set([...(appIds ? [] : ctx.itAdmins.groups()), ...approverGroups])];
}

/**
 * Reads the approver groups of the apps a request names, just before its first steps open, so those steps get
 * the members of this moment; bounded by `deadline` (epoch ms), past which the last read members serve.
 */
export async function refreshApproverGroups(ctx: AppContext, appIds: readonly string[], deadline: number): Promise<void> {
  const groups = groupsOf(ctx, appIds);
  if (groups.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, deadline - ctx.clock.now())); });
  await Promise.race([Promise.all(groups.map((group) => readGroup(ctx, group))), late]).finally(() => clearTimeout(timer));
}

/**
 * Reads every user group's members (IT admins and approvers), and every approver and IT admin whose row is older
 * than a refresh period (so a deactivated approver is skipped within it); failures are logged, not thrown.
 */
export async function refreshDirectory(ctx: AppContext): Promise<void> {
  for (const group of groupsOf(ctx)) await readGroup(ctx, group);
  const people = new Set([...ctx.itAdmins.members(), ...expandApprovers(ctx, ctx.config.apps.flatMap((app) => approvalStepsOf(app).flatMap((step) => step.approvers)))]);
  const readSince = ctx.clock.now() - DIRECTORY_REFRESH_MS;
  const queue = [...people].filter((userId) => (ctx.knownEmails?.readAt(userId) ?? 0) <= readSince);
  // A few at a time: a large approver list must not trip Slack's rate limit at start-up.
  await Promise.all(
    Array.from({ length: Math.min(4, queue.length) }, async () => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        await ctx.people.read(userId).catch((error: Error) => ctx.log.warn('could not read an approver from Slack', { userId, error: error.message }));
      }
    }),
  );
}
