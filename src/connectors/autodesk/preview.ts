/**
 * What approving will do in Autodesk, per person (issue 13 §1), read under the trust rule: only from Autodesk's
 * answers after the request was filed, and one complete listing for the whole request (shared with any other
 * caller), never a traversal per person or per card. The same words are computed again at execution from what
 * the connector then finds, and the account is compared with the one the approvers saw (`checkPreview`).
 */
import type { AutodeskAppConfig } from './config.js';
import type { Clock } from '../../util/time.js';
import { PreviewChanged, sameAccount, type ItemPreview } from '../preview.js';
import type { FulfillmentItem, ItemPort } from '../types.js';
import { withPriority } from './client.js';
import type { AutodeskDirectory, DirectoryEntry } from './directory.js';
import { PRIORITY } from './limiter.js';

/** Onboarding only ever adds access: a role is changed only to one ranked higher than the account's. */
export const ROLE_RANK: Readonly<Record<string, number>> = { viewer: 0, user: 1, admin: 2 };

export const NOT_TOUCHED = 'protected: will not be touched';
export const NO_ACCOUNT = 'no Autodesk account';

const list = (names: string[]) => names.join(', ');

function onboardSummary(app: AutodeskAppConfig, item: FulfillmentItem, entry: DirectoryEntry | undefined): string {
  const teams = (item.options.teams ?? []).map((id) => app.teams.find((team) => team.id === id)?.name ?? id);
  if (!entry) {
    const role = item.options.role ?? app.defaultRole;
    return `will invite ${item.subject.email} as ${role}${teams.length ? `, then join ${list(teams)} once accepted` : ''}`;
  }
  switch (entry.status) {
    case 'inactive':
      return 'deactivated: cannot be reactivated through the API';
    case 'pending':
      return `invited earlier, not accepted yet: ${teams.length ? `will join ${list(teams)} once accepted` : 'nothing more to do once accepted'}`;
    case 'active': {
      const wanted = item.options.role;
      const current = entry.role === null ? undefined : ROLE_RANK[entry.role];
      const asked = wanted === undefined ? undefined : ROLE_RANK[wanted];
      const raises = wanted !== undefined && current !== undefined && asked !== undefined && asked > current;
      const changes = [...(raises ? [`raise the role to ${wanted}`] : []), ...(teams.length ? [`add ${list(teams)}`] : [])];
      return `already active as ${entry.role ?? 'unknown role'}: ${changes.length ? `will only ${changes.join(' and ')}` : 'nothing to change'}`;
    }
    default:
      return 'has a status accessbot does not know: will stop and ask IT';
  }
}

function offboardSummary(app: AutodeskAppConfig, entry: DirectoryEntry | undefined): string {
  if (!entry) return NO_ACCOUNT;
  switch (entry.status) {
    case 'inactive':
      return 'already inactive';
    case 'active':
    case 'pending':
      return app.offboardAction === 'delete' ? 'will be deleted (irreversible)' : 'will be deactivated';
    default:
      return 'has a status accessbot does not know: will stop and ask IT';
  }
}

/** One item's preview from the account Autodesk showed for its e-mail (undefined: a complete listing has none). */
export function previewOfEntry(isProtected: (email: string) => boolean, app: AutodeskAppConfig, item: FulfillmentItem, entry: DirectoryEntry | undefined, readAt: number): ItemPreview {
  const account = { accountId: entry?.id ?? null, email: entry?.email ?? null, status: entry?.status ?? null, lastLogin: entry?.lastLogin ?? null };
  const summary = isProtected(item.subject.email)
    ? NOT_TOUCHED
    : item.kind === 'onboard' ? onboardSummary(app, item, entry) : offboardSummary(app, entry);
  return { itemId: item.itemId, ...account, summary, readAt };
}

/**
 * The previews of a request's Autodesk items: one listing started at or after `notBefore` (none at all when the
 * directory already has one), then a lookup per person in it.
 */
export async function previewItems(
  isProtected: (email: string) => boolean, appOf: (appId: string) => AutodeskAppConfig, directory: AutodeskDirectory, items: FulfillmentItem[], notBefore: number, signal: AbortSignal,
): Promise<ItemPreview[]> {
  if ((directory.refreshedAt() ?? Number.NEGATIVE_INFINITY) < notBefore) {
    await withPriority(PRIORITY.background, () => directory.refresh(signal, notBefore));
  }
  const listedAt = directory.refreshedAt()!;
  return items.map((item) => {
    const entry = directory.lookup(item.subject.email);
    return previewOfEntry(isProtected, appOf(item.appId), item, entry, Math.max(listedAt, entry?.seenAt ?? 0));
  });
}

/**
 * At execution, before anything is done: the account found must be the one the approvers were shown. Throws
 * PreviewChanged (nothing done; the item goes back to its approvers) when it is not. No preview, or one that
 * could not be read, asks nothing: approval never depended on it.
 */
export function checkPreview(items: Pick<ItemPort, 'storedPreview'>, clock: Clock, isProtected: (email: string) => boolean, app: AutodeskAppConfig, item: FulfillmentItem, found: DirectoryEntry | undefined): void {
  const previewed = items.storedPreview(item.itemId);
  if (!previewed || previewed.state !== 'ok') return;
  const current = previewOfEntry(isProtected, app, item, found, found?.seenAt ?? clock.now());
  if (!sameAccount(previewed, current)) throw new PreviewChanged(previewed, current);
}
