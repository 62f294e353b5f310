/**
 * Everything accessbot is told from outside: environment variables and `access.config.json`, both through zod.
 * A bad value stops start-up with every problem named (env variable or JSON path), never a stack trace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { durationText, duration, optionalText, personEntry, remoteUrl, REMINDER_HOURS } from './connectors/app-config.js';
import { shippedPlugins } from './connectors/plugins.js';
import type { AnyConnectorPlugin, ConnectorPlugin } from './connectors/types.js';
import { parseDuration } from './util/duration.js';
import { isValidTimeZone } from './util/time.js';

const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id like "C0123ABC"');

/**
 * An app of any plugin's kind, checked by that plugin's own schema (picked by its `connector`), then against the
 * rules every app shares.
 */
function appSchemaOf(plugins: readonly AnyConnectorPlugin[]) {
  const [first, ...rest] = plugins.map((plugin) => plugin.appSchema) as [ShippedAppSchema, ...ShippedAppSchema[]];
  return z
    .discriminatedUnion('connector', [first, ...rest])
    .superRefine((app, ctx) => {
      if (!app.approvers && !app.approvalSteps) ctx.addIssue({ code: 'custom', message: 'needs "approvers" or "approvalSteps"', path: ['approvers'] });
      if (app.approvers && app.approvalSteps) ctx.addIssue({ code: 'custom', message: 'use either "approvers" or "approvalSteps", not both', path: ['approvalSteps'] });
    });
}

type ShippedAppSchema = ReturnType<typeof shippedPlugins>[number]['appSchema'];

