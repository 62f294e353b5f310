/**
 * `npm run demo`: the whole product on loopback with no Slack workspace and no Autodesk account. Starts the real
 * bot process, the Slack and Autodesk sandboxes and a fresh SQLite file, plays seven stories through signed
 * requests exactly as Slack sends them, prints what each person saw, and cleans up. `--keep` leaves it running;
 * `--cards` ends with a Block Kit Builder link for each kind of message the bot sent (src/demo/cards.ts).
 */
import { createInterface } from 'node:readline';
import { baseConfig, Harness as Stack, PEOPLE, USERS, IT_CHANNEL, APPROVALS_CHANNEL } from '../sandboxes/stack.js';
import type { SandboxMessage } from '../sandboxes/slack/server.js';
import { cardLink, cardsFromCalls, formatCardLinks } from './cards.js';
import { Transcript } from './transcript.js';
import { addDaysToDate, dateInZone } from '../util/time.js';

const keep = process.argv.includes('--keep');
const cards = process.argv.includes('--cards');
/** The new hire of scene 1: IT made her Slack account before her first day, so the form stores her as that person. */
const NINA = { id: 'U0NINA', name: 'nina', realName: 'Nina New', firstName: 'Nina', lastName: 'New', email: 'nina.new@example.com' };
const names = new Map<string, string>([...USERS.map((u) => [u.id, u.realName ?? u.name] as [string, string]), [NINA.id, NINA.realName], [IT_CHANNEL, '#it-ops'], [APPROVALS_CHANNEL, '#access-approvals']]);

/** Who deactivates a Slack account: a workspace admin, in Slack, not in accessbot. */
const SLACK_ADMIN = 'A Slack admin';

function demoConfig() {
  const config = baseConfig();
  config.jobs = { retryBase: '500ms', retryMax: '5s', maxAttempts: 5 };
  config.apps[1].reminderEvery = '3s';
  config.leaverDetection = true;
  return config;
}

