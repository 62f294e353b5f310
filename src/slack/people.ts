/**
 * The bot's one directory of Slack users: whole user rows (id, e-mail, names, deactivated, bot) in the SQLite
 * table `slack_people`, read and written by everything that needs people: the request form checks hundreds
 * of people in it inside Slack's 3 seconds instead of calling users.info for each (Tier 4: about 100 a minute, and
 * slow when it is busy); a click is judged on the clicker's and approvers' rows (`knownPeopleIn`, the requests
 * side's port) inside a transaction that never waits on Slack; the approver refresh and the task Reassign list
 * read and write the same rows (`src/slack/directory.ts`). An e-mail is kept as Slack spells it, since people read
 * it and apps are given it, and always compared lower-cased.
 *
 * Filled by paging users.list in the background at start-up and every `refreshEvery`. A person missing from it,
 * or known only from a row older than `freshFor`, is asked of Slack (users.info, users.lookupByEmail) a few at a
 * time until the caller's deadline. When Slack rate-limits or is too slow, a stale row still answers; with no row
 * the person is `unavailable`, which the form reports as "Slack is slow", never as "not found".
 */
import type { WebClient } from '@slack/web-api';
import type { Db } from '../db/connection.js';
import type { PeopleLookup, PersonLookup, SlackPerson } from '../requests/intake.js';
import type { KnownEmails } from '../requests/people.js';
import type { Logger } from '../util/log.js';
import type { Clock } from '../util/time.js';

export interface PeopleDirectoryOptions {
  /** A cached row younger than this is used without asking Slack. Default 1 hour. */
  freshFor?: number;
  /** How often the whole directory is listed again. Default 1 hour. */
  refreshEvery?: number;
  /** users.info calls in flight at once for one form. Default 5. */
  concurrency?: number;
  /** users.list page size (Slack recommends at most 200). Default 200. */
  pageSize?: number;
}

interface PersonRow {
  id: string; email: string | null; first_name: string | null; last_name: string | null; real_name: string | null;
  is_bot: number; deleted: number; fetched_at: number;
}

/** The parts of a Slack user object (users.info, users.list, users.lookupByEmail) kept here. */
export interface SlackUser {
  id?: string; deleted?: boolean; is_bot?: boolean; real_name?: string;
  profile?: { email?: string; first_name?: string; last_name?: string; real_name?: string };
}

const HOUR = 60 * 60 * 1000;
/** How long a job's e-mail look-up may wait for Slack before the job retries later. */
const JOB_LOOKUP_MS = 10_000;

function toPerson(row: PersonRow): SlackPerson {
  return {
    id: row.id, email: row.email ?? undefined, firstName: row.first_name ?? undefined, lastName: row.last_name ?? undefined,
    realName: row.real_name ?? undefined, isBot: Boolean(row.is_bot), deleted: Boolean(row.deleted),
  };
}

/**
 * The requests side's view of the directory: plain reads of the rows by primary key, cheap enough to run inside
 * a click's transaction. A row that was never read answers nothing, so the model compares Slack ids only.
 */
export function knownPeopleIn(db: Db): KnownEmails {
  const row = db.prepare('SELECT email, deleted, fetched_at FROM slack_people WHERE id = ?');
  const read = (userId: string) => row.get(userId) as Pick<PersonRow, 'email' | 'deleted' | 'fetched_at'> | undefined;
  return {
    emailOf: (userId) => read(userId)?.email?.toLowerCase() ?? undefined,
    readAt: (userId) => read(userId)?.fetched_at,
    isDeactivated: (userId) => read(userId)?.deleted === 1,
  };
}

/** How people are named in lists (the task Reassign choices): Slack's display of their full name. */
export function displayNameOf(person: SlackPerson): string | undefined {
  return person.realName || [person.firstName, person.lastName].filter(Boolean).join(' ') || undefined;
}

function slackErrorOf(error: unknown): { code?: string; platformError?: string; retryAfter?: number } {
  const coded = error as { code?: string; data?: { error?: string }; retryAfter?: number };
  return { code: coded.code, platformError: coded.data?.error, retryAfter: coded.retryAfter };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });

