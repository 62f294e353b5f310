/**
 * The request lifecycle as data and pure functions. A request has one item per (subject, app); each item walks
 * its app's approval steps, then is fulfilled by the app's connector.
 */
import type { StoredPreview } from './previews.js';
import type { StoredWords } from './words.js';

export type RequestKind = 'onboard' | 'offboard';

export type ItemState =
  | 'awaiting_approval'
  | 'denied'
  /** Every step approved; waiting for the effective date, or for a connector to exist for the app. */
  | 'approved'
  /** The connector is working on it (the detail says what it waits for: an invitation, an IT admin). */
  | 'in_progress'
  | 'completed'
  | 'failed'
  /** Withdrawn by the requester or IT before anything was done; final, so no late job can start it again. */
  | 'cancelled';

export const TERMINAL_STATES: readonly ItemState[] = ['denied', 'completed', 'failed', 'cancelled'];

/** A request is open while any of its items is not yet completed, failed, denied or cancelled. */
export function isOpenRequest(detail: { items: readonly { state: string }[] }): boolean {
  return detail.items.some((item) => !(TERMINAL_STATES as readonly string[]).includes(item.state));
}

const TRANSITIONS: Record<ItemState, readonly ItemState[]> = {
  awaiting_approval: ['awaiting_approval', 'approved', 'denied', 'cancelled'],
  approved: ['in_progress', 'completed', 'failed', 'cancelled'],
  // Only a task nobody has done yet is withdrawn from in_progress; work underway in an API is never cancelled.
  // Back to awaiting_approval when the connector, before acting, finds another account than the approvers saw.
  in_progress: ['in_progress', 'completed', 'failed', 'cancelled', 'awaiting_approval'],
  // approved: Retry; in_progress: an IT admin finishes it by hand, as a task.
  failed: ['approved', 'in_progress'],
  denied: [],
  completed: [],
  cancelled: [],
};

export function canTransition(from: ItemState, to: ItemState): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Whether cancelling the request still stops this item: nothing was done for it yet. An item in progress is
 * stopped only where its work can be withdrawn (a person's task: its connector's `withdraw`, or an item being
 * finished by hand); an API call underway is not undone.
 */
export function isCancellable(item: Pick<Item, 'state'>, workCanBeWithdrawn: boolean): boolean {
  if (item.state === 'awaiting_approval' || item.state === 'approved') return true;
  return item.state === 'in_progress' && workCanBeWithdrawn;
}

export interface Subject {
  slackId: string | null;
  email: string;
  firstName: string | null;
  lastName: string | null;
}

/** What the connector plugins' form fields gave, each under the field's `optionKey` (src/connectors/forms.ts). */
export type RequestOptions = Readonly<Record<string, string | string[] | undefined>>;

export interface AccessRequest {
  id: string;
  kind: RequestKind;
  requesterId: string;
  justification: string;
  effectiveDate: string;
  options: RequestOptions;
  createdAt: number;
  updatedAt: number;
}

export interface Item {
  id: number;
  requestId: string;
  appId: string;
  subject: Subject;
  state: ItemState;
  stepIndex: number;
  /** Where it stands, in words (src/requests/words.ts); Slack shows them through src/slack/words.ts. */
  detail: StoredWords | null;
  externalId: string | null;
  updatedAt: number;
  /** Onboarding only: the day (config timezone) the granted access ends and is revoked by itself. */
  endDate?: string | null;
}

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'cancelled';

/** One approval step of one app within one request: decided once, by one person, for all its items. */
export interface Approval {
  id: number;
  requestId: string;
  appId: string;
  stepIndex: number;
  approvers: string[];
  /**
   * Nobody listed may decide (each is the requester, a subject, or decided an earlier step): the IT admins
   * (config `itAdmins`) decide it, on the card in the IT channel, and none of them who is barred personally.
   */
  fallbackToIt: boolean;
  state: ApprovalState;
  decidedBy: string | null;
  /** The listed approver a delegate decided for (`/access delegate`); null when the decider was listed. */
  decidedFor?: string | null;
  decidedAt: number | null;
  reason: string | null;
  /** When the step opened: what "waiting on @x since 2 days" counts from. */
  openedAt: number;
}

