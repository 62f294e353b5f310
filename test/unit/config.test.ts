/** Start-up configuration: every mistake named by its JSON path or variable, in one go. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, configFor, envSchema, envSchemaFor, parseAccessConfig, parseEnv, personEntriesOf, settingsOf } from '../../src/config.js';
import { autodeskPlugin } from '../../src/connectors/autodesk/plugin.js';
import { shippedPlugins } from '../../src/connectors/plugins.js';
import { pluginEnv } from '../../src/connectors/types.js';
import { z } from 'zod';
import { baseConfig, IT_CHANNEL, PEOPLE } from '../support/harness.js';
import { logPlugin } from '../support/log-connector/index.js';

test('a config with three mistakes reports all three by JSON path', () => {
  const config = baseConfig();
  config.itChannel = 'ops';
  config.apps[0].connector = 'autodsk';
  config.apps[1].reminderEvery = 'every 4 hours';
  try {
    parseAccessConfig(config);
    assert.fail('should have thrown');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems, [
      'itChannel: must be a Slack channel id like "C0123ABC"',
      'apps[0].connector: must be "autodesk" or "manual"',
      'apps[1].reminderEvery: must be a duration like "30s", "15m", "4h" or "2d"',
    ]);
  }
});

test('unknown keys are errors, not silently ignored; approvers are required', () => {
  const config = baseConfig();
  config.apps[1].reminderEvry = '4h';
  delete config.apps[1].approvers;
  assert.throws(() => parseAccessConfig(config), (error: ConfigError) => {
    assert.deepEqual(error.problems.sort(), ['apps[1].approvers: needs "approvers" or "approvalSteps"', 'apps[1].reminderEvry: unknown key']);
    return true;
  });
});

test('environment: missing token and signing secret are both named', () => {
  assert.throws(() => parseEnv({}), (error: ConfigError) => {
    assert.deepEqual(error.problems, [
      'SLACK_BOT_TOKEN is required (the xoxb- bot token of your Slack app)',
      'SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)',
    ]);
    return true;
  });
  assert.equal(parseEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).PORT, 3000, 'Socket Mode needs no signing secret');
});

test('npm start with a bad config prints one clear line per problem and exits 1, without a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-config-'));
  const path = join(dir, 'access.config.json');
  writeFileSync(path, JSON.stringify({ ...baseConfig(), timezone: 'Mars/Olympus' }));
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ACCESS_CONFIG: path, AUTODESK_CLIENT_ID: 'a', AUTODESK_CLIENT_SECRET: 'b', DATABASE_PATH: join(dir, 'db.sqlite') },
    encoding: 'utf8',
  });
  assert.equal(result.status, 1);
  assert.equal(result.stderr.trim(), `accessbot cannot start: ${path}: 1 problem: timezone: must be an IANA timezone like "Europe/Paris"`);
  const missing = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { PATH: process.env.PATH, SLACK_SIGNING_SECRET: 's' }, encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^accessbot cannot start: environment: 1 problem: SLACK_BOT_TOKEN /);
  assert.doesNotMatch(missing.stderr, /at .*\.ts:\d+/);
});

test('npm start builds the current source before running it, and answers a bad config with the same one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-start-'));
  const path = join(dir, 'access.config.json');
  writeFileSync(path, JSON.stringify({ ...baseConfig(), timezone: 'Mars/Olympus' }));
  // npm start runs a bundle on plain node (no TypeScript loader: less memory, faster acks); a stale bundle would
  // run yesterday's code, so start-up rebuilds it every time.
  rmSync('dist/main.mjs', { force: true });
  const result = spawnSync('npm', ['start', '--silent'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ACCESS_CONFIG: path, AUTODESK_CLIENT_ID: 'a', AUTODESK_CLIENT_SECRET: 'b', DATABASE_PATH: join(dir, 'db.sqlite') },
    encoding: 'utf8',
  });
  assert.equal(result.status, 1, result.stderr);
  assert.equal(result.stderr.trim(), `accessbot cannot start: ${path}: 1 problem: timezone: must be an IANA timezone like "Europe/Paris"`);
  assert.ok(existsSync('dist/main.mjs'), 'the bundle was built by npm start');
});

test('the shipped example config is valid and the published JSON Schema matches the validator', async () => {
  const { readFileSync } = await import('node:fs');
  const { configSchemaText, SCHEMA_FILE } = await import('../../src/cli/write-config-schema.js');
  parseAccessConfig(JSON.parse(readFileSync('access.config.example.json', 'utf8')));
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), configSchemaText(), 'run `npm run schema` after changing the config validator');
});

test("the README's environment and config reference is the one generated from the schemas", async () => {
  const { readFileSync } = await import('node:fs');
  const { withReference } = await import('../../src/cli/config-reference.js');
  const readme = readFileSync('README.md', 'utf8');
  assert.equal(readme, withReference(readme), 'run `npm run schema` after changing the config or env schema');
});

test('start-up names missing Autodesk credentials and a malformed port, each in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-env-'));
  const path = join(dir, 'access.config.json');
  writeFileSync(path, JSON.stringify(baseConfig()));
  const start = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { PATH: process.env.PATH, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ACCESS_CONFIG: path, DATABASE_PATH: join(dir, 'db.sqlite'), ...env }, encoding: 'utf8' });
  const noCredentials = start({});
  assert.equal(noCredentials.status, 1);
  assert.equal(noCredentials.stderr.trim(), 'accessbot cannot start: environment: 1 problem: AUTODESK_CLIENT_ID and AUTODESK_CLIENT_SECRET are required because an app uses the autodesk connector');
  const badPort = start({ AUTODESK_CLIENT_ID: 'a', AUTODESK_CLIENT_SECRET: 'b', PORT: 'eighty' });
  assert.equal(badPort.status, 1);
  assert.match(badPort.stderr, /^accessbot cannot start: environment: 1 problem: PORT /);
  const noFile = start({ AUTODESK_CLIENT_ID: 'a', AUTODESK_CLIENT_SECRET: 'b', ACCESS_CONFIG: join(dir, 'missing.json') });
  assert.match(noFile.stderr, /missing\.json: 1 problem: file not found/);
});

test('a remote Slack or Autodesk URL over plain http stops start-up naming the variable; loopback http is allowed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-https-'));
  const path = join(dir, 'access.config.json');
  writeFileSync(path, JSON.stringify(baseConfig()));
  const base = { PATH: process.env.PATH, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ACCESS_CONFIG: path, DATABASE_PATH: join(dir, 'db.sqlite'), AUTODESK_CLIENT_ID: 'a', AUTODESK_CLIENT_SECRET: 'b' };
  const started = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...base, AUTODESK_TOKEN_URL: 'http://auth.example.com/token' }, encoding: 'utf8' });
  assert.equal(started.status, 1);
  assert.equal(
    started.stderr.trim(),
    'accessbot cannot start: environment: 1 problem: AUTODESK_TOKEN_URL must be an https:// URL (http is allowed only on loopback: 127.0.0.0/8, localhost, [::1])',
  );

  const env = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
  for (const name of ['SLACK_API_URL', 'AUTODESK_BASE_URL', 'AUTODESK_TOKEN_URL']) {
    for (const remote of ['http://slack.example.com/api/', 'http://10.0.0.5:4010/', 'http://127.0.0.1.evil.example/', 'http://[::2]/']) {
      assert.throws(() => parseEnv({ ...env, [name]: remote }), (error: ConfigError) => error.problems.length === 1 && error.problems[0]!.startsWith(`${name} must be an https:// URL`), `${name}=${remote}`);
    }
    for (const allowed of ['https://slack.example.com/api/', 'http://127.0.0.1:4010/api/', 'http://127.8.9.10/', 'http://localhost:3000/', 'http://[::1]:8080/']) {
      assert.doesNotThrow(() => parseEnv({ ...env, [name]: allowed }), `${name}=${allowed}`);
    }
  }
});

test("Autodesk's variables are its plugin's: in the one environment schema with their texts, checked in the same line, made into its settings", () => {
  const env = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
  const shape = envSchema().shape;
  assert.equal(shape.AUTODESK_PLAN?.description, 'standard = 1000 requests/hour, 10 concurrent; business = 5000/hour, 50 concurrent');
  assert.ok(Object.keys(shape).indexOf('AUTODESK_BASE_URL') < Object.keys(shape).indexOf('LOG_LEVEL'), 'plugin variables before logging, as the README lists them');
  assert.throws(() => parseEnv({ ...env, AUTODESK_PLAN: 'enterprise', PORT: 'eighty' }), (error: ConfigError) =>
    error.problems.length === 2 && error.problems[0]!.startsWith('PORT ') && error.problems[1] === 'AUTODESK_PLAN Invalid option: expected one of "standard"|"business"');

  const access = parseAccessConfig(baseConfig());
  const credentials = { AUTODESK_CLIENT_ID: 'id', AUTODESK_CLIENT_SECRET: 'secret' };
  assert.deepEqual(settingsOf(configFor(access, { ...env, ...credentials, AUTODESK_PLAN: 'business', AUTODESK_BASE_URL: 'https://adsk.example.com/' }), autodeskPlugin), {
    baseUrl: 'https://adsk.example.com', tokenUrl: 'https://adsk.example.com/authentication/v2/token', clientId: 'id', clientSecret: 'secret',
    perHour: 5000, maxConcurrent: 50, webhookSecret: undefined,
  });
  const overridden = settingsOf(configFor(access, { ...env, ...credentials, AUTODESK_RATE_PER_HOUR: '60', AUTODESK_MAX_CONCURRENT: '2' }), autodeskPlugin);
  assert.deepEqual([overridden.perHour, overridden.maxConcurrent, overridden.baseUrl], [60, 2, 'https://developer.api.autodesk.com']);
  assert.throws(() => configFor(access, env), (error: ConfigError) =>
    error.problems.join() === 'AUTODESK_CLIENT_ID and AUTODESK_CLIENT_SECRET are required because an app uses the autodesk connector');
});

test('a plugin outside src/ (the log test plugin) declares a variable of its own: checked with the core\'s, its settings reach it', () => {
  const env = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
  const log = logPlugin();
  const plugins = [...shippedPlugins(), log];
  assert.ok('LOGBOOK_TITLE' in envSchemaFor(plugins).shape);
  assert.ok(!('LOGBOOK_TITLE' in envSchema().shape), 'the shipped bot does not read it');
  assert.throws(() => parseEnv({ ...env, LOGBOOK_TITLE: 'ab' }, plugins), (error: ConfigError) =>
    error.message === 'environment: 1 problem: LOGBOOK_TITLE must be at least 3 characters');
  const access = parseAccessConfig({ itChannel: IT_CHANNEL, itAdmins: [PEOPLE.admin], apps: [{ id: 'notes', name: 'Notes', connector: 'log', approvers: [PEOPLE.manager] }] }, 'access.config.json', plugins);
  assert.deepEqual(settingsOf(configFor(access, env), log), { title: 'the logbook' });
  assert.deepEqual(settingsOf(configFor(access, { ...env, LOGBOOK_TITLE: 'the ledger' }), log), { title: 'the ledger' });
  const squatter = { ...logPlugin(), kind: 'squatter', env: pluginEnv(z.object({ PORT: z.string() }), () => undefined) };
  assert.throws(() => envSchemaFor([...plugins, squatter]), /connector plugin "squatter" declares PORT, which another declares already/);
});

test('approvers and itAdmins may be Slack user ids, user group ids or e-mails; anything else is named by path', () => {
  const config = baseConfig();
  config.itAdmins = ['S0ITTEAM', 'adam@example.com', 'U0ADMIN'];
  config.apps[0].approvalSteps[0].approvers = ['mona@example.com', 'S0MANAGERS'];
  assert.deepEqual(parseAccessConfig(config).itAdmins, ['S0ITTEAM', 'adam@example.com', 'U0ADMIN']);
  config.apps[1].approvers = ['mona', 's0lower'];
  config.itAdmins = ['@example.com'];
  assert.throws(() => parseAccessConfig(config), (error: ConfigError) => {
    const why = 'must be a Slack user id like "U0123ABC", a user group id like "S0123ABC" or an e-mail address';
    assert.deepEqual(error.problems, [`itAdmins[0]: ${why}`, `apps[1].approvers[0]: ${why}`, `apps[1].approvers[1]: ${why}`]);
    return true;
  });
});

test('every entry naming people is listed with the JSON path it was written at', () => {
  const config = parseAccessConfig({ ...baseConfig(), itAdmins: ['it@example.com'] });
  assert.deepEqual(personEntriesOf(config), [
    { entry: 'it@example.com', path: 'itAdmins[0]' },
    { entry: 'U0MANAGER', path: 'apps[0].approvalSteps[0].approvers[0]' },
    { entry: 'U0OWNER1', path: 'apps[0].approvalSteps[1].approvers[0]' },
    { entry: 'U0OWNER2', path: 'apps[0].approvalSteps[1].approvers[1]' },
    { entry: 'U0OWNER3', path: 'apps[1].approvers[0]' },
  ]);
});
