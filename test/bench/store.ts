/**
 * The store at scale: 100 000 finished requests (1 000 requesters, one item and one decided step each) written
 * with SQL into a real SQLite file with the bot's migrations, then the real `/access status` listener and the real
 * Home render timed for a person with 50 open items among their finished ones. Slack is not called: the Home
 * view is built and handed to a client that only counts it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAccessConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { openDatabase } from '../../src/db/connection.js';
import { createItAdmins } from '../../src/requests/it-admins.js';
import { accessCommand } from '../../src/slack/listeners/commands/access.js';
import { publishHome } from '../../src/slack/jobs.js';
import { taskHomeBlocks, tasksCommandText } from '../../src/slack/tasks/listeners.js';
import { IT_CHANNEL, PEOPLE } from '../../src/sandboxes/stack.js';
import { silentLogger } from '../../src/util/log.js';
import { systemClock } from '../../src/util/time.js';
import { percentile, type Latency } from './ack.js';
import { knownPeopleIn } from '../../src/slack/people.js';

const FINISHED = 100_000;
const REQUESTERS = 1_000;
const OPEN_REQUESTS = 10;
const ITEMS_PER_OPEN = 5;
const SAMPLES = 500;

export interface StoreReport { requests: number; status: Latency; home: Latency; seedMs: number }

function timeIt(samples: number, run: () => Promise<unknown>): Promise<Latency> {
  return (async () => {
    // The first runs compile the statements and the JIT warms up: a person waits for the steady state.
    for (let i = 0; i < 50; i++) await run();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      await run();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99), n: times.length, errors: 0 };
  })();
}

export async function storeBench(): Promise<StoreReport> {
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-store-'));
  const db = openDatabase(join(dir, 'accessbot.db'));
  try {
    const person = PEOPLE.requester;
    const seedStarted = performance.now();
    const day = 86_400_000;
    const start = Date.now() - 400 * day;
    db.transaction(() => {
      const request = db.prepare("INSERT INTO requests (id, kind, requester_id, justification, effective_date, options, created_at, updated_at) VALUES (?, ?, ?, 'bench', '2025-01-01', '{}', ?, ?)");
      const item = db.prepare('INSERT INTO items (request_id, app_id, subject_slack_id, subject_email, state, step_index, detail, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)');
      const approval = db.prepare("INSERT INTO approvals (request_id, app_id, step_index, approvers, fallback_to_it, state, decided_by, decided_at, created_at) VALUES (?, ?, 0, ?, 0, ?, ?, ?, ?)");
      for (let i = 0; i < FINISHED; i++) {
        const id = `AR-OLD${String(i).padStart(7, '0')}`;
        // The person's own finished requests are among them (every 1000th request is theirs).
        const requester = i % REQUESTERS === 0 ? person : `U0R${String(i % REQUESTERS).padStart(5, '0')}`;
        const at = start + i * 300_000;
        request.run(id, i % 2 ? 'onboard' : 'offboard', requester, at, at);
        item.run(id, 'axure', `U0S${i}`, `subject${i}@example.com`, i % 10 === 0 ? 'failed' : 'completed', 'done', at);
        approval.run(id, 'axure', JSON.stringify([PEOPLE.axureOwner]), 'approved', PEOPLE.axureOwner, at, at);
      }
      // The person's open requests, newest: items waiting for approval, in progress or approved.
      for (let r = 0; r < OPEN_REQUESTS; r++) {
        const id = `AR-OPEN${r}`;
        const at = Date.now() - r * 60_000;
        request.run(id, 'onboard', person, at, at);
        for (let k = 0; k < ITEMS_PER_OPEN; k++) item.run(id, 'axure', `U0N${r}x${k}`, `new${r}x${k}@example.com`, r % 2 ? 'awaiting_approval' : 'in_progress', null, at);
        approval.run(id, 'axure', JSON.stringify([PEOPLE.axureOwner]), r % 2 ? 'pending' : 'approved', r % 2 ? null : PEOPLE.axureOwner, r % 2 ? null : at, at);
      }
    })();
    db.exec('ANALYZE');
    // As a bot that has run a while finds it: the seeding's write-ahead log folded into the database.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const seedMs = performance.now() - seedStarted;

    const config = parseAccessConfig({
      itChannel: IT_CHANNEL, itAdmins: [PEOPLE.admin],
      apps: [{ id: 'axure', name: 'Axure RP', connector: 'manual', approvers: [PEOPLE.axureOwner], assignees: [PEOPLE.it1, PEOPLE.it2] }],
    });
    let published = 0;
    const ctx = {
      db, config, clock: systemClock, log: silentLogger, itAdmins: createItAdmins(config.itAdmins), knownEmails: knownPeopleIn(db),
      slack: { views: { publish: async () => ({ ok: true, published: ++published }) } },
      wake: () => undefined,
    } as unknown as AppContext;

    const status = accessCommand(ctx, tasksCommandText);
    let answered = '';
    const statusArgs = {
      command: { text: 'status', user_id: person, trigger_id: 'none' },
      ack: async (answer: { text: string }) => { answered = answer.text; },
      client: {}, logger: silentLogger,
    } as never;
    const statusLatency = await timeIt(SAMPLES, () => status(statusArgs));
    if (!answered.includes(`Your open requests* (${OPEN_REQUESTS})`) && !answered.includes('Your open requests')) throw new Error(`store bench: /access status did not list the open requests: ${answered.slice(0, 200)}`);
    const homeLatency = await timeIt(SAMPLES, () => publishHome(ctx, person, taskHomeBlocks));
    if (published !== SAMPLES + 50) throw new Error('store bench: the Home tab was not rendered every time');
    return { requests: FINISHED + OPEN_REQUESTS, status: statusLatency, home: homeLatency, seedMs };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
