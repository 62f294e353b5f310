/** What an operator relies on: a clean shutdown mid-job, the audit export, and upgrades that keep data. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Harness, PEOPLE } from '../support/harness.js';
import { cardFor, itemStates, requestAccess } from '../support/flows.js';

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.close();
});

test('SIGTERM while an Autodesk call is in flight: the call finishes, the item completes, nothing is redone after restart', async () => {
  h.autodesk.addUser({ email: 'carol@example.com', firstName: 'Carol', status: 'active' });
  const id = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.carol] });
  await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, id), 'Approve');
  h.autodesk.setLatency(1500);
  await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, id), 'Approve');
  await h.autodesk.waitFor(() => [...h.autodesk.inFlightPaths].some((p) => p.startsWith('PATCH /users/')), { timeoutMs: 15_000 });
  const exitCode = await h.bot.stop('SIGTERM');
  assert.equal(exitCode, 0, 'graceful exit');
  assert.ok(h.bot.lines.some((line) => line.msg === 'shutting down: finishing running jobs'));
  h.autodesk.setLatency(0);
  assert.equal(h.autodesk.userByEmail('carol@example.com')!.status, 'inactive');
  // The PATCH finished; its confirmation is either done or handed back to the queue, never cut in half.
  assert.ok(['completed', 'in_progress'].includes(itemStates(h, id)[0]!));
  await h.startBot();
  await h.slack.waitFor(() => h.slack.messagesTo(PEOPLE.requester).some((m) => m.text.includes(`Request ${id} is done`)));
  assert.deepEqual(itemStates(h, id), ['completed']);
  assert.equal(h.autodesk.countRequests({ method: 'PATCH' }), 1, 'deactivated once');
});

test('the audit export lists who asked, who decided and what was done, as CSV and JSON', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/audit-export.ts', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, DATABASE_PATH: h.env.DATABASE_PATH } });
  const csv = run('--since', '2026-01-01');
  assert.equal(csv.status, 0, csv.stderr);
  const [header, ...rows] = csv.stdout.trim().split('\n');
  assert.equal(header, 'at,actor,action,requestId,requester,kind,appId,subject,fromState,toState,detail');
  assert.ok(rows.some((row) => row.includes(`${PEOPLE.requester},request.submitted`)));
  assert.ok(rows.some((row) => row.includes(`${PEOPLE.owner1},approval.approved`)));
  assert.ok(rows.some((row) => row.includes('autodesk.deactivated')));
  const json = JSON.parse(run('--since', '2026-01-01', '--format', 'json').stdout) as { action: string; subject: string | null }[];
  assert.ok(json.some((record) => record.action === 'item.completed' && record.subject === 'carol@example.com'));
  assert.equal(JSON.parse(run('--since', '2999-01-01', '--format', 'json').stdout).length, 0);
  const bad = run('--since', 'yesterday');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--since needs a date like 2026-01-01/);
});
