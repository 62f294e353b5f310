/**
 * Everything accessbot is told from outside: environment variables and `access.config.json`, both through zod.
 * A bad value stops start-up with every problem named (env variable or JSON path), never a stack trace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from './util/duration.js';
import { isValidTimeZone } from './util/time.js';

const durationText = z.string().refine((text) => parseDuration(text) !== undefined, { message: 'must be a duration like "30s", "15m", "4h" or "2d"' });
/** A duration string in the file, milliseconds in the program; the default is written as a person would. */
const duration = (fallback: string) => durationText.default(fallback).transform((text) => parseDuration(text)!);

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id like "U0123ABC"');
/**
 * Someone who decides: a person (`U…`/`W…`), a Slack user group (`S…`, its members when a step opens) or an
 * e-mail (looked up in Slack once at start-up: e-mails survive a re-created Slack account, ids do not).
 */
const personEntry = z.union([z.string().regex(/^[UWS][A-Z0-9]{2,}$/), z.email()], {
  error: 'must be a Slack user id like "U0123ABC", a user group id like "S0123ABC" or an e-mail address',
});
const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id like "C0123ABC"');

const approvalStep = z.strictObject({
  name: z.string().min(1).optional().describe('Shown on the approval card, e.g. "Manager"'),
  approvers: z.array(personEntry).min(1, 'a step needs at least one approver').describe('Slack user ids, user group ids (S…) or e-mails; any one of them decides the step'),
});

/** Working hours for reminders, e.g. "09:00-18:00 Mon-Fri" (config timezone). */
export const REMINDER_HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)(?: (Mon|Tue|Wed|Thu|Fri|Sat|Sun)-(Mon|Tue|Wed|Thu|Fri|Sat|Sun))?$/;

const appCommon = {
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,30}$/, 'must be lower-case letters, digits, "-" or "_"').describe('Stable id, used in the form and the database'),
  name: z.string().min(1).max(60).describe('Shown to people'),
  approvers: z.array(personEntry).min(1).optional().describe('Shorthand for one approval step: Slack user ids, user group ids (S…) or e-mails'),
  approvalSteps: z.array(approvalStep).min(1).optional().describe('Steps run in order; any one approver of a step decides it'),
};

const autodeskApp = z.strictObject({
  ...appCommon,
  connector: z.literal('autodesk').describe('Provisioned through the Autodesk REST API'),
  roles: z.array(z.enum(['user', 'admin', 'viewer'])).min(1).default(['user', 'admin', 'viewer']).describe('Roles offered in the form'),
  defaultRole: z.enum(['user', 'admin', 'viewer']).default('user'),
  teams: z
    .array(z.strictObject({ id: z.string().min(1).describe('Autodesk team id'), name: z.string().min(1), role: z.string().min(1).default('member').describe('Role in the team') }))
    .default([])
    .describe('Teams offered in the form; joined once the user accepted the invitation'),
  offboardAction: z.enum(['deactivate', 'delete']).default('deactivate').describe('Both are irreversible through the API; delete also removes the data'),
  pendingPollEvery: duration('15m').describe('How often a pending invitation is checked'),
  pendingGiveUpAfter: duration('14d').describe('How long an invitation may stay pending before the item fails'),
});

const manualApp = z.strictObject({
  ...appCommon,
  connector: z.literal('manual').describe('No API: each approved item becomes a task for an IT admin'),
  assignees: z.array(slackUserId).min(1, 'a manual app needs at least one assignee').describe('IT admins who receive the tasks, balanced by open tasks'),
  reminderEvery: duration('4h').describe('How often an open task is reminded to its assignee'),
  escalateAfter: z.number().int().min(1).default(3).describe('Reminders without progress before itChannel is told'),
  reminderHours: z.string().regex(REMINDER_HOURS, 'must look like "09:00-18:00 Mon-Fri"').optional().describe('Remind only inside these hours (timezone); default around the clock'),
  roles: z.array(z.string().min(1)).min(1).optional().describe('Roles the task mentions'),
  defaultRole: z.string().min(1).optional(),
  steps: z.strictObject({ onboard: z.array(z.string().min(1)).min(1).optional(), offboard: z.array(z.string().min(1)).min(1).optional() }).optional().describe('The steps written in the task, replacing the defaults'),
});