export interface RequestDetail {
  request: AccessRequest;
  items: Item[];
  approvals: Approval[];
  /** What approving will do, per item, as its connector read it (absent until read; see src/requests/previews.ts). */
  previews?: readonly StoredPreview[];
}

/**
 * What the model needs to know about people to judge a click, without waiting on Slack: who is on the IT team,
 * and the Slack e-mail of a user when it has been read (a new hire known only by e-mail may be an approver).
 */
export interface PeopleFacts {
  isItAdmin(userId: string): boolean;
  /** The IT admins who are people, to name them in a refusal. */
  itAdminIds(): string[];
  emailOf(userId: string): string | undefined;
  /** Slack says this account is deactivated (as last read): skipped like an absent approver. */
  isDeactivated?(userId: string): boolean;
  /** Who decides this approver's steps now: the delegate of their delegation in force, if any. */
  delegateOf?(userId: string): string | undefined;
}

export type DecisionRefusal =
  | { reason: 'not_found' }
  | { reason: 'already_decided'; decidedBy: string | null; state: ApprovalState; decidedAt: number | null }
  | { reason: 'own_request' }
  | { reason: 'own_access' }
  /** One person decides at most one step of an app's chain. */
  | { reason: 'decided_earlier_step'; stepIndex: number }
  /** A step nobody listed may decide is the IT team's. */
  | { reason: 'it_admins_only'; admins: string[] }
  | { reason: 'not_an_approver'; approvers: string[] }
  /** The clicker handed their approvals to someone else (`/access delegate`) and has not ended it. */
  | { reason: 'delegated'; delegate: string }
  /** A card rendered before buttons named their steps: it is re-rendered, and the click decides nothing. */
  | { reason: 'outdated_card' };

type Refusal = Exclude<DecisionRefusal, { reason: 'not_found' | 'already_decided' | 'outdated_card' }>;

function subjectsOf(items: readonly Item[], appId: string): Subject[] {
  return items.filter((item) => item.appId === appId).map((item) => item.subject);
}

/** Whether this person is one whose access the approval is about: by Slack id, or by their Slack e-mail. */
export function isSubjectOf(items: readonly Item[], appId: string, userId: string, facts: Pick<PeopleFacts, 'emailOf'>): boolean {
  const email = facts.emailOf(userId)?.toLowerCase();
  return subjectsOf(items, appId).some((subject) => subject.slackId === userId || (email !== undefined && subject.email.toLowerCase() === email));
}

/** Who decided the earlier steps of this app's chain in this request. */
function earlierDeciders(approvals: readonly Approval[], appId: string, stepIndex: number): Map<string, number> {
  const deciders = new Map<string, number>();
  for (const approval of approvals) {
    if (approval.appId !== appId || approval.stepIndex >= stepIndex) continue;
    // A decision made for someone counts as both people's: neither decides a later step of the chain.
    for (const who of [approval.decidedBy, approval.decidedFor]) if (who) deciders.set(who, approval.stepIndex);
  }
  return deciders;
}

/** Why this person may not decide this approval, whoever is listed; null when nothing personal stands in the way. */
function personalBar(detail: RequestDetail, approval: Approval, actor: string, facts: PeopleFacts): Refusal | null {
  if (actor === detail.request.requesterId) return { reason: 'own_request' };
  if (isSubjectOf(detail.items, approval.appId, actor, facts)) return { reason: 'own_access' };
  const earlier = earlierDeciders(detail.approvals, approval.appId, approval.stepIndex).get(actor);
  if (earlier !== undefined) return { reason: 'decided_earlier_step', stepIndex: earlier };
  return null;
}

/**
 * Who decides a listed approver's share of a step, and for whom: themselves, or the delegate they handed their
 * approvals to. Nobody when the approver's account is deactivated (skipped like an absent one), or when the one
 * deciding is barred: a delegate is bound by the same rules, and decides only what the approver could have.
 */