/** access.config.json for these plugins (the shipped ones unless a test adds its own). */
export function accessConfigSchemaFor(plugins: readonly AnyConnectorPlugin[]) {
  return z
  .strictObject({
    $schema: z.string().optional(),
    itChannel: slackChannelId.describe('Receives connector failures, task escalations and requests nobody may approve'),
    approvalsChannel: slackChannelId.optional().describe('Mirrors every approval card when set'),
    timezone: z.string().refine(isValidTimeZone, 'must be an IANA timezone like "Europe/Paris"').default('UTC').describe('Effective dates and reminder hours are in this zone'),
    protectedEmails: z.array(z.email()).default([]).describe('Accounts no connector will ever offboard'),
    itAdmins: z
      .array(personEntry)
      .min(1, 'name at least one IT admin: they decide steps nobody listed may decide, retry failures and cancel requests')
      .describe('The IT team (Slack user ids, user group ids or e-mails): decide steps nobody listed may decide, use Retry, may cancel any open request, take manual tasks no listed assignee may take'),
    approvalRemindEvery: durationText
      .optional()
      .transform((text) => (text === undefined ? undefined : parseDuration(text)!))
      .describe("How often an undecided approval step is reminded to its approvers, in a thread under their card; unset: never"),
    approvalEscalateAfter: z.number().int().min(1).default(3).describe('Reminders of one step before itChannel is told, once, who has waited for whom since when'),
    accessEndingWarning: duration('3d').describe('How long before an end date the person and the requester are told their access ends, with a button to ask for an extension'),
    workingHours: z.string().regex(REMINDER_HOURS, 'must look like "09:00-18:00 Mon-Fri"').optional().describe('Approval reminders go out only inside these hours (timezone); default around the clock'),
    leaverDetection: z.boolean().default(false).describe('When Slack says a user was deactivated (user_change), file an offboarding for every app accessbot granted them, sent for approval with an IT admin as requester'),
    jobs: z
      .strictObject({
        retryBase: duration('2s').describe('First retry delay of a failing job; doubles per attempt, with jitter (one call\'s short faults are already retried inside the Autodesk client)'),
        retryMax: duration('10m').describe('Longest wait between retries'),
        giveUpAfter: duration('6h').describe('A job failing this long in a row fails for good (the item fails, the requester and IT are told), so an outage of Autodesk or Slack shorter than this fails nothing'),
        retention: duration('7d').describe('Finished jobs, seen deliveries and confirmed Autodesk intents are deleted after this; the audit is kept for ever'),
        maxAttempts: z.number().int().min(1).max(1000).optional().describe('Also fail a job after this many failed attempts in a row; unset, only giveUpAfter ends a failing job'),
        concurrency: z.number().int().min(1).max(64).default(10).describe('Connector jobs run at once (10 matches the Autodesk Standard plan\'s concurrency); Slack messages have their own 4 workers beside them'),
      })
      .prefault({})
      .describe('Tuning of the job runner that carries out connector work, Slack messages and reminders'),
    apps: z.array(appSchemaOf(plugins)).min(1, 'list at least one app'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.apps.forEach((app, index) => {
      if (seen.has(app.id)) ctx.addIssue({ code: 'custom', message: `duplicate app id "${app.id}"`, path: ['apps', index, 'id'] });
      seen.add(app.id);
    });
  });
}

let shippedSchema: ReturnType<typeof accessConfigSchemaFor> | undefined;
/**
 * access.config.json for the shipped plugins, built on first use: the plugins' own modules import this one, so
 * the list is complete only once every module has loaded.
 */
export function accessConfigSchema(): ReturnType<typeof accessConfigSchemaFor> {
  return (shippedSchema ??= accessConfigSchemaFor(shippedPlugins()));
}

export type AccessConfig = z.infer<ReturnType<typeof accessConfigSchemaFor>>;
export type AppConfig = AccessConfig['apps'][number];
// Where other modules have always found them; each is its plugin's own.
export type { ManualAppConfig } from './connectors/manual/config.js';
export { isLoopbackHost, REMINDER_HOURS } from './connectors/app-config.js';

/**
 * Whether accessbot must never change this account's access (`protectedEmails`). One rule for intake, every
 * connector and every task: e-mails compared trimmed and case-insensitively, as logins are.
 */
export function isProtectedEmail(config: Pick<AccessConfig, 'protectedEmails'>, email: string): boolean {
  const wanted = email.trim().toLowerCase();
  return config.protectedEmails.some((candidate) => candidate.trim().toLowerCase() === wanted);
}

/**
 * The approval steps of an app, whichever way the config spelled them. Their approvers are config entries (ids,
 * groups, e-mails): `expandApprovers` in src/requests/approver-entries.ts turns them into people.
 */
/** The one way to look up a configured app by its id: undefined when it is no longer configured. */
export function appById(config: Pick<AccessConfig, 'apps'>, appId: string): AppConfig | undefined {
  return config.apps.find((app) => app.id === appId);
}

export function approvalStepsOf(app: AppConfig): { name?: string; approvers: string[] }[] {
  return app.approvalSteps ?? [{ approvers: app.approvers ?? [] }];
}

/** Every entry that names people (itAdmins and approvers), with the JSON path it was written at. */
export function personEntriesOf(config: AccessConfig): { entry: string; path: string }[] {
  const entries = config.itAdmins.map((entry, i) => ({ entry, path: `itAdmins[${i}]` }));
  config.apps.forEach((app, a) => {
    if (app.approvalSteps) app.approvalSteps.forEach((step, s) => step.approvers.forEach((entry, i) => entries.push({ entry, path: `apps[${a}].approvalSteps[${s}].approvers[${i}]` })));
    else (app.approvers ?? []).forEach((entry, i) => entries.push({ entry, path: `apps[${a}].approvers[${i}]` }));
  });
  return entries;
}

/**
 * The core's own variables; each connector plugin declares its own (`env`) and they are composed in between,
 * logging last, so the README's reference table reads in that order.
 */
const coreEnv = {
  SLACK_BOT_TOKEN: z.string({ error: 'is required (the xoxb- bot token of your Slack app)' }).regex(/^xoxb-/, 'must start with "xoxb-"').describe('xoxb-… bot token (required)'),
  SLACK_SIGNING_SECRET: optionalText.describe('Request signature secret; required in HTTP mode'),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must start with "xapp-"').optional().describe('xapp-… app-level token; when set, Socket Mode is used'),
  SLACK_API_URL: remoteUrl.optional().describe("Base URL of the Slack Web API (default Slack's own); https, or http on loopback only, e.g. http://127.0.0.1:4010/api/ for the sandbox"),
  SLACK_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000).describe('Longest wait for one Slack Web API call; a call with no answer by then fails and its job retries'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port: /slack/events, /healthz, /metrics, /webhooks/autodesk'),
  DATABASE_PATH: z.string().min(1).default('./data/accessbot.db').describe('SQLite file, created with its folder'),
  ACCESS_CONFIG: z.string().min(1).default('./access.config.json').describe('The catalog and routing file'),
};
const loggingEnv = {
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('debug, info, warn or error'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional().describe('json (default when not a terminal) or pretty'),
};
const coreEnvSchema = z.object({ ...coreEnv, ...loggingEnv });

/** The core's variables, parsed; each plugin's are in its own settings (`Config.connectors`). */
export type Env = z.infer<typeof coreEnvSchema>;

/** Every variable the bot reads with these plugins: the core's, then each plugin's own (`env`), then logging. */
export function envSchemaFor(plugins: readonly AnyConnectorPlugin[]) {
  const shape: z.ZodRawShape = { ...coreEnv, ...loggingEnv };
  const pluginShape: Record<string, z.ZodType> = {};
  for (const plugin of plugins) {
    for (const [name, schema] of Object.entries(plugin.env?.schema.shape ?? {})) {
      // A second declaration would silently replace the first one's checks: a plugin's mistake, found at once.
      if (name in shape || name in pluginShape) throw new Error(`connector plugin "${plugin.kind}" declares ${name}, which another declares already`);
      pluginShape[name] = schema;
    }
  }
  return z.object({ ...coreEnv, ...pluginShape, ...loggingEnv });
}

/** The environment schema of the shipped plugins, built on first use for the same reason as `accessConfigSchema`. */
export function envSchema(): z.ZodObject {
  return envSchemaFor(shippedPlugins());
}

export interface Config {
  env: Env;
  access: AccessConfig;
  mode: 'http' | 'socket';
  /** Each plugin's settings from its own variables, by plugin kind: read one with `settingsOf`. */
  connectors: Readonly<Record<string, unknown>>;
}

/** A plugin's own settings in this config (undefined for a plugin that reads no variables). */
export function settingsOf<Settings>(config: Pick<Config, 'connectors'>, plugin: ConnectorPlugin<z.ZodObject, unknown, Settings>): Settings {
  return config.connectors[plugin.kind] as Settings;
}

export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** `apps[1].approvers[0]` from a zod path. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(root)';
}

function problemsOf(error: z.ZodError, plugins: readonly AnyConnectorPlugin[]): string[] {
  const kinds = plugins.map((plugin) => `"${plugin.kind}"`);
  const oneOf = kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} or ${kinds.at(-1)}` : kinds.join('');
  return error.issues.flatMap((issue) => {
    // An app whose connector is wrong fails every union branch; say what the connector may be.
    if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
      const path = issue.path.at(-1) === 'connector' ? issue.path : [...issue.path, 'connector'];
      return [`${jsonPath(path)}: must be ${oneOf}`];
    }
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${jsonPath([...issue.path, key])}: unknown key`);
    return [`${jsonPath(issue.path)}: ${issue.message}`];
  });
}

