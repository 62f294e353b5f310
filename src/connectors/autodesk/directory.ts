/**
 * A local copy of the Autodesk user list, because `GET /users` has no documented e-mail filter: finding one
 * person would otherwise mean paging through everyone. Keyed by lower-cased e-mail (logins ignore case; the
 * API returns the original casing, kept here for display and for the guard before irreversible calls).
 *
 * A full refresh pages with the maximum page size and is shared by every concurrent caller (single-flight),
 * so a bulk run of N people costs about size/100 list calls plus its writes, never N traversals. Writes and
 * webhooks update rows as they happen.
 */
import { inTransaction, type Db } from '../../db/connection.js';
import type { Logger } from '../../util/log.js';
import type { Clock } from '../../util/time.js';
import type { AutodeskApi, AutodeskUser, UserStatus } from './api.js';

export interface DirectoryEntry {
  id: string;
  email: string;
  status: UserStatus;
  role: string | null;
  seenAt: number;
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

interface Row { email_lc: string; user_id: string; email: string; status: UserStatus; role: string | null; seen_at: number }

const toEntry = (row: Row): DirectoryEntry => ({ id: row.user_id, email: row.email, status: row.status, role: row.role, seenAt: row.seen_at });

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export class AutodeskDirectory {
  private inflight: { startedAt: number; done: Promise<void> } | undefined;
  private readonly maxAgeMs: number;
  private readonly missRefreshAfterMs: number;

  constructor(private readonly db: Db, private readonly api: AutodeskApi, private readonly clock: Clock, private readonly log: Logger, options: DirectoryOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.missRefreshAfterMs = options.missRefreshAfterMs ?? 60_000;
  }

  /**
   * The user with this e-mail (any casing), refreshing the directory first when it is stale or when a miss might
   * be stale. A miss decides "no Autodesk account", so with `missTrustedSince` (the item's approval time) it is
   * believed only from a listing started after that moment: an account created since the last listing, by
   * anyone, is never mistaken for none. A bulk request shares its approval time, so its misses share one listing.
   */
  async find(email: string, signal?: AbortSignal, missTrustedSince?: number): Promise<DirectoryEntry | undefined> {
    if (this.ageMs() > this.maxAgeMs) await this.refresh(signal);
    const hit = this.lookup(email);
    if (hit) return hit;
    const listedAt = this.refreshedAt();
    const missIsFresh = listedAt !== null && (missTrustedSince !== undefined ? listedAt >= missTrustedSince : this.ageMs() <= this.missRefreshAfterMs);
    if (missIsFresh) return undefined;
    await this.refresh(signal, missTrustedSince);
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
   * traversal in flight will do). Concurrent callers share one traversal.
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
      const startedAt = this.clock.now();
      const done = this.traverse(startedAt, signal).finally(() => {
        if (this.inflight?.done === done) this.inflight = undefined;
      });
      this.inflight = { startedAt, done };
      return done;
    }
  }

  /** Records what a write, a GET or a webhook just showed. */
  record(user: Pick<AutodeskUser, 'id' | 'email' | 'status' | 'role'>, at = this.clock.now()): void {
    inTransaction(this.db, () => this.upsert(user, at));
  }

  remove(userId: string): void {
    this.db.prepare('DELETE FROM autodesk_directory WHERE user_id = ?').run(userId);
  }

  private ageMs(): number {
    const at = this.refreshedAt();
    return at === null ? Number.POSITIVE_INFINITY : this.clock.now() - at;
  }

  private upsert(user: Pick<AutodeskUser, 'id' | 'email' | 'status' | 'role'>, at: number): void {
    const emailLc = normalizeEmail(user.email);
    // The same id under another e-mail is the same person renamed: the newer observation replaces it.
    this.db.prepare('DELETE FROM autodesk_directory WHERE user_id = ? AND email_lc <> ? AND seen_at <= ?').run(user.id, emailLc, at);
    this.db
      .prepare(
        `INSERT INTO autodesk_directory (email_lc, user_id, email, status, role, seen_at) VALUES (@emailLc, @id, @email, @status, @role, @at)
         ON CONFLICT (email_lc) DO UPDATE SET user_id = excluded.user_id, email = excluded.email, status = excluded.status,
           role = excluded.role, seen_at = excluded.seen_at
         WHERE autodesk_directory.seen_at <= excluded.seen_at`,
      )
      .run({ emailLc, id: user.id, email: user.email, status: user.status, role: user.role ?? null, at });
  }

  private async traverse(startedAt: number, signal: AbortSignal | undefined): Promise<void> {
    const seen = new Map<string, AutodeskUser>();
    const limit = this.api.maxPageSize;
    let offset = 0;
    let pages = 0;
    while (pages < MAX_PAGES) {
      const page = await this.api.listUsersPage(offset, limit, signal);
      pages++;
      for (const user of page.users) seen.set(user.id, user);
      if (page.users.length < limit) break;
      if (page.total !== null && offset + page.users.length >= page.total) break;
      offset += limit - PAGE_OVERLAP;
    }
    inTransaction(this.db, () => {
      // Rows written by calls made during the traversal are newer than its pages and win.
      for (const user of seen.values()) this.upsert(user, startedAt);
      this.db.prepare('DELETE FROM autodesk_directory WHERE seen_at < ?').run(startedAt);
      this.db
        .prepare('INSERT INTO autodesk_directory_state (id, refreshed_at, size) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET refreshed_at = excluded.refreshed_at, size = excluded.size')
        .run(startedAt, seen.size);
    });
    this.log.info('autodesk: directory refreshed', { users: seen.size, pages });
  }
}