function deciderFor(detail: Pick<RequestDetail, 'request' | 'items' | 'approvals'>, approval: Approval, approver: string, facts: PeopleFacts): { decider: string; forWhom: string | null } | null {
  if (facts.isDeactivated?.(approver)) return null;
  if (personalBar(detail, approval, approver, facts)) return null;
  const delegate = facts.delegateOf?.(approver);
  if (!delegate) return { decider: approver, forWhom: null };
  return personalBar(detail, approval, delegate, facts) ? null : { decider: delegate, forWhom: approver };
}

/** Everyone who may decide this listed step now, each with whom they decide for (null: in their own right). */
export function decidersOf(detail: Pick<RequestDetail, 'request' | 'items' | 'approvals'>, approval: Approval, facts: PeopleFacts): Map<string, string | null> {
  const deciders = new Map<string, string | null>();
  for (const approver of approval.approvers) {
    const found = deciderFor(detail, approval, approver, facts);
    // Listed in their own right wins over deciding for someone else.
    if (found && (!deciders.has(found.decider) || found.forWhom === null)) deciders.set(found.decider, found.forWhom);
  }
  return deciders;
}

/**
 * Who may decide a step when it opens: of its approvers, those not the requester, not a subject (by id or
 * e-mail), not someone who decided an earlier step of the same chain, not deactivated in Slack; for an approver
 * who delegated, their delegate, under the same rules. Empty means the step goes to the IT admins.
 */
export function eligibleApprovers(detail: Pick<RequestDetail, 'request' | 'items' | 'approvals'>, appId: string, stepIndex: number, approvers: readonly string[], facts: PeopleFacts): string[] {
  const probe: Approval = { id: 0, requestId: detail.request.id, appId, stepIndex, approvers: [...approvers], fallbackToIt: false, state: 'pending', decidedBy: null, decidedAt: null, reason: null, openedAt: 0 };
  return [...decidersOf(detail, probe, facts).keys()];
}

/** Whom this person decides a pending listed step for: null in their own right (or an IT step), else the delegator. */
export function decidingFor(detail: RequestDetail, approval: Approval, actor: string, facts: PeopleFacts): string | null {
  if (approval.fallbackToIt) return null;
  return decidersOf(detail, approval, facts).get(actor) ?? null;
}

/** Why this person may not decide this pending approval, or null when they may. */
export function refusalFor(detail: RequestDetail, approval: Approval, actor: string, facts: PeopleFacts): Refusal | null {
  const bar = personalBar(detail, approval, actor, facts);
  if (bar) return bar;
  if (approval.fallbackToIt) return facts.isItAdmin(actor) ? null : { reason: 'it_admins_only', admins: facts.itAdminIds() };
  const deciders = decidersOf(detail, approval, facts);
  if (deciders.has(actor)) return null;
  const delegate = approval.approvers.includes(actor) ? facts.delegateOf?.(actor) : undefined;
  if (delegate) return { reason: 'delegated', delegate };
  // Name whom to ask: for an approver whose share their delegate decides, the delegate.
  const decidesFor = new Map([...deciders].flatMap(([decider, forWhom]) => (forWhom ? [[forWhom, decider] as const] : [])));
  return { reason: 'not_an_approver', approvers: [...new Set(approval.approvers.map((approver) => decidesFor.get(approver) ?? approver))] };
}

/** The pending approvals this person may decide now (what their own card's buttons decide). */
export function pendingDecidableBy(detail: RequestDetail, actor: string, facts: PeopleFacts): Approval[] {
  return detail.approvals.filter((approval) => approval.state === 'pending' && refusalFor(detail, approval, actor, facts) === null);
}

/**
 * Who is kept informed of a request's listed steps (and gets an approval card): every approver of a listed step
 * except the requester and the people concerned (they may never decide it) and deactivated accounts (nobody reads
 * them), plus the delegates now deciding a pending step for an approver.
 */
