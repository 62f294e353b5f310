/** The per-person report stays within Slack's limits however many apps and requests a person has. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppReportRow, PersonReport, ReportEntry } from '../../src/requests/person-report.js';
import { personReportMessage } from '../../src/slack/blocks/person-report.js';

const entry = (i: number): ReportEntry => ({
  requestId: `AR-${String(i).padStart(10, '0')}`, kind: i % 2 ? 'onboard' : 'offboard', state: 'completed', detail: `done by <@U0IT1>: ${'a note '.repeat(40)}`,
  requesterId: 'U0ALICE', requestedAt: 0, lastActor: 'U0IT1', lastAt: 1_700_000_000_000,
});

function report(apps: number, entriesPerApp: number): PersonReport {
  const rows: AppReportRow[] = Array.from({ length: apps }, (_, a) => {
    const entries = Array.from({ length: entriesPerApp }, (_, i) => entry(i));
    return { appId: `app${a}`, appName: `App number ${a}`, connector: 'manual', actorName: 'a manual task', standing: 'has_access', open: [], entries };
  });
  return { person: { slackId: 'U0CAROL', email: 'carol@example.com', name: 'Carol' }, generatedAt: 1_700_000_000_000, apps: rows, retiredApps: [], openApps: 0 };
}

test('200 apps with 10 requests each: at most 50 blocks, no section over 3000 characters, and what is left out is counted', () => {
  const { blocks } = personReportMessage(report(200, 10));
  assert.ok(blocks.length <= 50, `${blocks.length} blocks`);
  const texts = (blocks as { text?: { text: string } }[]).map((block) => block.text?.text ?? '');
  for (const text of texts) assert.ok(text.length <= 3000, `a section of ${text.length} characters`);
  const all = texts.join('\n');
  assert.match(all, /…and 6 earlier/, 'older requests of an app are counted');
  const more = /…and (\d+) more/.exec(all);
  assert.ok(more, 'apps left out are counted');
  const shownApps = all.match(/\*App number \d+\*/g)!.length;
  assert.equal(shownApps + Number(more[1]), 200, 'every app is shown or counted');
  assert.ok(shownApps >= 20, `${shownApps} apps shown`);
});

test('60 short apps all fit; past 60 they are counted', () => {
  const short = (apps: number) => {
    const r = report(apps, 1);
    for (const row of r.apps) row.entries = row.entries.map((e) => ({ ...e, detail: null }));
    return JSON.stringify(personReportMessage(r).blocks);
  };
  assert.doesNotMatch(short(60), /more/);
  assert.match(short(61), /…and 1 more/);
});

test('a small report shows every app whole', () => {
  const { blocks, text } = personReportMessage(report(2, 1));
  const all = JSON.stringify(blocks);
  assert.match(all, /App number 0\*: 🟢 has access/);
  assert.match(all, /onboarded by <@U0IT1>|offboarded by <@U0IT1>/);
  assert.doesNotMatch(all, /more|earlier/);
  assert.match(text, /Access report for Carol \(carol@example\.com\): nothing open/);
});
