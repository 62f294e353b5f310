/**
 * What an approval will do, per item, before anyone approves it (issue 13 §1). A connector that can tell
 * (`Connector.preview`) answers with data, never Slack markup: the card renders it (src/slack/blocks/request.ts).
 */

/** One item's preview: the account the connector found (if any) and, in words, what approving will do. */
export interface ItemPreview {
  itemId: number;
  /** The app's id of the account found; null when there is none. */
  accountId: string | null;
  /** The account's e-mail exactly as the app stores it (casing included); null when there is none. */
  email: string | null;
  status: string | null;
  /** ISO timestamp of the account's last login, when the app says. */
  lastLogin: string | null;
  /** Plain text: "will invite ann@x.com as user, then join Design Team once accepted", "no Autodesk account". */
  summary: string;
  /** When the answer it is read from came from the app. */
  readAt: number;
}

/**
 * Thrown by a connector at execution when the account it finds is not the one the approvers were shown (another
 * id, another e-mail, or one appeared or disappeared). Nothing was done: the item goes back to its approvers
 * with `current` as its new preview, instead of acting on an account nobody approved.
 */
export class PreviewChanged extends Error {
  constructor(readonly previewed: ItemPreview, readonly current: ItemPreview) {
    super(`the account changed since the approvers saw it (previewed: ${describeAccount(previewed)}; now: ${describeAccount(current)})`);
    this.name = 'PreviewChanged';
  }
}

export function describeAccount(preview: Pick<ItemPreview, 'accountId' | 'email'>): string {
  return preview.accountId ? `${preview.email ?? '?'} (id ${preview.accountId})` : 'no account';
}

/** Whether two previews name the same account: same id, and the same e-mail as stored (casing counts). */
export function sameAccount(a: Pick<ItemPreview, 'accountId' | 'email'>, b: Pick<ItemPreview, 'accountId' | 'email'>): boolean {
  return a.accountId === b.accountId && (a.accountId === null || a.email === b.email);
}
