/**
 * One bot process per database: two would each run the other's jobs. The owner keeps a row with its pid, host
 * and a heartbeat; a second process refuses to start while that owner is alive. An owner that was killed
 * (SIGKILL, a crash, a lost machine) leaves a stale row, taken over when its pid is gone (same host) or its
 * heartbeat is older than `staleMs`.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from './connection.js';

export class DatabaseInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseInUseError';
  }
}

export interface ProcessLock {
  /** Stops the heartbeat and frees the database for the next process. */
  release(): void;
}

interface LockRow { token: string; pid: number; host: string; heartbeat_at: number }

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the database for this process, or throws DatabaseInUseError naming the owner. The heartbeat uses the
 * machine's real time (processes compare it), not an injected clock.
 */
export function acquireProcessLock(db: Db, path: string, options: { heartbeatMs?: number; staleMs?: number } = {}): ProcessLock {
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const staleMs = options.staleMs ?? 10_000;
  const token = randomUUID();
  const host = hostname();
  db.transaction(() => {
    const now = Date.now();
    const owner = db.prepare('SELECT token, pid, host, heartbeat_at FROM process_lock WHERE id = 1').get() as LockRow | undefined;
    if (owner) {
      const sinceBeat = now - owner.heartbeat_at;
      // Its pid may since belong to another program (or to us, in a restarted container): a silent heartbeat settles it.
      const gone = sinceBeat > staleMs || (owner.host === host && (owner.pid === process.pid || !pidAlive(owner.pid)));
      if (!gone) {
        throw new DatabaseInUseError(
          `another accessbot process (pid ${owner.pid} on ${owner.host}, alive ${Math.max(0, Math.round(sinceBeat / 1000))}s ago) is using the database ${path}; run one bot process per database`,
        );
      }
    }
    db.prepare(
      `INSERT INTO process_lock (id, token, pid, host, started_at, heartbeat_at) VALUES (1, @token, @pid, @host, @now, @now)
       ON CONFLICT (id) DO UPDATE SET token = @token, pid = @pid, host = @host, started_at = @now, heartbeat_at = @now`,
    ).run({ token, pid: process.pid, host, now });
  }).immediate();
  const beat = db.prepare('UPDATE process_lock SET heartbeat_at = ? WHERE id = 1 AND token = ?');
  const timer = setInterval(() => {
    try {
      beat.run(Date.now(), token);
    } catch {
      // A busy or closing database: the next beat tries again, and staleMs is many beats long.
    }
  }, heartbeatMs);
  timer.unref();
  return {
    release() {
      clearInterval(timer);
      if (db.open) db.prepare('DELETE FROM process_lock WHERE id = 1 AND token = ?').run(token);
    },
  };
}