/** Settles with `fallback` when `promise` has not settled by `deadline` (epoch ms); the call itself runs on. */
function byDeadline<T>(promise: Promise<T>, deadline: number, now: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => { timer = setTimeout(() => resolve(fallback), Math.max(0, deadline - now)); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export class PeopleDirectory {
  private readonly freshFor: number;
  private readonly refreshEvery: number;
  private readonly concurrency: number;
  private readonly pageSize: number;
  private readonly stopping = new AbortController();
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  /** Until then Slack has said to wait (Retry-After): no look-up is started, so cached rows answer. */
  private rateLimitedUntil = 0;

  constructor(
    private readonly db: Db, private readonly slack: WebClient, private readonly clock: Clock, private readonly log: Logger,
    options: PeopleDirectoryOptions = {},
  ) {
    this.freshFor = options.freshFor ?? HOUR;
    this.refreshEvery = options.refreshEvery ?? HOUR;
    this.concurrency = options.concurrency ?? 5;
    this.pageSize = options.pageSize ?? 200;
  }

  /** Lists the directory now (in the background) and every `refreshEvery`. */
  start(): void {
    void this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh(), this.refreshEvery);
    this.refreshTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    this.stopping.abort();
    await this.refreshing;
  }

  /** Pages users.list into the cache, waiting out rate limits; one listing at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.listAll().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  /** Look-ups for one form, answered by `deadline` (epoch ms) whatever Slack does. */
  lookupUntil(deadline: number): PeopleLookup {
    return {
      byIds: (ids) => this.byIds(ids, deadline),
      byEmail: (email) => this.byEmail(email, deadline),
      byEmails: (emails) => this.byEmails(emails, deadline),
    };
  }

  /**
   * The active Slack user with this e-mail, for a job (no form waiting): the listed copy answers, Slack is asked
   * when it has no fresh row. Throws when Slack could not say (rate limit, outage), so the job retries instead of
   * treating the person as unknown.
   */
  async activeUserIdOf(email: string): Promise<string | undefined> {
    const answer = await this.emailLookup(email, this.cachedByEmail(email), this.clock.now() + JOB_LOOKUP_MS);
    if (answer.status === 'unavailable') throw new Error(`Slack did not say who has the e-mail ${email}; will retry`);
    return answer.status === 'found' && !answer.person.deleted ? answer.person.id : undefined;
  }

  private async listAll(): Promise<void> {
    const started = this.clock.now();
    let cursor: string | undefined;
    let count = 0;
    while (!this.stopping.signal.aborted) {
      let page;
      try {
        page = await this.slack.users.list({ limit: this.pageSize, ...(cursor ? { cursor } : {}) });
      } catch (error) {
        const { retryAfter, code, platformError } = slackErrorOf(error);
        if (retryAfter !== undefined) {
          await sleep(retryAfter * 1000, this.stopping.signal);
          continue;
        }
        this.log.warn('listing Slack users failed; people are looked up one by one until the next listing', { error: platformError ?? code ?? (error as Error).message });
        return;
      }
      const members = (page.members ?? []) as SlackUser[];
      this.store(members, this.clock.now());
      count += members.length;
      cursor = page.response_metadata?.next_cursor || undefined;
      if (!cursor) {
        this.log.info('Slack users listed', { people: count, ms: this.clock.now() - started });
        return;
      }
    }
  }

  /** Keeps what Slack said of these users (an answer read elsewhere: users.lookupByEmail at start-up). */
  remember(users: SlackUser[]): void {
    this.store(users, this.clock.now());
  }

  /**
   * Reads one user from Slack into the directory (users.info). Throws what Slack answered when it could not say,
   * so the caller decides whether an older row may serve.
   */
  async read(userId: string): Promise<void> {
    const { user } = await this.slack.users.info({ user: userId }) as { user?: SlackUser };
    if (!user?.id) throw new Error(`Slack answered users.info for ${userId} without a user`);
    this.store([user], this.clock.now());
  }

  /**
   * The row of someone Slack says has changed (a `user_change` event) is read again before it is next relied on:
   * cheaper than a call per event, and the event's body, which may be stale, is never taken as the truth.
   */
  markChanged(userId: string): void {
    this.db.prepare('UPDATE slack_people SET fetched_at = 0 WHERE id = ?').run(userId);
  }

  /**
   * Names for a list people pick from, by `deadline` (epoch ms): the directory's rows, Slack asked for the
   * missing or stale ones; a person Slack did not describe in time is left out (the caller shows the id).
   */
  async namesOf(ids: readonly string[], deadline: number): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const [id, answer] of await this.byIds(ids, deadline)) {
      const name = answer.status === 'found' ? displayNameOf(answer.person) : undefined;
      if (name) names.set(id, name);
    }
    return names;
  }

  private store(users: SlackUser[], fetchedAt: number): void {
    const upsert = this.db.prepare(
      `INSERT INTO slack_people (id, email, first_name, last_name, real_name, is_bot, deleted, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name,
         real_name = excluded.real_name, is_bot = excluded.is_bot, deleted = excluded.deleted, fetched_at = excluded.fetched_at`,
    );
    this.db.transaction(() => {
      for (const user of users) {
        if (!user.id) continue;
        upsert.run(
          user.id, user.profile?.email || null, user.profile?.first_name || null, user.profile?.last_name || null,
          user.profile?.real_name || user.real_name || null, user.is_bot ? 1 : 0, user.deleted ? 1 : 0, fetchedAt,
        );
      }
    })();
  }

  private cachedByIds(ids: readonly string[]): Map<string, PersonRow> {
    const rows = this.db.prepare('SELECT * FROM slack_people WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as PersonRow[];
    return new Map(rows.map((row) => [row.id, row]));
  }

  private cachedByEmail(email: string): PersonRow | undefined {
    return this.db.prepare('SELECT * FROM slack_people WHERE lower(email) = lower(?) ORDER BY deleted, fetched_at DESC LIMIT 1').get(email) as PersonRow | undefined;
  }

  /** One Slack look-up; a failure that says nothing about the person (rate limit, outage) is `undefined`. */
  private async ask(call: () => Promise<{ user?: SlackUser }>, notFound: string): Promise<PersonLookup | undefined> {
    if (this.clock.now() < this.rateLimitedUntil) return undefined;
    try {
      const { user } = await call();
      if (!user?.id) return undefined;
      this.store([user], this.clock.now());
      return { status: 'found', person: toPerson(this.cachedByIds([user.id]).get(user.id)!) };
    } catch (error) {
      const { retryAfter, code, platformError } = slackErrorOf(error);
      if (platformError === notFound) return { status: 'not_found' };
      if (retryAfter !== undefined) this.rateLimitedUntil = Math.max(this.rateLimitedUntil, this.clock.now() + retryAfter * 1000);
      this.log.warn('Slack user look-up failed', { error: platformError ?? code ?? (error as Error).message });
      return undefined;
    }
  }

  private async byIds(ids: readonly string[], deadline: number): Promise<Map<string, PersonLookup>> {
    const cached = this.cachedByIds(ids);
    const answers = new Map<string, PersonLookup>();
    const fallback = (id: string): PersonLookup => {
      const row = cached.get(id);
      return row ? { status: 'found', person: toPerson(row) } : { status: 'unavailable' };
    };
    const toAsk: string[] = [];
    for (const id of ids) {
      const row = cached.get(id);
      if (row && this.clock.now() - row.fetched_at < this.freshFor) answers.set(id, { status: 'found', person: toPerson(row) });
      else toAsk.push(id);
    }
    let next = 0;
    const worker = async () => {
      while (next < toAsk.length && this.clock.now() < deadline) {
        const id = toAsk[next++]!;
        const answer = await byDeadline(this.ask(() => this.slack.users.info({ user: id }) as Promise<{ user?: SlackUser }>, 'user_not_found'), deadline, this.clock.now(), undefined);
        answers.set(id, answer ?? fallback(id));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, toAsk.length) }, worker));
    for (const id of toAsk) if (!answers.has(id)) answers.set(id, fallback(id));
    return answers;
  }

  private cachedByEmails(emails: readonly string[]): Map<string, PersonRow> {
    // Active accounts before deactivated ones, then the newest: inserted last, they win in the map.
    const rows = this.db
      .prepare('SELECT * FROM slack_people WHERE lower(email) IN (SELECT lower(value) FROM json_each(?)) ORDER BY deleted DESC, fetched_at')
      .all(JSON.stringify(emails)) as PersonRow[];
    return new Map(rows.map((row) => [row.email!.toLowerCase(), row]));
  }

  private byEmail(email: string, deadline: number): Promise<PersonLookup> {
    return this.emailLookup(email, this.cachedByEmail(email), deadline);
  }

  /** `row`: what the listed directory has for this e-mail, if anything. */
  private async emailLookup(email: string, row: PersonRow | undefined, deadline: number): Promise<PersonLookup> {
    if (row && this.clock.now() - row.fetched_at < this.freshFor) return { status: 'found', person: toPerson(row) };
    const answer = await byDeadline(this.ask(() => this.slack.users.lookupByEmail({ email }) as Promise<{ user?: SlackUser }>, 'users_not_found'), deadline, this.clock.now(), undefined);
    if (answer?.status === 'not_found' && row) {
      // users.lookupByEmail never answers a deactivated account; the listed row may be one. users.info (which
      // does answer them) says whether that account still has this e-mail.
      const info = await byDeadline(this.ask(() => this.slack.users.info({ user: row.id }) as Promise<{ user?: SlackUser }>, 'user_not_found'), deadline, this.clock.now(), undefined);
      if (!info) return { status: 'found', person: toPerson(row) };
      return info.status === 'found' && info.person.email?.toLowerCase() === email.toLowerCase() ? info : { status: 'not_found' };
    }
    return answer ?? (row ? { status: 'found', person: toPerson(row) } : { status: 'unavailable' });
  }

  /** E-mails typed into the form: the listed directory answers most; the rest are asked a few at a time. */
  private async byEmails(emails: readonly string[], deadline: number): Promise<Map<string, PersonLookup>> {
    const cached = this.cachedByEmails(emails);
    const answers = new Map<string, PersonLookup>();
    const toAsk: string[] = [];
    for (const email of new Set(emails.map((e) => e.toLowerCase()))) {
      const row = cached.get(email);
      if (row && this.clock.now() - row.fetched_at < this.freshFor) answers.set(email, { status: 'found', person: toPerson(row) });
      else toAsk.push(email);
    }
    let next = 0;
    const worker = async () => {
      while (next < toAsk.length && this.clock.now() < deadline) {
        const email = toAsk[next++]!;
        answers.set(email, await this.emailLookup(email, cached.get(email), deadline));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, toAsk.length) }, worker));
    for (const email of toAsk) if (!answers.has(email)) answers.set(email, cached.has(email) ? { status: 'found', person: toPerson(cached.get(email)!) } : { status: 'unavailable' });
    return answers;
  }
}