const appSchema = z
  .discriminatedUnion('connector', [autodeskApp, manualApp])
  .superRefine((app, ctx) => {
    if (!app.approvers && !app.approvalSteps) ctx.addIssue({ code: 'custom', message: 'needs "approvers" or "approvalSteps"', path: ['approvers'] });
    if (app.approvers && app.approvalSteps) ctx.addIssue({ code: 'custom', message: 'use either "approvers" or "approvalSteps", not both', path: ['approvalSteps'] });
    if (app.connector === 'autodesk' && !app.roles.includes(app.defaultRole)) ctx.addIssue({ code: 'custom', message: 'must be one of "roles"', path: ['defaultRole'] });
  });

export const accessConfigSchema = z
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
    workingHours: z.string().regex(REMINDER_HOURS, 'must look like "09:00-18:00 Mon-Fri"').optional().describe('Approval reminders go out only inside these hours (timezone); default around the clock'),
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
    apps: z.array(appSchema).min(1, 'list at least one app'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.apps.forEach((app, index) => {
      if (seen.has(app.id)) ctx.addIssue({ code: 'custom', message: `duplicate app id "${app.id}"`, path: ['apps', index, 'id'] });
      seen.add(app.id);
    });
  });

export type AccessConfig = z.infer<typeof accessConfigSchema>;
export type AppConfig = AccessConfig['apps'][number];
export type AutodeskAppConfig = Extract<AppConfig, { connector: 'autodesk' }>;
export type ManualAppConfig = Extract<AppConfig, { connector: 'manual' }>;

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

const optionalText = z.string().trim().min(1).optional();
const url = z.url({ protocol: /^https?$/ });

/** Loopback hosts, where plain http cannot be read or altered by anyone on the network (the sandboxes use them). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
/** Tokens and client secrets travel to these URLs: http only where nothing outside this machine sees it. */
const remoteUrl = url.refine((text) => {
  const parsed = URL.canParse(text) ? new URL(text) : undefined;
  return !parsed || parsed.protocol === 'https:' || isLoopbackHost(parsed.hostname);
}, 'must be an https:// URL (http is allowed only on loopback: 127.0.0.0/8, localhost, [::1])');

