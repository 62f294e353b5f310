/**
 * One report per person, through the running bot: `/access report` across Autodesk (API) and Axure (a manual
 * task) from open to closed; the report posted to the requester when an offboarding finishes, once, and that
 * same message kept current until every app of the person is closed; the Report button; who may see it; the
 * audit export with `--person`.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { after, before, describe, test } from 'node:test';
import { formatPersonExport } from '../../src/cli/audit-export.js';
import { loadAccessConfig } from '../../src/config.js';
import { Harness, PEOPLE } from '../support/harness.js';
import { cardFor, itemStates, requestAccess } from '../support/flows.js';
import type { SandboxEphemeral, SandboxMessage } from '../../src/sandboxes/slack/server.js';

let h: Harness;
before(async () => {
  h = await Harness.start({ autodesk: { latencyMs: 0 } });
});
after(async () => {
  await h.close();
});

/** Types `/access <text>` and returns what the bot answered to that person only. */
async function command(userId: string, text: string): Promise<SandboxEphemeral> {
  const before = h.slack.ephemerals.length;
  const response = await h.driver.slashCommand(userId, text);
  assert.equal(response.status, 200);
  const reply = h.slack.ephemerals.slice(before).find((e) => e.user === userId);
  assert.ok(reply, `an answer to /access ${text}`);
  return reply;
}

/** The mrkdwn a message shows, every block's text together. */
const shown = (blocks: unknown[]) => JSON.stringify(blocks);

/** The line of one app in a report: its name in bold and what follows, up to the next app. */
function appLine(blocks: unknown[], app: string): string {
  const texts = (blocks as { text?: { text?: string } }[]).map((block) => block.text?.text ?? '').join('\n');
  const start = texts.indexOf(`*${app}*:`);
  assert.ok(start >= 0, `the report has a line for ${app}:\n${texts}`);
  const next = texts.indexOf('\n*', start + 1);
  return texts.slice(start, next < 0 ? undefined : next);
}

const reportsTo = (userId: string) => h.slack.messagesTo(userId).filter((m) => m.text.startsWith('Access report for'));

const done = (id: string) => h.slack.waitFor(() => itemStates(h, id).every((s) => s === 'completed'), { description: `${id} completed`, timeoutMs: 15_000 });

