/**
 * A local copy of the Autodesk user list, because `GET /users` has no documented e-mail filter: finding one
 * person would otherwise mean paging through everyone. Keyed by lower-cased e-mail (logins ignore case; the
 * API returns the original casing, kept here for display and for the guard before irreversible calls).
 *
 * A full refresh pages with the maximum page size and is shared by every concurrent caller (single-flight),
 * so a bulk run of N people costs about size/100 list calls plus its writes, never N traversals. Only
 * Autodesk's own answers write rows (complete listings, GETs, the answers to our writes), each stamped with
 * when it was read: `seen_at` is what lets a caller demand an answer newer than its approval. Webhooks never
 * write here; they are unauthenticated claims about Autodesk, not Autodesk.
 */
import { inTransaction, type Db } from '../../db/connection.js';
import type { Logger } from '../../util/log.js';
import { AutodeskApiError } from './http.js';
import type { Clock } from '../../util/time.js';
import type { AutodeskApi, AutodeskUser, UserPage, UserStatus } from './api.js';

export interface DirectoryEntry {
  id: string;
  email: string;
  status: UserStatus;
  role: string | null;
  seenAt: number;
  /** As the last listing or GET said; absent when the answer did not say. */
  lastLogin?: string | null;
}

export interface DirectoryOptions {
  /** Older than this, the directory is refreshed before a lookup. @default 600_000 (10 min) */
  maxAgeMs?: number;
  /** A lookup that misses refreshes first when the directory is older than this. @default 60_000 */
  missRefreshAfterMs?: number;
}

/**
 * Pages overlap a little: offset pagination shifts when users are removed mid-traversal, and an overlap
 * of a few rows means nobody falls between two pages; duplicates are removed by id.
 */
const PAGE_OVERLAP = 5;
/** A runaway server (total that keeps growing) cannot keep a refresh going for ever. */
const MAX_PAGES = 2000;
/**
 * A listing that moved under us is read again from the start this many times in all; a directory that keeps
 * moving fails the refresh (retryable), because a partial listing would turn someone's account into "none".
 */
const MAX_READS = 4;

/**
 * Where an interrupted listing stopped: the pages read so far and what the next page must agree with. A long
 * rate-limit wait throws RetryAt out of the traversal; the next refresh that may use a listing started this early
 * goes on from here instead of paying for those pages again. Resuming checks exactly what one pass checks (the
 * same total, the overlap with the previous page, distinct ids equal to the total), so a list that moved during
 * the wait is still refused and read again.
 */
interface Cursor {
  startedAt: number;
  read: number;
  users: Map<string, AutodeskUser>;
  offset: number;
  pages: number;
  total: number | undefined;
  tail: string[];
}

interface Row { email_lc: string; user_id: string; email: string; status: UserStatus; role: string | null; seen_at: number; last_login: string | null }

const toEntry = (row: Row): DirectoryEntry => ({ id: row.user_id, email: row.email, status: row.status, role: row.role, seenAt: row.seen_at, lastLogin: row.last_login });