/** The plugins each parsed config was checked against: its apps' form fields and card lines come from them. */
const pluginsOfConfig = new WeakMap<AccessConfig, readonly AnyConnectorPlugin[]>();

/** The connector plugins a config was parsed with (the shipped ones for a config built another way). */
export function pluginsOf(config: AccessConfig): readonly AnyConnectorPlugin[] {
  return pluginsOfConfig.get(config) ?? shippedPlugins();
}

/** `plugins`: the connector kinds an app may name (the shipped ones; tests add their own). */
export function parseAccessConfig(raw: unknown, source = 'access.config.json', plugins?: readonly AnyConnectorPlugin[]): AccessConfig {
  const schema = plugins ? accessConfigSchemaFor(plugins) : accessConfigSchema();
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, problemsOf(result.error, plugins ?? shippedPlugins()));
  // An app of a plugin a test added has the common keys and its own; the core reads only the common ones.
  if (plugins) pluginsOfConfig.set(result.data, plugins);
  return result.data;
}

export function loadAccessConfig(path: string, plugins?: readonly AnyConnectorPlugin[]): AccessConfig {
  if (!existsSync(path)) throw new ConfigError(path, ['file not found (set ACCESS_CONFIG to its path; see access.config.example.json)']);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseAccessConfig(raw, path, plugins);
}

