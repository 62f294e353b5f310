/**
 * The Autodesk connector: onboarding (invite, wait for acceptance, join teams) and offboarding (deactivate or
 * delete), idempotent across crashes and within the API's limits. One instance serves every app whose
 * connector is `autodesk`; its settings come from each item's app.
 */
import { z } from 'zod';
import { inTransaction } from '../../db/connection.js';
import { writeAudit } from '../../db/audit.js';
import type { AutodeskAppConfig, AutodeskSettings } from './config.js';
import { autodeskItemOptions } from './config.js';
import { PermanentError, RetryAt } from '../../jobs/errors.js';
import { defineJob } from '../../jobs/kinds.js';
import { enqueue } from '../../jobs/queue.js';
import type { JobContext } from '../../jobs/runner.js';
import { formatDuration } from '../../util/duration.js';
import { startOfDateInZone } from '../../util/time.js';
import type { Connector, ConnectorDeps, FulfillmentItem, Outcome } from '../types.js';
import { createRestApi, type AutodeskApi, type AutodeskUser, type UserStatus } from './api.js';
import { AutodeskClient, neverSent, withPriority, type AutodeskClientOptions } from './client.js';
import { PRIORITY } from './limiter.js';
import { AutodeskDirectory, normalizeEmail, type DirectoryEntry, type DirectoryOptions } from './directory.js';
import { AutodeskApiError, type Headers, type HttpTimeouts } from './http.js';
import {
  confirmIntent, forgetPending, intentOf, pendingItemsOfUser, pendingOf, recordIntent, rememberPending, type Intent, type OffboardAction,
} from './store.js';
import { handleAutodeskWebhook, type WebhookAnswer } from './webhook.js';
import { checkPreview, previewItems, ROLE_RANK } from './preview.js';

const awaitActivation = z.object({ itemId: z.number().int() });
declare module '../../jobs/kinds.js' {
  interface JobPayloads { 'autodesk.await_activation': z.infer<typeof awaitActivation> }
}
export const AWAIT_ACTIVATION_JOB = defineJob('autodesk.await_activation', awaitActivation);
export const awaitActivationKey = (itemId: number) => `autodesk.await:${itemId}`;

export const DEACTIVATED_ON_ONBOARD = 'deactivated Autodesk users cannot be reactivated through the API; open an Autodesk support case';
export const INVITED_DETAIL = 'invited, waiting for the user to accept';
export const ACTIVE_DETAIL = 'active, assigning teams';

export interface AutodeskConnectorOptions {
  directory?: DirectoryOptions;
  /** Rate-limit waits longer than this reschedule the job. @default 30_000 */
  longWaitMs?: number;
  timeouts?: HttpTimeouts;
  /** Client tuning for tests and the bench (a short budget window, the in-client retries). */
  client?: Pick<AutodeskClientOptions, 'budgetWindowMs' | 'retry'>;
}

export interface AutodeskConnector extends Connector {
  /** Mount at `POST /webhooks/autodesk` with the raw body and the request headers. */
  handleWebhook(rawBody: Buffer | string, headers: Headers): Promise<WebhookAnswer>;
  /** Call after the job runner stopped: lets calls in flight finish and closes the connection pool. */
  close(): Promise<void>;
  readonly client: AutodeskClient;
  readonly api: AutodeskApi;
  readonly directory: AutodeskDirectory;
}

interface Team {
  id: string;
  name: string;
  role: string;
}

interface OnboardPlan {
  /** Only an explicitly requested role is applied to an existing account, and only to raise it. */
  requestedRole: string | undefined;
  createRole: string;
  teams: Team[];
}

/** 4xx answers other than the ones handled become PermanentError, so the runner stops retrying them. */
async function classified<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AutodeskApiError && !error.retryable) throw new PermanentError(error.message, error.code ?? `http_${error.status ?? 'error'}`);
    throw error;
  }
}

const entryOf = (user: AutodeskUser, seenAt: number): DirectoryEntry => ({ id: user.id, email: user.email, status: user.status, role: user.role, seenAt });


