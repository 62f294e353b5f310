/** `npm run demo` is the first thing a newcomer runs: it must finish, cleanly, and show the key moments. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('the demo plays onboarding, offboarding, an Axure task, a denial and a failure, then exits 0; --cards prints a Block Kit Builder link per kind of message', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts', '--cards'], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, out.slice(-3000));
  for (const expected of [
    /Mona Manager clicks "Approve"/,
    /Autodesk received POST \/users → 201/,
    /Autodesk received POST \/users\/[\w-]+\/teams → 201/,
    /DM to Ian Tech|DM to Ivy Tech/,
    /Reminder/i,
    /clicks "Mark done"/,
    /Autodesk received PATCH \/users\/[\w-]+ → 200/,
    /denied Axure RP access: "No seats left this quarter"/,
    /onboard Nina New \(Autodesk \+ Axure\)\s+AR-\w+\s+completed, completed/,
    /offboard Bob, Carol, Dave \(Autodesk\)\s+AR-\w+\s+completed, completed, completed/,
    /Bob\.Builder@Example\.com inactive; carol@example\.com inactive; dave@example\.com inactive/,
    /DM to Alice Asker: Access report for Carol Designer \(carol@example\.com\): nothing open/,
    /Autodesk for Dave again\s+AR-\w+\s+failed/,
    /#it-ops: Autodesk could not finish request AR-\w+: 1 failed\s+\[Retry 1 failed\]/,
    /DM to Carol Designer: :hourglass: Your Axure RP access ends on \d{4}-\d{2}-\d{2}[\s\S]*\[Ask for an extension\]/,
    /Axure RP for Carol until \d{4}-\d{2}-\d{2}\s+AR-\w+\s+completed/,
  ]) {
    assert.match(out, expected);
  }
  // --cards: a Block Kit Builder link for each kind of message the demo sent, each decoding to blocks.
  const links = new Map([...out.matchAll(/^(.+):\n {2}(https:\/\/app\.slack\.com\/block-kit-builder\/#\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  assert.deepEqual([...links.keys()], ['approval card', "the requester's status", 'a task', 'a failure alert', 'the per-person report', 'Home']);
  for (const [kind, url] of links) {
    assert.ok(url.length <= 8000, `${kind}: ${url.length} characters`);
    const payload = JSON.parse(decodeURIComponent(url.slice(url.indexOf('#') + 1))) as { type?: string; blocks: unknown[] };
    assert.ok(payload.blocks.length > 0, kind);
    assert.equal(payload.type, kind === 'Home' ? 'home' : undefined);
  }
});