/** Empty strings count as unset: `FOO= npm start` should not mean "FOO is the empty string". */
function cleanedEnv(source: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

/** The core's variables, every plugin's checked with them (`plugins`: the shipped ones unless a test adds its own). */
export function parseEnv(source: NodeJS.ProcessEnv, plugins: readonly AnyConnectorPlugin[] = shippedPlugins()): Env {
  const cleaned = cleanedEnv(source);
  const result = envSchemaFor(plugins).safeParse(cleaned);
  const problems = result.success ? [] : result.error.issues.map((issue) => `${jsonPath(issue.path)} ${issue.message}`);
  // Checked apart from the schema so it is reported together with any other problem.
  if (!cleaned.SLACK_SIGNING_SECRET && !cleaned.SLACK_APP_TOKEN) {
    problems.push('SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  if (problems.length || !result.success) throw new ConfigError('environment', problems);
  return coreEnvSchema.parse(cleaned);
}

/**
 * Each plugin's settings from the process environment, by plugin kind. Its variables must already have been
 * checked (`parseEnv`); tests build a plugin's settings from a few variables with it.
 */
export function connectorSettings(source: NodeJS.ProcessEnv, plugins: readonly AnyConnectorPlugin[] = shippedPlugins()): Record<string, unknown> {
  const cleaned = cleanedEnv(source);
  return Object.fromEntries(plugins.map((plugin) => [plugin.kind, plugin.env?.settings(cleaned)]));
}

/**
 * The whole configuration from the environment and an access.config.json already parsed (with the plugins its
 * apps may name): what `loadConfig` builds after reading the file, and what in-process tests start the bot with.
 * A plugin in use missing what it needs (credentials) stops here, all in one line.
 */
export function configFor(access: AccessConfig, source: NodeJS.ProcessEnv): Config {
  const plugins = pluginsOf(access);
  const env = parseEnv(source, plugins);
  const config: Config = { env, access, mode: env.SLACK_APP_TOKEN ? 'socket' : 'http', connectors: connectorSettings(source, plugins) };
  const problems = usedPlugins(access).flatMap((plugin) => plugin.startupProblems?.(settingsOf(config, plugin)) ?? []);
  if (problems.length) throw new ConfigError('environment', problems);
  return config;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // The variables first (ACCESS_CONFIG says where the file is), then the file, then what its apps need.
  const env = parseEnv(source);
  return configFor(loadAccessConfig(env.ACCESS_CONFIG), source);
}

/** The plugins at least one configured app names. */
export function usedPlugins(config: AccessConfig): readonly AnyConnectorPlugin[] {
  return pluginsOf(config).filter((plugin) => config.apps.some((app) => app.connector === plugin.kind));
}

/** The JSON Schema editors use to check access.config.json as it is typed. */
export function accessConfigJsonSchema(): unknown {
  return z.toJSONSchema(accessConfigSchema(), { io: 'input', unrepresentable: 'any' });
}