describe('the per-person access report', () => {
  let offboarding = '';

  test('across Autodesk and Axure: open items shown, then closed; posted to the requester once when the offboarding finishes and kept current', async () => {
    h.autodesk.addUser({ email: 'carol@example.com', firstName: 'Carol', status: 'active' });
    const onboarding = await requestAccess(h, PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.carol] });
    offboarding = await requestAccess(h, PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.carol] });

    const first = await command(PEOPLE.admin, `report <@${PEOPLE.carol}|carol>`);
    assert.match(first.text, /Access report for Carol Builder|Access report for Carol/);
    assert.match(appLine(first.blocks, 'Autodesk'), /open[\s\S]*offboarding awaiting approval/);
    assert.match(appLine(first.blocks, 'Axure RP'), /open[\s\S]*onboarding awaiting approval/);
    assert.match(shown(first.blocks), /Still open \(2\)/);

    await h.driver.clickButton(PEOPLE.manager, await cardFor(h, PEOPLE.manager, offboarding), 'Approve');
    await h.driver.clickButton(PEOPLE.owner1, await cardFor(h, PEOPLE.owner1, offboarding), 'Approve');
    await done(offboarding);

    // The offboarding finished while Axure is still open: the requester gets the report, with Axure open.
    const posted = await h.slack.waitFor(() => reportsTo(PEOPLE.requester)[0], { description: 'the report posted to the requester', timeoutMs: 15_000 });
    assert.match(appLine(posted.blocks, 'Autodesk'), /removed[\s\S]*offboarded by the Autodesk connector/);
    assert.match(appLine(posted.blocks, 'Axure RP'), /open/);
    assert.match(posted.text, /1 open/);

    // Axure is granted by hand: the same message is updated, not a second one posted.
    await h.driver.clickButton(PEOPLE.axureOwner, await cardFor(h, PEOPLE.axureOwner, onboarding), 'Approve');
    const task = await h.slack.waitFor(() => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => h.slack.messagesTo(it)).find((m) => shown(m.blocks).includes('Mark done')), {
      description: 'the Axure task', timeoutMs: 15_000,
    });
    const assignee = h.slack.dmUserOf(task.channel)!;
    await h.driver.clickButton(assignee, task, 'Mark done');
    await done(onboarding);
    await h.slack.waitFor(() => posted.text.includes('nothing open'), { description: 'the posted report brought up to date', timeoutMs: 15_000 });
    assert.match(appLine(posted.blocks, 'Axure RP'), new RegExp(`has access[\\s\\S]*onboarded by <@${assignee}>`));
    assert.match(shown(posted.blocks), /Nothing is open/);
    assert.equal(reportsTo(PEOPLE.requester).length, 1, 'one report message, updated in place');
    assert.ok(posted.history.length >= 1, 'the message was updated');

    // The requester asked for Carol's access, so she may read the report too.
    const mine = await command(PEOPLE.requester, 'report carol@example.com');
    assert.match(shown(mine.blocks), /Nothing is open/);
  });

  test('the Report button on the finished offboarding shows the report to the clicker', async () => {
    const status = await h.slack.waitFor(
      () => h.slack.messagesTo(PEOPLE.requester).find((m: SandboxMessage) => m.text.startsWith('Your ') && m.text.includes(offboarding) && shown(m.blocks).includes('"Report"')),
      { description: 'the Report button on the status message' },
    );
    const before = h.slack.ephemerals.length;
    await h.driver.clickButton(PEOPLE.requester, status, 'Report');
    const reply = await h.slack.waitFor(() => h.slack.ephemerals.slice(before).find((e) => e.user === PEOPLE.requester), { description: 'the report, to the clicker' });
    assert.match(reply.text, /Access report for .*carol@example\.com/);
    assert.match(appLine(reply.blocks, 'Autodesk'), /removed/);
  });

  test('someone who neither approves, works on, asked for nor is the person is refused, and shown nothing', async () => {
    const refused = await command(PEOPLE.stranger, `report <@${PEOPLE.carol}|carol>`);
    assert.match(refused.text, /Only the IT admins, the approvers and assignees of an app, the person themself and whoever requested access/);
    assert.equal(refused.blocks.length, 0);
    assert.doesNotMatch(refused.text, /Autodesk|Axure/);
    // Carol herself may.
    assert.match((await command(PEOPLE.carol, 'report carol@example.com')).text, /Access report for/);
  });

  test('an unknown person, a bad e-mail and nothing at all get a readable answer', async () => {
    assert.match((await command(PEOPLE.admin, 'report nobody@example.com')).text, /I know nobody as nobody@example\.com/);
    assert.match((await command(PEOPLE.admin, 'report <mailto:Nobody@Example.com|Nobody@Example.com>')).text, /I know nobody as nobody@example\.com/);
    assert.match((await command(PEOPLE.admin, 'report carol@')).text, /is neither a person nor an e-mail address/);
    assert.match((await command(PEOPLE.admin, 'report')).text, /Whose report\?/);
  });

  test('a name typed into a request is text in the report, never a ping', async () => {
    await requestAccess(h, PEOPLE.requester, {
      kind: 'onboard', apps: ['axure'], new_hire_email: 'eve@example.com', new_hire_first_name: '<!channel>', new_hire_last_name: '<@U0ADMIN>',
    });
    const reply = await command(PEOPLE.admin, 'report eve@example.com');
    assert.match(reply.text, /&lt;!channel&gt;/);
    for (const block of reply.blocks as { type: string; text?: { type: string; text: string } }[]) {
      if (block.text?.type === 'mrkdwn') assert.doesNotMatch(block.text.text, /<!channel>|<@U0ADMIN>/);
    }
  });

  test('npm run audit -- --person lists every app of the config and the audit rows about that person', async () => {
    // In process (the CLI's own work, without a second TypeScript start-up); read-only, as the CLI opens it.
    const db = new Database(h.env.DATABASE_PATH, { readonly: true });
    const stdout = formatPersonExport(db, loadAccessConfig(h.env.ACCESS_CONFIG!), 'Carol@example.com', 0, 'json');
    const csv = formatPersonExport(db, loadAccessConfig(h.env.ACCESS_CONFIG!), 'carol@example.com', 0, 'csv');
    db.close();
    assert.match(csv, /^app,standing,open,lastRequest,lastKind,lastState,lastBy,lastAt\nAutodesk,removed,,AR-\w+,offboard,completed,autodesk connector,/);
    const out = JSON.parse(stdout) as { openApps: number; report: { app: string; standing: string; lastBy: string | null }[]; audit: { subject: string }[] };
    assert.equal(out.openApps, 0);
    assert.deepEqual(out.report.map((row) => [row.app, row.standing]), [['Autodesk', 'removed'], ['Axure RP', 'has_access']]);
    assert.equal(out.report[0]!.lastBy, 'autodesk connector');
    assert.match(out.report[1]!.lastBy ?? '', /^U0IT[12]$/);
    assert.ok(out.audit.length > 0 && out.audit.every((row) => row.subject === 'carol@example.com'));
  });
});
