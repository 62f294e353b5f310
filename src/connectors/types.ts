/**
 * The one small interface every app sits behind. A connector is told to grant or revoke one item and
 * answers with where that item now stands; work that must wait (an invitation, a person doing a task) is
 * finished later through `ItemProgress`, from the connector's own durable jobs.
 *
 * Connectors must be idempotent: the fulfillment job may run again after a crash, so "already there"
 * (an active user, an existing task) is success, never a second action.
 *
 * A connector comes from a `ConnectorPlugin` (src/connectors/plugins.ts lists them): the plugin says what its
 * apps look like in access.config.json and builds the connector from narrow dependencies, never the Slack
 * client, the job runner or the request service's internals.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { AuditEntry } from '../db/audit.js';
import type { Db } from '../db/connection.js';
import type { Pruner } from '../db/housekeeping.js';
import type { JobKind, JobPayloads, JobType } from '../jobs/kinds.js';
import type { EnqueueOptions } from '../jobs/queue.js';
import type { JobContext, JobHandler } from '../jobs/runner.js';
import type { Item, RequestKind, Subject } from '../requests/model.js';
import type { Words } from '../requests/words.js';
import type { TaskPort } from '../tasks/service.js';
import type { Logger } from '../util/log.js';
import type { ItemPreview } from './preview.js';
import type { Clock } from '../util/time.js';

export interface FulfillmentItem {
  itemId: number;
  requestId: string;
  appId: string;
  kind: RequestKind;
  subject: Subject;
  /** The connector's own reference from an earlier run (e.g. an app's user id), if any. */
  externalId: string | null;
  effectiveDate: string;
  requesterId: string;
  /** Who approved each step, in order. */
  approvedBy: string[];
  /** When the last step was approved: anything the connector knew from before may be out of date. */
  approvedAt: number;
  justification: string;
  /**
   * What the request form asked (a role, teams), as stored; a plugin checks it with its own schema before use.
   * The role is typed because manual tasks print it; anything else a plugin's form adds stays unknown to the core.
   */
  options: Readonly<{ role?: string; teams?: string[] } & Record<string, unknown>>;
}

/**
 * Where an item stands, in words people read on cards (src/requests/words.ts): text (an API's error message, an
 * e-mail) is shown as text, never as markup; a person (`{ person: id }`) is mentioned.
 */
export type ItemDetail = Words;

export type Outcome =
  | { state: 'completed'; detail: ItemDetail; externalId?: string }
  /** Still going: the connector will call ItemProgress.complete/fail later. */
  | { state: 'in_progress'; detail: ItemDetail; externalId?: string };

export interface Connector {
  /** The plugin kind it came from (`connector` in access.config.json), for logs. */
  readonly type: string;
  grant(item: FulfillmentItem, job: JobContext): Promise<Outcome>;
  revoke(item: FulfillmentItem, job: JobContext): Promise<Outcome>;
  /** Checks credentials and reachability; called by operators (health, start-up), never on the Slack path. */
  verify?(): Promise<void>;
  /** Granting starts at approval instead of on the effective date (a person needs lead time). */
  readonly onboardsBeforeEffectiveDate?: boolean;
  /**
   * Withdraws the work of an item in progress because its request was cancelled (a task nobody has done yet).
   * Runs inside the cancel's transaction, so it must only write to the database; false when it is too late.
   * Having it is what makes the app's items in progress cancellable at all (the requester's Cancel button).
   */
  withdraw?(itemId: number, actor: string): boolean;
  /**
   * What approving these items will do, read from the app after `notBefore` (the request was filed), in one read
   * for the whole batch. Runs in a durable job after the cards are posted, never on the Slack path. Items the
   * connector says nothing about are left out. See src/connectors/preview.ts.
   */
  preview?: (items: FulfillmentItem[], notBefore: number, job: JobContext) => Promise<ItemPreview[]>;
  /** HTTP routes the bot serves for this connector (a webhook), on `PORT` beside /healthz. */
  readonly routes?: readonly HttpRoute[];
  /** Called after the job runner stopped: lets calls in flight finish, closes pools. */
  close?(): Promise<void>;
}