const fresh = (startedAt: number, read: number): Cursor => ({ startedAt, read, users: new Map(), offset: 0, pages: 0, total: undefined, tail: [] });

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export class AutodeskDirectory {
  private inflight: { startedAt: number; done: Promise<void> } | undefined;
  /** The listing a failed page interrupted, kept for the next refresh it can serve (in memory: 100 users a page). */
  private parked: Cursor | undefined;
  private readonly maxAgeMs: number;
  private readonly missRefreshAfterMs: number;

  constructor(private readonly db: Db, private readonly api: AutodeskApi, private readonly clock: Clock, private readonly log: Logger, options: DirectoryOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.missRefreshAfterMs = options.missRefreshAfterMs ?? 60_000;
  }

  /**
   * The user with this e-mail (any casing), refreshing the directory first when it is stale or when a miss might
   * be stale. With `trustedSince` (the item's approval time) both answers must come from Autodesk after that
   * moment: a hit only from a row read since (a listing, a GET or a write's answer), a miss only from a complete
   * listing started since. A bulk request shares its approval time, so its people share one listing.
   */
  async find(email: string, signal?: AbortSignal, trustedSince?: number): Promise<DirectoryEntry | undefined> {
    const hit = this.lookup(email);
    const listedAt = this.refreshedAt();
    if (trustedSince !== undefined) {
      // The item's own rule decides, not the directory's age: any answer read since its approval will do, so a
      // long bulk run lists once rather than every `maxAgeMs`.
      if (hit && hit.seenAt >= trustedSince) return hit;
      if (!hit && listedAt !== null && listedAt >= trustedSince) return undefined;
      await this.refresh(signal, trustedSince);
      return this.lookup(email);
    }
    if (this.ageMs() > this.maxAgeMs) {
      await this.refresh(signal);
      return this.lookup(email);
    }
    if (hit || this.ageMs() <= this.missRefreshAfterMs) return hit;
    await this.refresh(signal);
    return this.lookup(email);
  }

  lookup(email: string): DirectoryEntry | undefined {
    const row = this.db.prepare('SELECT * FROM autodesk_directory WHERE email_lc = ?').get(normalizeEmail(email)) as Row | undefined;
    return row && toEntry(row);
  }

  byId(id: string): DirectoryEntry | undefined {
    const row = this.db.prepare('SELECT * FROM autodesk_directory WHERE user_id = ?').get(id) as Row | undefined;
    return row && toEntry(row);
  }

  refreshedAt(): number | null {
    const row = this.db.prepare('SELECT refreshed_at FROM autodesk_directory_state WHERE id = 1').get() as { refreshed_at: number } | undefined;
    return row?.refreshed_at ?? null;
  }

  size(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM autodesk_directory').get() as { n: number }).n;
  }

  /**
   * Brings the directory up to date with a traversal that started at or after `notBefore` (default: any
   * traversal in flight will do). Concurrent callers share one traversal, and a listing interrupted by a
   * failed page (a long rate-limit wait) is resumed when it started late enough for the caller.
   */
  async refresh(signal?: AbortSignal, notBefore = Number.NEGATIVE_INFINITY): Promise<void> {
    for (;;) {
      const current = this.inflight;
      if (current && current.startedAt >= notBefore) return current.done;
      if (current) {
        // Started too early to see what the caller needs: let it finish, then start a fresh one.
        await current.done.catch(() => undefined);
        continue;
      }
      const parked = this.parked;
      this.parked = undefined;
      // A listing started before the caller's moment cannot say who is missing since then: start afresh.
      const resume = parked && parked.startedAt >= notBefore ? parked : undefined;
      const startedAt = resume?.startedAt ?? this.clock.now();
      const done = this.traverse(startedAt, signal, resume).finally(() => {
        if (this.inflight?.done === done) this.inflight = undefined;
      });
      this.inflight = { startedAt, done };
      return done;
    }
  }

  /** Records what Autodesk just answered (a write or a GET), as of `at`. Never a webhook's claim. */
  record(user: Pick<AutodeskUser, 'id' | 'email' | 'status' | 'role' | 'lastLogin'>, at = this.clock.now()): void {
    inTransaction(this.db, () => this.upsert(user, at));
  }

  remove(userId: string): void {
    this.db.prepare('DELETE FROM autodesk_directory WHERE user_id = ?').run(userId);
  }

  private ageMs(): number {
    const at = this.refreshedAt();
    return at === null ? Number.POSITIVE_INFINITY : this.clock.now() - at;
  }

  private upsert(user: Pick<AutodeskUser, 'id' | 'email' | 'status' | 'role' | 'lastLogin'>, at: number): void {
    const emailLc = normalizeEmail(user.email);
    // The same id under another e-mail is the same person renamed: the newer observation replaces it.
    this.db.prepare('DELETE FROM autodesk_directory WHERE user_id = ? AND email_lc <> ? AND seen_at <= ?').run(user.id, emailLc, at);
    this.db
      .prepare(
        `INSERT INTO autodesk_directory (email_lc, user_id, email, status, role, seen_at, last_login) VALUES (@emailLc, @id, @email, @status, @role, @at, @lastLogin)
         ON CONFLICT (email_lc) DO UPDATE SET user_id = excluded.user_id, email = excluded.email, status = excluded.status,
           role = excluded.role, seen_at = excluded.seen_at, last_login = CASE WHEN excluded.last_login IS NOT NULL THEN excluded.last_login
             WHEN autodesk_directory.user_id = excluded.user_id THEN autodesk_directory.last_login END
         WHERE autodesk_directory.seen_at <= excluded.seen_at`,
      )
      .run({ emailLc, id: user.id, email: user.email, status: user.status, role: user.role ?? null, at, lastLogin: user.lastLogin ?? null });
  }

  private async traverse(startedAt: number, signal: AbortSignal | undefined, resume?: Cursor): Promise<void> {
    if (resume) this.log.info('autodesk: resuming the directory listing', { pagesRead: resume.pages, offset: resume.offset });
    for (let read = resume?.read ?? 1; ; read++) {
      const cursor = resume ?? fresh(read === 1 ? startedAt : this.clock.now(), read);
      resume = undefined;
      const listing = await this.readAll(cursor, signal);
      if (listing.complete) {
        this.commit(listing.users, cursor.startedAt);
        this.log.info('autodesk: directory refreshed', { users: listing.users.size, pages: listing.pages, reads: read });
        return;
      }
      this.log.warn('autodesk: the directory moved while it was listed; reading it again', { why: listing.why, read });
      if (read >= MAX_READS) {
        throw new AutodeskApiError(
          `autodesk: list users: the user list kept changing while it was read (${listing.why}); nobody is looked up from a partial list, trying again later`,
          'list users', null, true, 'directory_moving',
        );
      }
    }
  }

  /**
   * One pass over every page. It is complete only when nothing moved under it: every page reports the same
   * total, each page starts with the rows that ended the previous one (offset pages shift when rows before
   * the offset come or go), and the distinct ids seen are exactly that total.
   */
  private async readAll(cursor: Cursor, signal: AbortSignal | undefined): Promise<{ users: Map<string, AutodeskUser>; pages: number; complete: boolean; why: string }> {
    const { users } = cursor;
    const limit = this.api.maxPageSize;
    let { offset, pages, total, tail } = cursor;
    while (pages < MAX_PAGES) {
      let page: UserPage;
      try {
        page = await this.api.listUsersPage(offset, limit, signal);
      } catch (error) {
        this.parked = { ...cursor, offset, pages, total, tail };
        throw error;
      }
      pages++;
      if (page.total === null) return { users, pages, complete: false, why: 'Autodesk did not say how many users there are' };
      if (total !== undefined && page.total !== total) return { users, pages, complete: false, why: `the total went from ${total} to ${page.total}` };
      total = page.total;
      const head = page.users.slice(0, tail.length).map((user) => user.id);
      if (head.join('\n') !== tail.join('\n')) return { users, pages, complete: false, why: `the rows at offset ${offset} shifted` };
      for (const user of page.users) users.set(user.id, user);
      if (page.users.length < limit || offset + page.users.length >= total) {
        const complete = users.size === total;
        return { users, pages, complete, why: complete ? '' : `${users.size} distinct users seen, ${total} announced` };
      }
      tail = page.users.slice(-PAGE_OVERLAP).map((user) => user.id);
      offset += limit - PAGE_OVERLAP;
    }
    return { users, pages, complete: false, why: `more than ${MAX_PAGES} pages` };
  }

  private commit(users: Map<string, AutodeskUser>, readAt: number): void {
    inTransaction(this.db, () => {
      // Rows written by calls made during the traversal are newer than its pages and win.
      for (const user of users.values()) this.upsert(user, readAt);
      this.db.prepare('DELETE FROM autodesk_directory WHERE seen_at < ?').run(readAt);
      this.db
        .prepare('INSERT INTO autodesk_directory_state (id, refreshed_at, size) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET refreshed_at = excluded.refreshed_at, size = excluded.size')
        .run(readAt, users.size);
    });
  }
}
