/** `npm run demo` is the first thing a newcomer runs: it must finish, cleanly, and show the key moments. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('the demo plays onboarding, offboarding, an Axure task, a denial, a failure finished by hand, an expiring access, a leaver and a report, then exits 0; --cards prints a Block Kit Builder link per kind of message', async () => {
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
    /#it-ops: Autodesk could not finish request AR-\w+: 1 failed\s+\[Retry 1 failed\] \[Do it by hand\]/,
    // Scene 4: what the API cannot do, finished by hand.
    /Adam Admin clicks "Do it by hand"/,
    /DM to Adam Admin: Task #\d+: Onboard @Dave Drafter to Autodesk\s+\[Mark done\]/,
    /Adam Admin clicks "Mark done"/,
    /status of AR-\w+ now says: Dave, Autodesk: finished by hand by @Adam Admin/,
    /Autodesk for Dave again, by hand\s+AR-\w+\s+completed/,
    /DM to Carol Designer: :hourglass: Your Axure RP access ends on \d{4}-\d{2}-\d{2}[\s\S]*\[Ask for an extension\]/,
    /Axure RP for Carol until \d{4}-\d{2}-\d{2}\s+AR-\w+\s+completed/,
    // Scene 6: a leaver noticed, filed with an IT admin as requester, approved, carried out; IT gets the report.
    /A Slack admin deactivates Nina New; Slack sends the user_change event/,
    /#it-ops: \S+ @Nina New \(Nina\.New@example\.com\) was deactivated in Slack: offboarding AR-\w+ filed for Autodesk, Axure RP/,
    /DM to Mona Manager: Offboarding request AR-\w+ from @Adam Admin needs a decision/,
    /leaver Nina New \(Autodesk \+ Axure\)\s+AR-\w+\s+completed, completed/,
    /DM to Adam Admin: Access report for Nina New \(nina\.new@example\.com\): nothing open/,
    /Autodesk now: Nina\.New@example\.com inactive/,
    // Scene 7: /access report, answered to the asker alone, says what was done by hand and by whom.
    /only Alice Asker sees: Access report for Dave Drafter \(dave@example\.com\)/,
    /onboarded by @Adam Admin [^\n]* — finished by hand by @Adam Admin\n/,
  ]) {
    assert.match(out, expected);
  }
  // --cards: a Block Kit Builder link for each kind of message the demo sent, each decoding to blocks.
  const links = new Map([...out.matchAll(/^(.+):\n {2}(https:\/\/app\.slack\.com\/block-kit-builder\/#\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  assert.deepEqual([...links.keys()], ['approval card', "a leaver's approval card", "the requester's status", 'a task', 'a by-hand task', 'a failure alert', 'the per-person report', 'Home']);
  for (const [kind, url] of links) {
    assert.ok(url.length <= 8000, `${kind}: ${url.length} characters`);
    const payload = JSON.parse(decodeURIComponent(url.slice(url.indexOf('#') + 1))) as { type?: string; blocks: unknown[] };
    assert.ok(payload.blocks.length > 0, kind);
    assert.equal(payload.type, kind === 'Home' ? 'home' : undefined);
  }
});