export function approvalAudience(detail: RequestDetail, facts: PeopleFacts): Set<string> {
  const audience = new Set<string>();
  for (const approval of detail.approvals) {
    if (approval.fallbackToIt) continue;
    for (const approver of approval.approvers) {
      const bar = refusalFor(detail, approval, approver, facts)?.reason;
      if (bar !== 'own_request' && bar !== 'own_access' && !facts.isDeactivated?.(approver)) audience.add(approver);
    }
  }
  for (const approval of detail.approvals) {
    if (approval.state !== 'pending' || approval.fallbackToIt) continue;
    for (const [decider, forWhom] of decidersOf(detail, approval, facts)) if (forWhom) audience.add(decider);
  }
  return audience;
}

/**
 * What one person's approval card offers: the pending listed steps they may decide now, whom they decide them for
 * (a delegate: the approver who delegated), and to whom they handed their own share of a step still waiting.
 */
export function approvalSeat(detail: RequestDetail, person: string, facts: PeopleFacts): { decides: Approval[]; forWhom: string | null; delegatedTo: string | undefined } {
  const decides = pendingDecidableBy(detail, person, facts).filter((approval) => !approval.fallbackToIt);
  const forWhom = decides.map((approval) => decidingFor(detail, approval, person, facts)).find((id) => id !== null) ?? null;
  // Said only where a step still waiting lists them; a card from a step they decided before stays as it was.
  const listedOnPending = detail.approvals.some((approval) => approval.state === 'pending' && !approval.fallbackToIt && approval.approvers.includes(person));
  return { decides, forWhom, delegatedTo: listedOnPending ? facts.delegateOf?.(person) : undefined };
}

/** The refusal that explains most to the clicker when several steps refuse them: who they are before what is listed. */
const REFUSAL_ORDER: Refusal['reason'][] = ['own_request', 'own_access', 'decided_earlier_step', 'it_admins_only', 'delegated', 'not_an_approver'];

/**
 * What a click decides: of the approvals the button was rendered for (`approvalIds`; every pending one when
 * absent, for callers that are not a card), those still pending that this person may decide; or why none.
 */
export function decidableBy(detail: RequestDetail, actor: string, facts: PeopleFacts, approvalIds?: readonly number[]): { approvals: Approval[] } | DecisionRefusal {
  const shownFor = approvalIds ? detail.approvals.filter((approval) => approvalIds.includes(approval.id)) : detail.approvals;
  const pending = shownFor.filter((approval) => approval.state === 'pending');
  if (pending.length === 0) {
    const last = [...shownFor].filter((a) => a.decidedAt !== null).sort((a, b) => (b.decidedAt ?? 0) - (a.decidedAt ?? 0))[0];
    return { reason: 'already_decided', decidedBy: last?.decidedBy ?? null, state: last?.state ?? 'approved', decidedAt: last?.decidedAt ?? null };
  }
  const refusals: Refusal[] = [];
  const allowed: Approval[] = [];
  for (const approval of pending) {
    const refusal = refusalFor(detail, approval, actor, facts);
    if (refusal) refusals.push(refusal);
    else allowed.push(approval);
  }
  if (allowed.length > 0) return { approvals: allowed };
  const first = [...refusals].sort((a, b) => REFUSAL_ORDER.indexOf(a.reason) - REFUSAL_ORDER.indexOf(b.reason))[0]!;
  if (first.reason === 'not_an_approver') {
    return { reason: 'not_an_approver', approvers: [...new Set(refusals.flatMap((refusal) => (refusal.reason === 'not_an_approver' ? refusal.approvers : [])))] };
  }
  return first;
}

/** How many items are in each state, in the order the states first occur. */
export function countStates(items: readonly Pick<Item, 'state'>[]): [ItemState, number][] {
  const counts = new Map<ItemState, number>();
  for (const item of items) counts.set(item.state, (counts.get(item.state) ?? 0) + 1);
  return [...counts];
}

/** One line a person reads to know where a request stands, e.g. "2 completed, 1 awaiting approval". */
export function summarizeStates(items: readonly Pick<Item, 'state'>[]): string {
  return countStates(items).map(([state, n]) => `${n} ${STATE_LABEL[state]}`).join(', ');
}

export const STATE_LABEL: Record<ItemState, string> = {
  awaiting_approval: 'awaiting approval',
  denied: 'denied',
  approved: 'approved',
  in_progress: 'in progress',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};
