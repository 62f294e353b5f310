/**
 * The request lifecycle as data and pure functions. A request has one item per (subject, app); each item walks
 * its app's approval steps, then is fulfilled by the app's connector.
 */
import { escapeMrkdwn, isSlackId, mention, mrkdwn, type Mrkdwn } from '../util/mrkdwn.js';

export type RequestKind = 'onboard' | 'offboard';

export type ItemState =
  | 'awaiting_approval'
  | 'denied'
  /** Every step approved; waiting for the effective date, or for a connector to exist for the app. */
  | 'approved'
  /** The connector is working on it (the detail says what it waits for: an invitation, an IT admin). */
  | 'in_progress'
  | 'completed'
  | 'failed';

export const TERMINAL_STATES: readonly ItemState[] = ['denied', 'completed', 'failed'];

/** A request is open while any of its items is not yet completed, failed or denied. */
export function isOpenRequest(detail: { items: readonly { state: string }[] }): boolean {
  return detail.items.some((item) => !(TERMINAL_STATES as readonly string[]).includes(item.state));
}

const TRANSITIONS: Record<ItemState, readonly ItemState[]> = {
  awaiting_approval: ['awaiting_approval', 'approved', 'denied'],
  approved: ['in_progress', 'completed', 'failed'],
  in_progress: ['in_progress', 'completed', 'failed'],
  failed: ['approved'],
  denied: [],
  completed: [],
};

export function canTransition(from: ItemState, to: ItemState): boolean {
  return TRANSITIONS[from].includes(to);
}

export interface Subject {
  slackId: string | null;
  email: string;
  firstName: string | null;
  lastName: string | null;
}

export interface RequestOptions {
  autodeskRole?: string;
  autodeskTeams?: string[];
}

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
  detail: string | null;
  externalId: string | null;
  updatedAt: number;
}

export type ApprovalState = 'pending' | 'approved' | 'denied';

/** One approval step of one app within one request: decided once, by one person, for all its items. */
export interface Approval {
  id: number;
  requestId: string;
  appId: string;
  stepIndex: number;
  approvers: string[];
  /** Nobody listed may decide (all are requester or subjects): anyone in the IT channel but them decides. */
  fallbackToIt: boolean;
  state: ApprovalState;
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
}

export interface RequestDetail {
  request: AccessRequest;
  items: Item[];
  approvals: Approval[];
}

/** How a subject is shown in mrkdwn: a mention, or the name and e-mail someone typed for a new hire, escaped. */
export function subjectLabel(subject: Subject): Mrkdwn {
  if (subject.slackId && isSlackId(subject.slackId)) return mention(subject.slackId);
  const name = [subject.firstName, subject.lastName].filter(Boolean).join(' ');
  return name ? mrkdwn`${escapeMrkdwn(name)} (${escapeMrkdwn(subject.email)})` : escapeMrkdwn(subject.email);
}

/** People who may not decide an approval: the requester, and the subjects whose access it grants. */
export function excludedDeciders(request: AccessRequest, items: Item[], appId: string): Set<string> {
  const excluded = new Set([request.requesterId]);
  for (const item of items) if (item.appId === appId && item.subject.slackId) excluded.add(item.subject.slackId);
  return excluded;
}

/** The approvers of a step who may decide it; empty means the step falls back to the IT channel. */
export function eligibleApprovers(approvers: readonly string[], excluded: ReadonlySet<string>): string[] {
  return approvers.filter((approver) => !excluded.has(approver));
}

export type DecisionRefusal =
  | { reason: 'not_found' }
  | { reason: 'already_decided'; decidedBy: string | null; state: ApprovalState; decidedAt: number | null }
  | { reason: 'own_request' }
  | { reason: 'own_access' }
  | { reason: 'not_an_approver'; approvers: string[] };

/** The pending approvals this person may decide, or why they may decide none. */
export function decidableBy(detail: RequestDetail, actor: string): { approvals: Approval[] } | DecisionRefusal {
  const pending = detail.approvals.filter((approval) => approval.state === 'pending');
  const allowed = pending.filter((approval) => {
    const excluded = excludedDeciders(detail.request, detail.items, approval.appId);
    if (excluded.has(actor)) return false;
    return approval.fallbackToIt || approval.approvers.includes(actor);
  });
  if (allowed.length > 0) return { approvals: allowed };
  if (pending.length === 0) {
    const last = [...detail.approvals].filter((a) => a.decidedAt !== null).sort((a, b) => (b.decidedAt ?? 0) - (a.decidedAt ?? 0))[0];
    return { reason: 'already_decided', decidedBy: last?.decidedBy ?? null, state: last?.state ?? 'approved', decidedAt: last?.decidedAt ?? null };
  }
  if (actor === detail.request.requesterId) return { reason: 'own_request' };
  const isSubject = detail.items.some((item) => item.subject.slackId === actor);
  const listed = pending.some((approval) => approval.approvers.includes(actor));
  if (isSubject && listed) return { reason: 'own_access' };
  return { reason: 'not_an_approver', approvers: [...new Set(pending.flatMap((approval) => approval.approvers))] };
}

/** One line a person reads to know where a request stands, e.g. "2 completed, 1 awaiting approval". */
export function summarizeStates(items: readonly Item[]): string {
  const counts = new Map<ItemState, number>();
  for (const item of items) counts.set(item.state, (counts.get(item.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${n} ${STATE_LABEL[state]}`).join(', ');
}

export const STATE_LABEL: Record<ItemState, string> = {
  awaiting_approval: 'awaiting approval',
  denied: 'denied',
  approved: 'approved',
  in_progress: 'in progress',
  completed: 'completed',
  failed: 'failed',
};