async function main(): Promise<number> {
  process.stdout.write('Starting the Slack sandbox, the Autodesk sandbox and the bot (fresh database)…\n');
  const stack = await Stack.start({ config: demoConfig(), users: [NINA] });
  const t = new Transcript(stack.slack, stack.autodesk, names);
  const outcomes: { story: string; request: string; result: string }[] = [];
  const { slack, driver, autodesk } = stack;

  const click = async (who: string, message: SandboxMessage, button: string) => {
    t.action(who, `clicks "${button}"`);
    await driver.clickButton(who, message, button);
  };
  const card = (who: string, requestId: string) =>
    slack.waitFor(() => slack.messagesTo(who).find((m) => m.text.includes(requestId) && m.text.includes('needs a decision')), { description: `card for ${requestId}`, timeoutMs: 15_000 });
  const request = async (who: string, values: Record<string, string | string[]>, describe: string) => {
    t.action(who, `types /access and asks: ${describe}`);
    await driver.slashCommand(who, '');
    const modal = await slack.waitFor(() => slack.openViewOf(who, 'access_request'));
    await driver.submitView(who, modal, values);
    const row = await slack.waitFor(() => stack.query<{ id: string }>('SELECT id FROM requests ORDER BY created_at DESC, rowid DESC LIMIT 1')[0]);
    return row.id;
  };
  const states = (id: string) => stack.query<{ state: string }>('SELECT state FROM items WHERE request_id = ?', id).map((r) => r.state);
  const settled = (id: string) => slack.waitFor(() => states(id).every((s) => ['completed', 'failed', 'denied'].includes(s)) && states(id), { description: `request ${id} finished`, timeoutMs: 20_000 });

  try {
    t.scene('1. Onboarding a new hire to Autodesk and Axure RP (two-step approval for Autodesk)');
    const onboarding = await request(PEOPLE.requester, {
      kind: 'onboard', apps: ['autodesk', 'axure'], new_hire_email: 'Nina.New@example.com', new_hire_first_name: 'Nina', new_hire_last_name: 'New',
      autodesk_role: 'user', autodesk_teams: ['team-789'], justification: 'Nina joins the design team on Monday',
    }, 'onboard new hire Nina New to Autodesk (Design Team) and Axure RP');
    await click(PEOPLE.manager, await card(PEOPLE.manager, onboarding), 'Approve');
    await click(PEOPLE.owner1, await card(PEOPLE.owner1, onboarding), 'Approve');
    await click(PEOPLE.axureOwner, await card(PEOPLE.axureOwner, onboarding), 'Approve');
    const invited = await autodesk.waitFor(() => autodesk.userByEmail('nina.new@example.com'), { timeoutMs: 15_000 });
    t.print(`           (Autodesk: ${invited.email} is ${invited.status}; Nina now accepts the e-mail invitation)`);
    autodesk.accept(invited.id);
    await autodesk.waitFor(() => autodesk.userByEmail('nina.new@example.com')!.teams.length > 0, { timeoutMs: 15_000 });
    const task = await slack.waitFor(() => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => slack.messagesTo(it)).find((m) => JSON.stringify(m.blocks).includes('Mark done') && m.text.includes(NINA.id)), { description: 'Axure task DM', timeoutMs: 15_000 });
    const assignee = slack.dmUserOf(task.channel)!;
    await slack.waitFor(() => slack.messagesTo(assignee).find((m) => m !== task && /remind/i.test(m.text)), { description: 'a reminder', timeoutMs: 15_000 });
    await click(assignee, task, 'Mark done');
    outcomes.push({ story: 'onboard Nina New (Autodesk + Axure)', request: onboarding, result: (await settled(onboarding)).join(', ') });

    t.scene('2. Offboarding three people from Autodesk');
    for (const [email, first] of [['Bob.Builder@Example.com', 'Bob'], ['carol@example.com', 'Carol'], ['dave@example.com', 'Dave']] as const) {
      autodesk.addUser({ email, firstName: first, status: 'active' });
    }
    const offboarding = await request(PEOPLE.requester, { kind: 'offboard', apps: ['autodesk'], subjects: [PEOPLE.bob, PEOPLE.carol, PEOPLE.dave], justification: 'Contract ended' }, 'offboard Bob, Carol and Dave from Autodesk');
    // The card is posted at once; it then fills in what approving will do, read from Autodesk in one listing.
    const offboardingCard = await card(PEOPLE.manager, offboarding);
    const preview = await slack.waitFor(() => offboardingCard.blocks.map((block) => String(block.text?.text ?? '')).find((text) => text.startsWith('*What approving will do* (read')), { description: 'the preview on the card', timeoutMs: 15_000 });
    t.print('           (the card now previews what approving will do:)');
    for (const line of preview.split('\n').slice(1)) {
      t.print(`             ${line.replace(/<@(\w+)>/g, (_, id: string) => `@${t.name(id)}`).replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1').replace(/`/g, '')}`);
    }
    await click(PEOPLE.manager, offboardingCard, 'Approve');
    await click(PEOPLE.owner2, await card(PEOPLE.owner2, offboarding), 'Approve');
    outcomes.push({ story: 'offboard Bob, Carol, Dave (Autodesk)', request: offboarding, result: (await settled(offboarding)).join(', ') });

    t.scene('3. A request that is denied');
    const denied = await request(PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.stranger], justification: 'Sam wants to try Axure' }, 'Axure RP for Sam');
    await click(PEOPLE.axureOwner, await card(PEOPLE.axureOwner, denied), 'Deny');
    const modal = await slack.waitFor(() => slack.openViewOf(PEOPLE.axureOwner, 'deny_reason'));
    t.action(PEOPLE.axureOwner, 'writes the reason "No seats left this quarter" and submits');
    await driver.submitView(PEOPLE.axureOwner, modal, { reason: 'No seats left this quarter' });
    outcomes.push({ story: 'Axure RP for Sam', request: denied, result: (await settled(denied)).join(', ') });
    await slack.waitFor(() => slack.messagesTo(PEOPLE.requester).some((m) => m.text.includes('No seats left')));

    t.scene('4. What the API cannot do: Dave, deactivated in scene 2, is asked back to Autodesk');
    const comeback = await request(PEOPLE.requester, { kind: 'onboard', apps: ['autodesk'], subjects: [PEOPLE.dave], autodesk_role: 'user', justification: 'Dave is back for a month' }, 'Autodesk for Dave again');
    await click(PEOPLE.manager, await card(PEOPLE.manager, comeback), 'Approve');
    await click(PEOPLE.owner1, await card(PEOPLE.owner1, comeback), 'Approve');
    await settled(comeback);
    const alert = await slack.waitFor(() => slack.messagesTo(IT_CHANNEL).find((m) => m.text.includes(`could not finish request ${comeback}`) && JSON.stringify(m.blocks).includes('Do it by hand')), { description: 'the failure alert', timeoutMs: 15_000 });
    // What the API cannot do, an IT admin can: the failed item becomes a task saying what the connector tried.
    await click(PEOPLE.admin, alert, 'Do it by hand');
    const byHandTask = await slack.waitFor(() => slack.messagesTo(PEOPLE.admin).find((m) => m.text.startsWith('Task #') && JSON.stringify(m.blocks).includes(comeback) && JSON.stringify(m.blocks).includes('Mark done')), { description: 'the by-hand task', timeoutMs: 15_000 });
    await click(PEOPLE.admin, byHandTask, 'Mark done');
    outcomes.push({ story: 'Autodesk for Dave again, by hand', request: comeback, result: (await settled(comeback)).join(', ') });
    const finished = await slack.waitFor(() => slack.messagesTo(PEOPLE.requester).map((m) => JSON.stringify(m.blocks)).find((b) => b.includes(comeback) && b.includes('finished by hand by')), { description: 'the status says who finished it', timeoutMs: 15_000 });
    t.print(`           (Alice's status of ${comeback} now says: Dave, Autodesk: ${t.readable(/finished by hand by <@\w+>/.exec(finished)![0])})`);

    t.scene('5. Access that ends by itself: Axure RP for Carol until the day after tomorrow');
    const endDate = addDaysToDate(dateInZone(Date.now(), 'UTC'), 2);
    const expiring = await request(PEOPLE.requester, { kind: 'onboard', apps: ['axure'], subjects: [PEOPLE.carol], end_date: endDate, justification: 'Carol reviews the prototype this week' }, `Axure RP for Carol until ${endDate}`);
    await click(PEOPLE.axureOwner, await card(PEOPLE.axureOwner, expiring), 'Approve');
    const carolTask = await slack.waitFor(() => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => slack.messagesTo(it)).find((m) => JSON.stringify(m.blocks).includes('Mark done') && m.text.includes(PEOPLE.carol)), { description: "Carol's Axure task", timeoutMs: 15_000 });
    await click(slack.dmUserOf(carolTask.channel)!, carolTask, 'Mark done');
    outcomes.push({ story: `Axure RP for Carol until ${endDate}`, request: expiring, result: (await settled(expiring)).join(', ') });
    // Less than accessEndingWarning (3 days) is left, so both are told at once.
    await slack.waitFor(() => slack.messagesTo(PEOPLE.carol).some((m) => m.text.includes(`ends on ${endDate}`)), { description: 'the access-ending warning', timeoutMs: 15_000 });
    t.print(`           (on ${endDate} at 00:00 the bot files Carol's Axure offboarding itself, pre-approved by ${expiring}'s approval)`);

    t.scene('6. A leaver noticed: Nina, onboarded in scene 1, is deactivated in Slack');
    t.print('           (leaverDetection is on in this config: nobody has to remember to ask)');
    t.action(SLACK_ADMIN, 'deactivates Nina New; Slack sends the user_change event');
    await driver.deactivateUser(NINA.id);
    const leaver = await slack.waitFor(() => stack.query<{ id: string }>("SELECT id FROM requests WHERE kind = 'offboard' AND requester_id = ?", PEOPLE.admin)[0]?.id, { description: "Nina's offboarding filed", timeoutMs: 15_000 });
    await click(PEOPLE.manager, await card(PEOPLE.manager, leaver), 'Approve');
    await click(PEOPLE.owner2, await card(PEOPLE.owner2, leaver), 'Approve');
    await click(PEOPLE.axureOwner, await card(PEOPLE.axureOwner, leaver), 'Approve');
    const ninaTask = await slack.waitFor(() => [PEOPLE.it1, PEOPLE.it2].flatMap((it) => slack.messagesTo(it)).find((m) => m.text.startsWith('Task #') && JSON.stringify(m.blocks).includes(leaver) && JSON.stringify(m.blocks).includes('Mark done')), { description: "Nina's Axure offboarding task", timeoutMs: 15_000 });
    await click(slack.dmUserOf(ninaTask.channel)!, ninaTask, 'Mark done');
    outcomes.push({ story: 'leaver Nina New (Autodesk + Axure)', request: leaver, result: (await settled(leaver)).join(', ') });
    // The offboarding's requester of record is the IT admin, so Nina's report, every app closed, goes to IT.
    await slack.waitFor(() => slack.messagesTo(PEOPLE.admin).some((m) => m.text.startsWith('Access report for Nina New') && m.text.includes('nothing open')), { description: "Nina's report to IT", timeoutMs: 15_000 });

    t.scene('7. One report per person: Alice asks what was done for Dave');
    t.action(PEOPLE.requester, 'types /access report dave@example.com');
    const seen = slack.ephemerals.length;
    await driver.slashCommand(PEOPLE.requester, 'report dave@example.com');
    const report = await slack.waitFor(() => slack.ephemerals.slice(seen).find((e) => e.user === PEOPLE.requester && e.text.startsWith('Access report for')), { description: "Dave's report", timeoutMs: 15_000 });
    for (const block of report.blocks) {
      if (block.type !== 'section' || typeof block.text?.text !== 'string') continue;
      for (const line of block.text.text.split('\n')) t.print(`             ${t.readable(line)}`);
    }
    t.close();

    const users = autodesk.users();
    process.stdout.write('\n━━ Summary ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━\n');
    process.stdout.write(`${'story'.padEnd(40)} ${'request'.padEnd(13)} items\n`);
    for (const o of outcomes) process.stdout.write(`${o.story.padEnd(40)} ${o.request.padEnd(13)} ${o.result}\n`);
    process.stdout.write(`\nAutodesk now: ${users.map((u) => `${u.email} ${u.status}${u.teams.length ? ` (${u.teams.map((x) => x.name).join(', ')})` : ''}`).join('; ')}\n`);
    if (cards) process.stdout.write(formatCardLinks(cardsFromCalls(slack.calls).map(({ kind, payload }) => cardLink(kind, payload))));
    process.stdout.write(`Slack: ${slack.calls.filter((c) => c.method === 'chat.postMessage').length} messages posted, ${slack.calls.filter((c) => c.method === 'chat.update').length} updated. Autodesk: ${autodesk.requests.length} API calls, ${autodesk.webhookDeliveries.length} webhooks.\n`);

    if (keep) {
      process.stdout.write(`\nStill running (--keep). Bot: ${stack.botUrl}  Slack API sandbox: ${slack.apiUrl}  Autodesk sandbox: ${autodesk.baseUrl}\n`);
      process.stdout.write('Type a line to act as someone, e.g.\n  U0ALICE /access status\n  U0MANAGER click Approve\nPeople: ' + USERS.map((u) => `${u.id} (${u.realName})`).join(', ') + '\nCtrl-D or Ctrl-C stops everything.\n');
      const live = new Transcript(slack, autodesk, names, { fromNow: true });
      // Ctrl-C ends the line loop like Ctrl-D, so the stack below is closed and no bot process is left behind.
      const lines = createInterface({ input: process.stdin });
      process.once('SIGINT', () => lines.close());
      for await (const line of lines) {
        const [user, verb, ...rest] = line.trim().split(/\s+/);
        try {
          if (user && verb === '/access') await driver.slashCommand(user, rest.join(' '));
          else if (user && verb === 'click') {
            const text = rest.join(' ');
            const message = [...slack.messagesTo(user)].reverse().find((m) => JSON.stringify(m.blocks).includes(`"text":"${text}`));
            if (!message) process.stdout.write(`  no message of ${user} has a "${text}" button\n`);
            else await driver.clickButton(user, message, text);
          } else if (line.trim()) process.stdout.write('  say "<USER> /access <text>" or "<USER> click <button>"\n');
        } catch (error) {
          process.stdout.write(`  ${(error as Error).message}\n`);
        }
      }
      live.close();
    }
    return 0;
  } catch (error) {
    t.close();
    process.stderr.write(`\nThe demo stopped: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await stack.close();
  }
}

const code = await main();
process.exit(code);
