/**
 * The one small interface every app sits behind. A connector is told to onboard or offboard one item and
 * answers with where that item now stands; work that must wait (an invitation, a person doing a task) is
 * finished later through `ItemProgress`, from the connector's own durable jobs.
 *
 * Connectors must be idempotent: the fulfillment job may run again after a crash, so "already there"
 * (an active user, an existing task) is success, never a second action.
 */
import type { JobContext, JobRunner } from '../jobs/runner.js';
import type { RequestKind, Subject } from '../requests/model.js';
import type { Mrkdwn } from '../util/mrkdwn.js';
import type { ItemPreview } from './preview.js';

export interface FulfillmentItem {
  itemId: number;
  requestId: string;
  appId: string;
  kind: RequestKind;
  subject: Subject;
  /** The connector's own reference from an earlier run (e.g. the Autodesk user id), if any. */
  externalId: string | null;
  effectiveDate: string;
  requesterId: string;
  /** Who approved each step, in order. */
  approvedBy: string[];
  /** When the last step was approved: anything the connector knew from before may be out of date. */
  approvedAt: number;
  justification: string;
  options: { role?: string; teams?: string[] };
}

/**
 * Where an item stands, in words people read on cards. A string is text (an API's error message, an e-mail): it is
 * shown escaped, never as markup. Markup of our own (a mention of the assignee) comes as `{ mrkdwn }`, built with
 * the helpers of src/util/mrkdwn.ts, which escape what they are given.
 */
export type ItemDetail = string | { mrkdwn: Mrkdwn };

export type Outcome =
  | { state: 'completed'; detail: ItemDetail; externalId?: string }
  /** Still going: the connector will call ItemProgress.complete/fail later. */
  | { state: 'in_progress'; detail: ItemDetail; externalId?: string };

export interface Connector {
  readonly type: 'autodesk' | 'manual';
  onboard(item: FulfillmentItem, job: JobContext): Promise<Outcome>;
  offboard(item: FulfillmentItem, job: JobContext): Promise<Outcome>;
  /** Checks credentials and reachability; called by operators (health, start-up), never on the Slack path. */
  verify?(): Promise<void>;
  /** Onboarding starts at approval instead of on the effective date (a person needs lead time). */
  readonly onboardsBeforeEffectiveDate?: boolean;
  /** Registers the connector's own follow-up jobs (polls, reminders). */
  registerJobs?(runner: JobRunner): void;
  /**
   * Withdraws the work of an item in progress because its request was cancelled (a task nobody has done yet).
   * Runs inside the cancel's transaction, so it must only write to the database; false when it is too late.
   */
  withdraw?(itemId: number, actor: string): boolean;
  /**
   * What approving these items will do, read from the app after `notBefore` (the request was filed), in one read
   * for the whole batch. Runs in a durable job after the cards are posted, never on the Slack path. Items the
   * connector says nothing about are left out. See src/connectors/preview.ts.
   */
  preview?(items: FulfillmentItem[], notBefore: number, job: JobContext): Promise<ItemPreview[]>;
}

/** How connectors report on items after the fulfillment job returned. All writes are transactional and audited. */
export interface ItemProgress {
  /** A new progress line for an item still in progress ("invited, waiting for the user to accept"). */
  update(itemId: number, detail: ItemDetail, actor?: string, externalId?: string): void;
  complete(itemId: number, detail: ItemDetail, actor?: string, externalId?: string): void;
  fail(itemId: number, reason: ItemDetail, actor?: string): void;
}

export type ConnectorRegistry = ReadonlyMap<string, Connector>;