export function createAutodeskConnector(deps: ConnectorDeps<AutodeskAppConfig, AutodeskSettings>, options: AutodeskConnectorOptions = {}): AutodeskConnector {
  const { db, clock, items } = deps;
  const log = deps.log.child({ connector: 'autodesk' });
  const { settings } = deps;
  const client = new AutodeskClient({
    baseUrl: settings.baseUrl, tokenUrl: settings.tokenUrl, clientId: settings.clientId, clientSecret: settings.clientSecret,
    perHour: settings.perHour, maxConcurrent: settings.maxConcurrent, db, clock, log, longWaitMs: options.longWaitMs, timeouts: options.timeouts, ...options.client,
  });
  const api = createRestApi(client);
  const directory = new AutodeskDirectory(db, api, clock, log, options.directory);

  function appOf(appId: string): AutodeskAppConfig {
    const app = deps.apps.find((candidate) => candidate.id === appId);
    if (!app) throw new PermanentError(`autodesk: app "${appId}" is not configured for the autodesk connector`, 'not_configured');
    return app;
  }

  function planOf(app: AutodeskAppConfig, item: FulfillmentItem): OnboardPlan {
    const asked = autodeskItemOptions.parse(item.options);
    const requestedRole = asked.role;
    if (requestedRole !== undefined && !(app.roles as string[]).includes(requestedRole)) {
      throw new PermanentError(`autodesk: role "${requestedRole}" is not one of ${app.name}'s roles (${app.roles.join(', ')})`, 'bad_role');
    }
    const teams = (asked.teams ?? []).map((teamId) => {
      const team = app.teams.find((candidate) => candidate.id === teamId);
      if (!team) throw new PermanentError(`autodesk: team "${teamId}" is not configured for ${app.name}`, 'bad_team');
      return team;
    });
    return { requestedRole, createRole: requestedRole ?? app.defaultRole, teams };
  }

  /** Joins every team (409 = already a member), then checks with the API that all of them are there. */
  async function assignTeams(userId: string, teams: Team[], signal: AbortSignal): Promise<void> {
    if (teams.length === 0) return;
    for (const team of teams) {
      const outcome = await api.assignTeam(userId, team.id, team.role, signal);
      if (outcome === 'not_active') throw new AutodeskApiError('autodesk: assign team: the user has not accepted the invitation yet', 'assign team', 409, true, 'invitation_pending');
    }
    const memberships = new Set((await api.listUserTeams(userId, signal)).map((team) => team.id));
    const missing = teams.filter((team) => !memberships.has(team.id));
    if (missing.length > 0) {
      throw new AutodeskApiError(`autodesk: verify teams: still not a member of ${missing.map((team) => team.name).join(', ')} after assignment`, 'verify teams', null, true);
    }
  }

  /**
   * The role an onboarding leaves the account with, as a detail for the requester. It is raised when the request
   * asks for more than the account has, and never lowered: an admin added to a team stays an admin. A role
   * accessbot does not rank is left alone, since it cannot tell whether the request asks for more.
   */
  async function ensureRole(item: FulfillmentItem, entry: DirectoryEntry, plan: OnboardPlan, signal: AbortSignal): Promise<string> {
    const wanted = plan.requestedRole;
    if (!wanted || entry.role === wanted) return '';
    const current = entry.role === null ? undefined : ROLE_RANK[entry.role];
    const asked = ROLE_RANK[wanted];
    if (current === undefined || asked === undefined || asked < current) return `, kept role ${entry.role ?? 'unknown'} (asked: ${wanted})`;
    await api.updateRole(entry.id, wanted, signal);
    const now = clock.now();
    inTransaction(db, () => {
      directory.record({ ...entry, role: wanted }, now);
      writeAudit(db, now, {
        actor: 'accessbot', action: 'autodesk.role_changed', requestId: item.requestId, itemId: item.itemId, appId: item.appId,
        detail: { userId: entry.id, email: entry.email, from: entry.role, to: wanted, approvedBy: item.approvedBy },
      });
    });
    return `, role raised from ${entry.role} to ${wanted}`;
  }

  /** Role and teams for a user who is active; answers the item's final detail. */
  async function finishActive(item: FulfillmentItem, entry: DirectoryEntry, plan: OnboardPlan, alreadyActive: boolean, signal: AbortSignal): Promise<string> {
    const role = await ensureRole(item, entry, plan, signal);
    await assignTeams(entry.id, plan.teams, signal);
    const teams = plan.teams.length ? `, teams assigned: ${plan.teams.map((team) => team.name).join(', ')}` : '';
    return `${alreadyActive ? 'already active' : 'active'}${role}${teams}`;
  }

  /**
   * The subject's account as Autodesk showed it after the approval (a complete listing started since, or a
   * write's answer), or a new invitation when that listing has no such e-mail.
   */
  async function findOrInvite(item: FulfillmentItem, plan: OnboardPlan, signal: AbortSignal): Promise<{ entry: DirectoryEntry; invited: boolean }> {
    const known = await directory.find(item.subject.email, signal, item.approvedAt);
    if (known) return { entry: known, invited: false };
    const created = await api.createUser(
      { email: item.subject.email, firstName: item.subject.firstName, lastName: item.subject.lastName, role: plan.createRole },
      signal,
    );
    if (created.outcome === 'created') {
      directory.record(created.user);
      return { entry: entryOf(created.user, clock.now()), invited: true };
    }
    // 409: the account exists but our copy missed it (created meanwhile, or another casing): list again.
    await directory.refresh(signal, clock.now());
    const existing = directory.lookup(item.subject.email);
    if (!existing) throw new AutodeskApiError('autodesk: create user: the API says the user exists but does not list it yet', 'create user', 409, true, 'conflict');
    return { entry: existing, invited: false };
  }

  /**
   * Without webhooks an acceptance is only ever seen by a poll, so polls come twice as often, but never more
   * often than once a minute unless the app itself asks for that.
   */
  function pollEveryOf(app: AutodeskAppConfig): number {
    if (settings.webhookSecret) return app.pendingPollEvery;
    return Math.min(app.pendingPollEvery, Math.max(app.pendingPollEvery / 2, 60_000));
  }

  /**
   * Polls run on a grid shared by every invitation of the app, so one round's checks fall together and can share
   * one listing; the round a check belongs to is the grid tick at or before it.
   */
  const roundStartOf = (now: number, every: number) => Math.floor(now / every) * every;
  const nextRoundAfter = (now: number, every: number) => roundStartOf(now, every) + every;

  /** Users named by a webhook since their last check: those are read with a GET now, not from a round's listing. */
  const hintedUsers = new Set<string>();
  /** When the answer each invitation's last check used was read: a check never reuses what an earlier one saw. */
  const lastCheckedAt = new Map<number, number>();

  function awaitActivation(item: FulfillmentItem, app: AutodeskAppConfig, userId: string): void {
    const now = clock.now();
    inTransaction(db, () => {
      rememberPending(db, item.itemId, userId, now);
      enqueue(db, now, AWAIT_ACTIVATION_JOB, { itemId: item.itemId }, { key: awaitActivationKey(item.itemId), mode: 'replace', runAt: nextRoundAfter(now, pollEveryOf(app)) });
    });
  }

  /** A listing costs a page per 100 users (at least one); one GET per invitation is cheaper below that. */
  function listingIsCheaper(): boolean {
    const pendingCount = (db.prepare('SELECT COUNT(*) AS n FROM autodesk_pending').get() as { n: number }).n;
    const state = db.prepare('SELECT size FROM autodesk_directory_state WHERE id = 1').get() as { size: number } | undefined;
    const directorySize = state?.size ?? directory.size();
    return pendingCount > Math.max(1, Math.ceil(directorySize / 100));
  }

  /**
   * The invited user as Autodesk showed it during this round: a row read since the round began (another check's
   * listing or GET), else one complete listing shared by the round when many invitations wait, else a GET.
   * Only answers read at or after `notBefore` count. `null`: Autodesk no longer has the user.
   */
  async function observeInvited(userId: string, notBefore: number, signal: AbortSignal): Promise<DirectoryEntry | null> {
    const hinted = hintedUsers.delete(userId);
    if (!hinted) {
      const seen = directory.byId(userId);
      if (seen && seen.seenAt >= notBefore) return seen;
      if (listingIsCheaper()) {
        await withPriority(PRIORITY.background, () => directory.refresh(signal, notBefore));
        return directory.byId(userId) ?? null;
      }
    }
    const user = await api.getUser(userId, signal);
    if (!user) return null;
    directory.record(user);
    return entryOf(user, clock.now());
  }

  /** A webhook named this user: the invitations waiting on them are checked now, against the API. */
  function wakeActivations(userId: string): void {
    const now = clock.now();
    const itemIds = pendingItemsOfUser(db, userId);
    if (itemIds.length === 0) return;
    hintedUsers.add(userId);
    inTransaction(db, () => {
      for (const itemId of itemIds) enqueue(db, now, AWAIT_ACTIVATION_JOB, { itemId }, { key: awaitActivationKey(itemId), mode: 'coalesce', runAt: now });
    });
    deps.wake();
  }

  function failPending(itemId: number, reason: string): void {
    forgetPending(db, itemId);
    items.fail(itemId, reason);
  }

  /** One poll of an invitation: done when active (teams joined), again later while pending, failed after the give-up window. */
  async function checkActivation(itemId: number, job: JobContext): Promise<void> {
    const item = items.get(itemId);
    const pending = pendingOf(db, itemId);
    if (!item || item.state !== 'in_progress' || !pending) {
      forgetPending(db, itemId);
      lastCheckedAt.delete(itemId);
      return;
    }
    const app = appOf(item.appId);
    const every = pollEveryOf(app);
    const startedAt = clock.now();
    // This round's answers, but nothing the invitation itself or an earlier check of it already saw.
    const notBefore = Math.max(roundStartOf(startedAt, every), pending.invitedAt + 1, (lastCheckedAt.get(itemId) ?? Number.NEGATIVE_INFINITY) + 1);
    const user = await observeInvited(pending.userId, notBefore, job.signal);
    const now = clock.now();
    if (user?.status === 'pending') lastCheckedAt.set(itemId, user.seenAt);
    else lastCheckedAt.delete(itemId);
    if (!user) {
      directory.remove(pending.userId);
      failPending(itemId, 'the Autodesk invitation was withdrawn: the user no longer exists in Autodesk');
      return;
    }
    if (user.status === 'pending') {
      const giveUpAt = pending.invitedAt + app.pendingGiveUpAfter;
      if (now >= giveUpAt) {
        failPending(itemId, `the Autodesk invitation was not accepted within ${formatDuration(app.pendingGiveUpAfter)}; ask the person to accept it, then retry`);
        return;
      }
      throw new RetryAt(Math.min(nextRoundAfter(now, every), giveUpAt), 'invitation not accepted yet', { succeeded: true });
    }
    if (user.status !== 'active') {
      failPending(itemId, user.status === 'inactive' ? `the invited user was deactivated before accepting; ${DEACTIVATED_ON_ONBOARD}` : 'the Autodesk user has an unexpected status');
      return;
    }
    const fulfillment = items.fulfillmentItem(itemId);
    if (!fulfillment) return;
    refuseProtected(fulfillment, 'onboard');
    if (normalizeEmail(user.email) !== normalizeEmail(fulfillment.subject.email)) {
      failPending(itemId, `the invited Autodesk account ${user.id} is now ${user.email}, not ${fulfillment.subject.email}; nothing was assigned`);
      return;
    }
    const plan = planOf(app, fulfillment);
    if (plan.teams.length > 0 && item.detail !== ACTIVE_DETAIL) items.update(itemId, ACTIVE_DETAIL);
    const detail = await finishActive(fulfillment, user, plan, false, job.signal);
    forgetPending(db, itemId);
    items.complete(itemId, detail);
  }

  const isProtected = (email: string) => deps.isProtectedEmail(email);

  /** protectedEmails covers every change: checked before the first call, whatever intake let through. */
  function refuseProtected(item: FulfillmentItem, kind: 'onboard' | 'offboard'): void {
    if (!isProtected(item.subject.email)) return;
    const what = kind === 'offboard' ? 'offboards' : 'changes';
    throw new PermanentError(`${item.subject.email} is a protected account (protectedEmails): accessbot never ${what} it; nothing was changed`, 'protected');
  }

  /**
   * The last checks before an irreversible call, and the intent that makes a crash safe, in one transaction: the
   * item is still in progress (not cancelled, not taken over by hand) at the moment the intent is written, and
   * the account just read from Autodesk is the subject's, not protected, and not already gone.
   */
  function recordIntentIfStillDue(item: FulfillmentItem, target: DirectoryEntry, action: OffboardAction): void {
    inTransaction(db, () => {
      const current = items.get(item.itemId);
      if (!current || current.state !== 'in_progress') {
        throw new PermanentError(`autodesk: offboarding stopped: the item is no longer in progress (${current?.state ?? 'gone'}); nothing was changed`, 'not_in_progress');
      }
      if (normalizeEmail(target.email) !== normalizeEmail(item.subject.email) || isProtected(target.email)) {
        throw new PermanentError(`autodesk: offboarding stopped: Autodesk user ${target.id} is ${target.email}, not ${item.subject.email}; nothing was changed`, 'identity_mismatch');
      }
      if (target.status !== 'active' && target.status !== 'pending') {
        throw new PermanentError(`autodesk: offboarding stopped: Autodesk user ${target.id} has status ${target.status}; check the account in the Autodesk admin center`, 'unknown_status');
      }
      recordIntent(db, { itemId: item.itemId, userId: target.id, email: target.email, action, createdAt: clock.now() });
    });
  }

  /** Audits a confirmed deactivation or deletion once, in the same transaction as the directory change. */
  function recordOffboarded(item: FulfillmentItem, target: Pick<DirectoryEntry, 'id' | 'email' | 'role'>, action: OffboardAction, intent: Intent | undefined): Outcome {
    const now = clock.now();
    inTransaction(db, () => {
      if (action === 'delete') directory.remove(target.id);
      else directory.record({ ...target, status: 'inactive' }, now);
      if (intent?.confirmedAt == null) {
        writeAudit(db, now, {
          actor: 'accessbot', action: action === 'delete' ? 'autodesk.deleted' : 'autodesk.deactivated', requestId: item.requestId, itemId: item.itemId, appId: item.appId,
          detail: { userId: target.id, email: target.email, at: new Date(now).toISOString(), approvedBy: item.approvedBy },
        });
      }
      confirmIntent(db, item.itemId, now);
    });
    return { state: 'completed', detail: action === 'delete' ? 'deleted' : 'deactivated', externalId: target.id };
  }

  async function offboard(item: FulfillmentItem, job: JobContext): Promise<Outcome> {
    refuseProtected(item, 'offboard');
    const app = appOf(item.appId);
    const startsAt = startOfDateInZone(item.effectiveDate, deps.timezone);
    if (startsAt > clock.now()) throw new RetryAt(startsAt, `offboarding waits for its effective date ${item.effectiveDate}`);
    const signal = job.signal;
    const intent = intentOf(db, item.itemId);
    let target: DirectoryEntry | undefined;
    if (intent) {
      // An earlier run may have made the call and died before recording it: ask the API, not our copy.
      const fresh = await api.getUser(intent.userId, signal);
      if (fresh) {
        directory.record(fresh);
        target = entryOf(fresh, clock.now());
        if (target.status === 'inactive' && intent.action === 'deactivate') return recordOffboarded(item, target, 'deactivate', intent);
      } else {
        directory.remove(intent.userId);
        if (intent.action === 'delete') return recordOffboarded(item, { id: intent.userId, email: intent.email, role: null }, 'delete', intent);
        // Deleted by someone else: an account made since under the same e-mail is still to be offboarded.
      }
    }
    if (!target) {
      // Only an Autodesk answer read after the approval names the account (and only a complete listing says none).
      target = await directory.find(item.subject.email, signal, item.approvedAt);
      // No intent yet, so nothing was done: an account other than the one the approvers saw goes back to them.
      if (!intent) checkPreview(items, clock, deps.isProtectedEmail, app, item, target);
      if (!target) return { state: 'completed', detail: 'no Autodesk account' };
    }
    if (target.status === 'inactive') return { state: 'completed', detail: 'already deactivated', externalId: target.id };

    const action = app.offboardAction;
    recordIntentIfStillDue(item, target, action);
    // A call held back by the budget (or only ever answered 429) was never performed: an intent written by this
    // run then claims nothing, and keeping it would cost a GET on the next run (a call per person in a bulk run
    // that outlasts a budget window).
    const notSent = (error: unknown): never => {
      if (!intent && neverSent(error)) db.prepare('DELETE FROM autodesk_intents WHERE item_id = ? AND confirmed_at IS NULL').run(item.itemId);
      throw error;
    };
    if (action === 'delete') {
      // 404 means someone deleted it first: the outcome is the same.
      await api.deleteUser(target.id, signal).catch(notSent);
      return recordOffboarded(item, target, 'delete', intentOf(db, item.itemId));
    }
    let status: UserStatus | null;
    try {
      status = await api.deactivateUser(target.id, signal).catch(notSent);
    } catch (error) {
      if (!(error instanceof AutodeskApiError && error.status === 404)) throw error;
      // The listed account was deleted (perhaps made again under the same e-mail): list afresh, then start over.
      directory.remove(target.id);
      await directory.refresh(signal, clock.now());
      throw new AutodeskApiError(`autodesk: deactivate user: the account listed for ${target.email} no longer exists; looking again`, 'deactivate user', 404, true, 'not_found');
    }
    if (status !== 'inactive') status = (await api.getUser(target.id, signal))?.status ?? null;
    if (status !== 'inactive') {
      throw new AutodeskApiError(`autodesk: deactivate user: ${target.email} is still ${status ?? 'unknown'} after the call`, 'deactivate user', null, true);
    }
    return recordOffboarded(item, target, 'deactivate', intentOf(db, item.itemId));
  }

  async function onboard(item: FulfillmentItem, job: JobContext): Promise<Outcome> {
    refuseProtected(item, 'onboard');
    const app = appOf(item.appId);
    const plan = planOf(app, item);
    // A first run (no invitation of ours yet) acts only on the account the approvers saw; findOrInvite reuses this read.
    if (item.externalId === null) checkPreview(items, clock, deps.isProtectedEmail, app, item, await directory.find(item.subject.email, job.signal, item.approvedAt));
    const { entry, invited } = await findOrInvite(item, plan, job.signal);
    switch (entry.status) {
      case 'inactive':
        log.warn('autodesk: onboarding a deactivated user refused', { itemId: item.itemId, userId: entry.id });
        throw new PermanentError(DEACTIVATED_ON_ONBOARD, 'deactivated');
      case 'pending':
        awaitActivation(item, app, entry.id);
        return { state: 'in_progress', detail: INVITED_DETAIL, externalId: entry.id };
      case 'active':
        return { state: 'completed', detail: await finishActive(item, entry, plan, !invited, job.signal), externalId: entry.id };
      default:
        throw new PermanentError(`autodesk: ${entry.email} has a status accessbot does not know; check the account in the Autodesk admin center`, 'unknown_status');
    }
  }

  deps.registerJob(AWAIT_ACTIVATION_JOB, {
    run: ({ itemId }, job) => classified(() => checkActivation(itemId, job)),
    onGiveUp({ itemId }, error) {
      failPending(itemId, error.message);
    },
  });

  return {
    type: 'autodesk',
    client,
    api,
    directory,
    grant: (item, job) => withPriority(PRIORITY.onboard, () => classified(() => onboard(item, job))),
    revoke: (item, job) => withPriority(PRIORITY.offboard, () => classified(() => offboard(item, job))),
    preview: (items, notBefore, job) => classified(() => previewItems(deps.isProtectedEmail, appOf, directory, items, notBefore, job.signal)),
    async verify() {
      await classified(() => api.listUsersPage(0, 1));
    },
    handleWebhook: (rawBody, headers) =>
      handleAutodeskWebhook({ db, clock, log, secret: settings.webhookSecret, markSeen: deps.markSeen, onHint: wakeActivations }, rawBody, headers),
    close: () => client.close(),
  };
}