/** How connectors report on items after the fulfillment job returned. All writes are transactional and audited. */
export interface ItemProgress {
  /** A new progress line for an item still in progress ("invited, waiting for the user to accept"). */
  update(itemId: number, detail: ItemDetail, actor?: string, externalId?: string): void;
  complete(itemId: number, detail: ItemDetail, actor?: string, externalId?: string): void;
  fail(itemId: number, reason: ItemDetail, actor?: string): void;
}

/** What a connector may read of the items it works on, beside reporting on them. Implemented by the core. */
export interface ItemPort extends ItemProgress {
  /** The item as stored now (its state and detail), or undefined; safe inside a transaction. */
  get(itemId: number): Item | undefined;
  /** The item as the fulfillment job hands it over, read afresh. */
  fulfillmentItem(itemId: number): FulfillmentItem | undefined;
  /** What the approvers were shown for this item (`preview`), to compare with the account found at execution. */
  storedPreview(itemId: number): (ItemPreview & { state: 'ok' | 'unavailable' }) | undefined;
}

export interface HttpRoute {
  path: string;
  method: string[];
  handler(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

/** The narrow room a connector is built in. */
export interface ConnectorDeps<App, Settings = undefined> {
  db: Db;
  clock: Clock;
  log: Logger;
  /** This plugin's apps from access.config.json, parsed by its own schema. */
  apps: readonly App[];
  /** The config's `timezone`: effective dates are read in it. */
  timezone: string;
  items: ItemPort;
  /** Puts a durable job in the queue (inside the caller's transaction when there is one); wake the runner after. */
  enqueue<K extends JobKind>(job: JobType<K>, payload: JobPayloads[K], options?: EnqueueOptions): number | undefined;
  /** Registers a handler for one of the connector's own job kinds. */
  registerJob<K extends JobKind>(job: JobType<K>, handler: JobHandler<JobPayloads[K]>): void;
  /** Tells the job runner new work is due now. */
  wake: () => void;
  /** Writes one audit line (inside the caller's transaction when there is one). */
  audit(entry: AuditEntry): void;
  /** Remembers a delivery id; false when it was seen before (a webhook's replay). */
  markSeen: (eventId: string) => boolean;
  /** `protectedEmails`: accounts no connector may ever change. */
  isProtectedEmail: (email: string) => boolean;
  /** Its plugin's own settings, made from its environment variables (`env`): credentials, base URLs. */
  settings: Settings;
  /** Manual tasks (src/tasks): work handed to a person, reminded until done. */
  tasks: TaskPort;
  /**
   * The active Slack user with this e-mail, from the bot's copy of the workspace (asked of Slack when missing or
   * stale); undefined when nobody active has it. Throws when Slack could not say: the caller's job retries.
   */
  slackUserIdOfEmail(email: string): Promise<string | undefined>;
}

/** What a plugin's `metrics` is given: the bot's own registry and what the core's metrics read with. */
export interface PluginMetrics<Settings = unknown> {
  registry: Registry;
  db: Db;
  clock: Clock;
  /** The plugin's own settings (`env`). */
  settings: Settings;
  /** Subscribes to a process-wide diagnostics channel until the metrics are closed. */
  listen: <T>(channel: string, listener: (message: T) => void) => void;
  /** A bounded label for a call that got no answer: `timeout` or `network`. */
  networkReason: (error: Error) => string;
  /** Called before each scrape, to drop what was read for the last one. */
  beforeScrape: (reset: () => void) => void;
}

/** The request's options as stored: each plugin field's value under its `optionKey`. */
export type StoredOptions = Readonly<Record<string, string | string[] | undefined>>;

export interface FormChoice {
  label: string;
  value: string;
}

/** One input of the request form a plugin adds. */
export interface FormField<App> {
  /** Its block_id and action_id (SPEC "The request modal"), and the key of its error on the form. */
  readonly id: string;
  /** Where its value is stored in the request's options. */
  readonly optionKey: string;
  readonly type: 'static_select' | 'multi_static_select' | 'plain_text_input';
  label(app: App): string;
  hint?(app: App): string | undefined;
  /** A select's choices; a select with none is left out of the form. */
  choices?(app: App): FormChoice[];
  /** What a single select starts with, and what a submission without a value stores. */
  initial?(app: App): string | undefined;
  /** What the choices are called in an error ("Unknown teams: x"); default "choices". */
  readonly choicesName?: string;
  /** Read and stored only for onboarding requests. */
  readonly onboardOnly?: boolean;
  /** A text field's longest value. */
  readonly maxLength?: number;
}

/**
 * The environment variables a plugin reads, and the settings it makes of them. The core composes every plugin's
 * variables into one environment schema, so a bad or missing one stops start-up in the same one line as the core's.
 */
export interface PluginEnv<Settings> {
  /** Its variables: names, checks, defaults and `.describe()` texts (the README's reference table lists them). */
  readonly schema: z.ZodObject;
  /** Its settings, from the process environment (empty values already removed) once `schema` accepted it. */
  settings(env: Readonly<Record<string, string>>): Settings;
}

/** A plugin's `env`, its settings typed from its own schema's output. */
export function pluginEnv<Schema extends z.ZodObject, Settings>(schema: Schema, settings: (env: z.output<Schema>) => Settings): PluginEnv<Settings> {
  return { schema, settings: (env) => settings(schema.parse(env)) };
}

/** A kind of connector: one folder under src/connectors/ and one line in src/connectors/plugins.ts. */
export interface ConnectorPlugin<Schema extends z.ZodObject = z.ZodObject, Options = never, Settings = undefined> {
  /** The `connector` value of its apps in access.config.json. */
  readonly kind: string;
  /**
   * Its apps' config: a strict object with `connector: z.literal(kind)` and the common app keys
   * (`appCommon` of src/connectors/app-config.ts); the config's app union is built from these.
   */
  readonly appSchema: Schema;
  /**
   * Fields it adds to the request form, as data: the core builds the modal, reads and checks the submission and
   * stores each value in the request's options under `optionKey`, from where it reaches `FulfillmentItem.options`.
   * Shown once, worded from the first of its apps in the config (the first the request names, when checked).
   */
  readonly fields?: readonly FormField<z.output<Schema>>[];
  /**
   * What an approver must read on the card before deciding a request that names one of its apps (the role asked,
   * what cannot be undone): one section each, in words (src/requests/words.ts) that src/slack/ renders and escapes.
   */
  cardLines?(app: z.output<Schema>, request: { kind: RequestKind; options: StoredOptions }): Words[];
  /** How its progress lines say an offboarded item ("120/300 deactivated"); "offboarded" when it does not say. */
  offboardedWord?(app: z.output<Schema>): string;
  /**
   * Who "accessbot" was when its connector acted, as the per-person report says it ("offboarded by the Autodesk
   * connector"); default "the <kind> connector".
   */
  readonly actorName?: string;
  /**
   * Its connector reads what approving will do (`Connector.preview`): until it has, the card says it is reading
   * the accounts from the app.
   */
  readonly previews?: boolean;
  /** Its environment variables and the settings made of them, handed to `create` and the hooks below. */
  readonly env?: PluginEnv<Settings>;
  /** What its apps lack to work (credentials), one line each: start-up stops, naming them. Asked only when one is configured. */
  startupProblems?(settings: Settings): string[];
  /** Values from its settings that logs must never show (a client secret). */
  secrets?(settings: Settings): (string | undefined)[];
  /** What the start-up line says about it ({ autodeskWebhooks: 'webhooks off: polling' }). */
  startupNote?(settings: Settings): Record<string, string>;
  /** Adds its own series to /metrics (its API calls, its budget). Called only when one of its apps is configured. */
  metrics?(hooks: PluginMetrics<Settings>): void;
  /** Deletes its own settled rows with the core's (hourly, after `jobs.retention`), whether or not an app uses it. */
  readonly housekeeping?: Pruner;
  /** One instance serves every app of this kind (they share a token, a rate limit, a directory). */
  create(deps: ConnectorDeps<z.output<Schema>, Settings>, options?: Options): Connector;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the list holds plugins of every app type; each checks its own.
export type AnyConnectorPlugin = ConnectorPlugin<z.ZodObject, any, any>;

// Core code looks connectors up by app id.
export type ConnectorRegistry = ReadonlyMap<string, Connector>;
