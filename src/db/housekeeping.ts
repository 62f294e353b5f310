/**
 * Rows that only matter for a while: finished jobs (their keys dedupe Slack's retries and double clicks, which
 * come within minutes), deliveries already seen, submissions already matched, and whatever a connector plugin
 * keeps of its own (its `housekeeping`, e.g. intents whose irreversible call is confirmed; the audit keeps the
 * record). The audit itself is never pruned: it is the history.
 */
import type { Db } from './connection.js';

/** How many rows were deleted, by what they are called (the log line shows them). */
export type Pruned = Record<string, number>;

/** Prunes one kind of row after the retention; a connector plugin's own tables come through one of these. */
export type Pruner = (db: Db, now: number, retentionMs: number) => Pruned;

/** Deleted in batches, so a large backlog never holds the write lock long enough to delay a click. */
const BATCH = 2000;

/**
 * Runs a `DELETE … WHERE rowid IN (SELECT … LIMIT @batch)` until it deletes less than a batch; `@cutoff` is the
 * oldest time kept. Answers how many rows it deleted.
 */
export function pruneInBatches(db: Db, sql: string, cutoff: number): number {
  const statement = db.prepare(sql);
  let total = 0;
  for (;;) {
    const { changes } = statement.run({ cutoff, batch: BATCH });
    total += changes;
    if (changes < BATCH) return total;
  }
}

export function pruneSettled(db: Db, now: number, retentionMs: number, pruners: readonly Pruner[] = []): Pruned {
  const cutoff = now - retentionMs;
  const pruned: Pruned = {
    jobs: pruneInBatches(db, "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND updated_at < @cutoff LIMIT @batch)", cutoff),
    seenEvents: pruneInBatches(db, 'DELETE FROM seen_events WHERE rowid IN (SELECT rowid FROM seen_events WHERE at < @cutoff LIMIT @batch)', cutoff),
    submissions: pruneInBatches(db, 'DELETE FROM submissions WHERE rowid IN (SELECT rowid FROM submissions WHERE at < @cutoff LIMIT @batch)', cutoff),
  };
  for (const prune of pruners) Object.assign(pruned, prune(db, now, retentionMs));
  return pruned;
}
