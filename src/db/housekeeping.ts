/**
 * Rows that only matter for a while: finished jobs (their keys dedupe Slack's retries and double clicks, which
 * come within minutes), deliveries already seen, submissions already matched, and intents whose irreversible call
 * is confirmed (the audit keeps the record). The audit itself is never pruned: it is the history.
 */
import type { Db } from './connection.js';

export interface Pruned {
  jobs: number;
  seenEvents: number;
  submissions: number;
  intents: number;
}

/** Deleted in batches, so a large backlog never holds the write lock long enough to delay a click. */
const BATCH = 2000;

export function pruneSettled(db: Db, now: number, retentionMs: number): Pruned {
  const cutoff = now - retentionMs;
  const prune = (sql: string): number => {
    const statement = db.prepare(sql);
    let total = 0;
    for (;;) {
      const { changes } = statement.run({ cutoff, batch: BATCH });
      total += changes;
      if (changes < BATCH) return total;
    }
  };
  return {
    jobs: prune("DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND updated_at < @cutoff LIMIT @batch)"),
    seenEvents: prune('DELETE FROM seen_events WHERE rowid IN (SELECT rowid FROM seen_events WHERE at < @cutoff LIMIT @batch)'),
    submissions: prune('DELETE FROM submissions WHERE rowid IN (SELECT rowid FROM submissions WHERE at < @cutoff LIMIT @batch)'),
    intents: prune('DELETE FROM autodesk_intents WHERE item_id IN (SELECT item_id FROM autodesk_intents WHERE confirmed_at IS NOT NULL AND confirmed_at < @cutoff LIMIT @batch)'),
  };
}
