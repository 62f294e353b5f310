/** `npm run demo` is the first thing a newcomer runs: it must finish, cleanly, and show the key moments. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('the demo plays onboarding, offboarding, an Axure task and a denial, then exits 0', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/main.ts'], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  ]) {
    assert.match(out, expected);
  }
});