export const envSchema = z
  .object({
    SLACK_BOT_TOKEN: z.string({ error: 'is required (the xoxb- bot token of your Slack app)' }).regex(/^xoxb-/, 'must start with "xoxb-"').describe('xoxb-… bot token (required)'),
    SLACK_SIGNING_SECRET: optionalText.describe('Request signature secret; required in HTTP mode'),
    SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must start with "xapp-"').optional().describe('xapp-… app-level token; when set, Socket Mode is used'),
    SLACK_API_URL: remoteUrl.optional().describe("Base URL of the Slack Web API (default Slack's own); https, or http on loopback only, e.g. http://127.0.0.1:4010/api/ for the sandbox"),
    SLACK_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000).describe('Longest wait for one Slack Web API call; a call with no answer by then fails and its job retries'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port: /slack/events, /healthz, /metrics, /webhooks/autodesk'),
    DATABASE_PATH: z.string().min(1).default('./data/accessbot.db').describe('SQLite file, created with its folder'),
    ACCESS_CONFIG: z.string().min(1).default('./access.config.json').describe('The catalog and routing file'),
    AUTODESK_BASE_URL: remoteUrl.default('https://developer.api.autodesk.com').describe('Autodesk REST base URL; https, or http on loopback only'),
    AUTODESK_TOKEN_URL: remoteUrl.optional().describe('OAuth client-credentials endpoint; default ${AUTODESK_BASE_URL}/authentication/v2/token'),
    AUTODESK_CLIENT_ID: optionalText.describe('Required when an app uses the autodesk connector'),
    AUTODESK_CLIENT_SECRET: optionalText.describe('Required when an app uses the autodesk connector'),
    AUTODESK_PLAN: z.enum(['standard', 'business']).default('standard').describe('standard = 1000 requests/hour, 10 concurrent; business = 5000/hour, 50 concurrent'),
    AUTODESK_RATE_PER_HOUR: z.coerce.number().int().min(1).optional().describe('Overrides the plan\'s hourly budget'),
    AUTODESK_MAX_CONCURRENT: z.coerce.number().int().min(1).optional().describe('Overrides the plan\'s concurrency cap'),
    AUTODESK_WEBHOOK_SECRET: optionalText.describe('Unset: /webhooks/autodesk is off (404) and polling does its job; set: only deliveries signed with it are read, as hints'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('debug, info, warn or error'),
    LOG_FORMAT: z.enum(['json', 'pretty']).optional().describe('json (default when not a terminal) or pretty'),
  });

export type Env = z.infer<typeof envSchema>;

const PLANS = { standard: { perHour: 1000, concurrent: 10 }, business: { perHour: 5000, concurrent: 50 } } as const;

export interface Config {
  env: Env;
  access: AccessConfig;
  mode: 'http' | 'socket';
  autodesk: { baseUrl: string; tokenUrl: string; clientId?: string; clientSecret?: string; perHour: number; maxConcurrent: number; webhookSecret?: string };
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

function problemsOf(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    // An app whose connector is wrong fails every union branch; say what the connector may be.
    if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
      const path = issue.path.at(-1) === 'connector' ? issue.path : [...issue.path, 'connector'];
      return [`${jsonPath(path)}: must be "autodesk" or "manual"`];
    }
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${jsonPath([...issue.path, key])}: unknown key`);
    return [`${jsonPath(issue.path)}: ${issue.message}`];
  });
}

export function parseAccessConfig(raw: unknown, source = 'access.config.json'): AccessConfig {
  const result = accessConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, problemsOf(result.error));
  return result.data;
}

export function loadAccessConfig(path: string): AccessConfig {
  if (!existsSync(path)) throw new ConfigError(path, ['file not found (set ACCESS_CONFIG to its path; see access.config.example.json)']);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseAccessConfig(raw, path);
}

export function parseEnv(source: NodeJS.ProcessEnv): Env {
  // Empty strings count as unset: `FOO= npm start` should not mean "FOO is the empty string".
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = envSchema.safeParse(cleaned);
  const problems = result.success ? [] : result.error.issues.map((issue) => `${jsonPath(issue.path)} ${issue.message}`);
  // Checked apart from the schema so it is reported together with any other problem.
  if (!cleaned.SLACK_SIGNING_SECRET && !cleaned.SLACK_APP_TOKEN) {
    problems.push('SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  if (problems.length || !result.success) throw new ConfigError('environment', problems);
  return result.data;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = parseEnv(source);
  const access = loadAccessConfig(env.ACCESS_CONFIG);
  const usesAutodesk = access.apps.some((app) => app.connector === 'autodesk');
  if (usesAutodesk && (!env.AUTODESK_CLIENT_ID || !env.AUTODESK_CLIENT_SECRET)) {
    throw new ConfigError('environment', ['AUTODESK_CLIENT_ID and AUTODESK_CLIENT_SECRET are required because an app uses the autodesk connector']);
  }
  const plan = PLANS[env.AUTODESK_PLAN];
  const baseUrl = env.AUTODESK_BASE_URL.replace(/\/+$/, '');
  return {
    env,
    access,
    mode: env.SLACK_APP_TOKEN ? 'socket' : 'http',
    autodesk: {
      baseUrl,
      tokenUrl: env.AUTODESK_TOKEN_URL ?? `${baseUrl}/authentication/v2/token`,
      clientId: env.AUTODESK_CLIENT_ID,
      clientSecret: env.AUTODESK_CLIENT_SECRET,
      perHour: env.AUTODESK_RATE_PER_HOUR ?? plan.perHour,
      maxConcurrent: env.AUTODESK_MAX_CONCURRENT ?? plan.concurrent,
      webhookSecret: env.AUTODESK_WEBHOOK_SECRET,
    },
  };
}

/** The JSON Schema editors use to check access.config.json as it is typed. */
export function accessConfigJsonSchema(): unknown {
  return z.toJSONSchema(accessConfigSchema, { io: 'input', unrepresentable: 'any' });
}
