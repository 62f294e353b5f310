/**
 * Adding an app kind is one folder and one line in a plugin list: a "log" plugin that lives only in the tests is
 * handed to the same wiring function `npm start` uses, an app names it in access.config.json, and a request for
 * it goes from `/access` through approval to completed in the running bot, over Slack's real wire format.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildBot, type RunningBot } from '../../src/app.js';
import { ConfigError, configFor, parseAccessConfig } from '../../src/config.js';
import { shippedPlugins } from '../../src/connectors/plugins.js';
import { SlackDriver } from '../../src/sandboxes/slack/driver.js';
import { startSlackSandbox, type SlackSandbox } from '../../src/sandboxes/slack/server.js';
import { silentLogger } from '../../src/util/log.js';
import { freePort, PEOPLE, SIGNING_SECRET, USERS, IT_CHANNEL } from '../support/harness.js';
import { logPlugin } from '../support/log-connector/index.js';

const plugins = [...shippedPlugins(), logPlugin()] as const;
const log = plugins[2];

const rawConfig = {
  itChannel: IT_CHANNEL,
  itAdmins: [PEOPLE.admin],
  apps: [{ id: 'notes', name: 'Notes', connector: 'log', label: 'the notebook', shelves: ['left', 'right'], approvers: [PEOPLE.manager] }],
};

let dir: string;
let slack: SlackSandbox;
let bot: RunningBot;
let driver: SlackDriver;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accessbot-log-plugin-'));
  slack = await startSlackSandbox({ users: USERS });
  const port = await freePort();
  const settings = configFor(parseAccessConfig(rawConfig, 'access.config.json', plugins), {
    SLACK_BOT_TOKEN: slack.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.apiUrl, DATABASE_PATH: join(dir, 'bot.db'), PORT: String(port),
    LOGBOOK_TITLE: 'the ledger',
  });
  bot = buildBot(settings, silentLogger, { plugins, runner: { pollMs: 25 } });
  await bot.start();
  driver = new SlackDriver({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, sandbox: slack });
});

after(async () => {
  await bot?.stop();
  await slack?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an app of a plugin passed to the wiring is requested, approved and granted through the running bot', async () => {
  await driver.slashCommand(PEOPLE.requester, '');
  const modal = await slack.waitFor(() => slack.openViewOf(PEOPLE.requester, 'access_request'), { description: 'request modal opened' });
  // The plugin's own fields are in the form, their choices from its app's config, with no change to the core.
  const blocks = modal.view.blocks as { block_id?: string; label?: { text: string }; element?: { options?: { value: string }[] } }[];
  const shelf = blocks.find((block) => block.block_id === 'log_shelf');
  assert.ok(shelf, 'the log plugin\'s shelf field is in the form');
  assert.equal(shelf.label?.text, 'Notes shelf');
  assert.deepEqual(shelf.element?.options?.map((option) => option.value), ['left', 'right']);
  assert.ok(blocks.some((block) => block.block_id === 'log_note'), 'the log plugin\'s note field is in the form');
  assert.ok(!blocks.some((block) => block.block_id === 'autodesk_role'), 'no Autodesk field without an Autodesk app');

  const submitted = await driver.submitView(PEOPLE.requester, modal, {
    kind: 'onboard', subjects: [PEOPLE.carol], apps: ['notes'], log_shelf: 'right', log_note: 'Carol <b>&', justification: 'Keeps the design notes',
  });
  assert.equal(submitted.outcome, 'closed', submitted.body);
  const card = await slack.waitFor(() => slack.messagesTo(PEOPLE.manager).find((m) => m.text.includes('needs a decision')), { description: 'approval card to the manager' });
  // The plugin's card line, its values escaped like any user text.
  assert.match(JSON.stringify(card.blocks), /\*Notes goes on shelf\* right · Carol &lt;b&gt;&amp;/);
  assert.equal(log.entries.length, 0, 'nothing is granted before approval');

  await driver.clickButton(PEOPLE.manager, card, 'Approve');
  await slack.waitFor(() => log.entries.length > 0, { description: 'the log connector told to grant' });
  assert.deepEqual(log.entries.map(({ appId, action, email, options }) => ({ appId, action, email, options })), [
    { appId: 'notes', action: 'grant', email: 'carol@example.com', options: { shelf: 'right', note: 'Carol <b>&' } },
  ]);
  const requestId = log.entries[0]!.requestId;
  // The plugin's own config key and environment variable reached its connector, and its detail reached the requester.
  await slack.waitFor(() => slack.messagesTo(PEOPLE.requester).some((m) => m.text.includes(requestId) && JSON.stringify(m.blocks ?? m.text).includes('written in the notebook, kept in the ledger')), {
    description: "the requester's DM shows the log connector's detail",
  });
  const state = bot.db.prepare('SELECT state FROM items WHERE request_id = ?').get(requestId) as { state: string };
  assert.equal(state.state, 'completed');
});

test("the plugin's housekeeping runs with the core's, after the config's retention", async () => {
  await slack.waitFor(() => log.housekeeping.runs.length > 0, { description: 'the log plugin pruned with the core' });
  assert.equal(log.housekeeping.runs[0], 7 * 86_400_000, 'jobs.retention, 7 days by default');
});

test('the shipped bot does not know the test plugin: the app is refused at start-up, naming its JSON path', () => {
  assert.throws(() => parseAccessConfig(rawConfig), (error: unknown) =>
    error instanceof ConfigError && error.problems.some((problem) => /^apps\[0\]\.connector: must be "autodesk" or "manual"/.test(problem)));
});

test("the config's app union is built from the plugins it is given: their own keys are checked, their kinds named", () => {
  const withLog = (app: Record<string, unknown>) => ({ ...rawConfig, apps: [{ ...rawConfig.apps[0], ...app }] });
  assert.throws(() => parseAccessConfig(withLog({ label: '' }), 'access.config.json', plugins), (error: unknown) =>
    error instanceof ConfigError && error.problems.some((problem) => problem.startsWith('apps[0].label:')));
  assert.throws(() => parseAccessConfig(withLog({ connector: 'nope' }), 'access.config.json', plugins), (error: unknown) =>
    error instanceof ConfigError && error.problems.includes('apps[0].connector: must be "autodesk", "manual" or "log"'));
});
