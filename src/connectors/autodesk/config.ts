/** An Autodesk app in access.config.json, and the environment variables the Autodesk plugin reads. */
import { z } from 'zod';
import { appCommon, duration, optionalText, remoteUrl } from '../app-config.js';
import { pluginEnv } from '../types.js';

export const autodeskAppSchema = z
  .strictObject({
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
  })
  .superRefine((app, ctx) => {
    if (!app.roles.includes(app.defaultRole)) ctx.addIssue({ code: 'custom', message: 'must be one of "roles"', path: ['defaultRole'] });
  });

export type AutodeskAppConfig = z.output<typeof autodeskAppSchema>;

/** What an Autodesk item was asked for on the form, as the request stores it. */
export const autodeskItemOptions = z.object({ role: z.string().optional(), teams: z.array(z.string()).optional() });

/** SPEC "Environment": names, defaults and checks are the contract; the README's reference lists these texts. */
export const autodeskEnvSchema = z.object({
  AUTODESK_BASE_URL: remoteUrl.default('https://developer.api.autodesk.com').describe('Autodesk REST base URL; https, or http on loopback only'),
  AUTODESK_TOKEN_URL: remoteUrl.optional().describe('OAuth client-credentials endpoint; default ${AUTODESK_BASE_URL}/authentication/v2/token'),
  AUTODESK_CLIENT_ID: optionalText.describe('Required when an app uses the autodesk connector'),
  AUTODESK_CLIENT_SECRET: optionalText.describe('Required when an app uses the autodesk connector'),
  AUTODESK_PLAN: z.enum(['standard', 'business']).default('standard').describe('standard = 1000 requests/hour, 10 concurrent; business = 5000/hour, 50 concurrent'),
  AUTODESK_RATE_PER_HOUR: z.coerce.number().int().min(1).optional().describe('Overrides the plan\'s hourly budget'),
  AUTODESK_MAX_CONCURRENT: z.coerce.number().int().min(1).optional().describe('Overrides the plan\'s concurrency cap'),
  AUTODESK_WEBHOOK_SECRET: optionalText.describe('Unset: /webhooks/autodesk is off (404) and polling does its job; set: only deliveries signed with it are read, as hints'),
});

const PLANS = { standard: { perHour: 1000, concurrent: 10 }, business: { perHour: 5000, concurrent: 50 } } as const;

/** What the Autodesk connector, its webhook and its metrics are built with. */
export interface AutodeskSettings {
  baseUrl: string;
  tokenUrl: string;
  clientId?: string;
  clientSecret?: string;
  perHour: number;
  maxConcurrent: number;
  webhookSecret?: string;
}

export const autodeskEnv = pluginEnv(autodeskEnvSchema, (env): AutodeskSettings => {
  const plan = PLANS[env.AUTODESK_PLAN];
  const baseUrl = env.AUTODESK_BASE_URL.replace(/\/+$/, '');
  return {
    baseUrl,
    tokenUrl: env.AUTODESK_TOKEN_URL ?? `${baseUrl}/authentication/v2/token`,
    clientId: env.AUTODESK_CLIENT_ID,
    clientSecret: env.AUTODESK_CLIENT_SECRET,
    perHour: env.AUTODESK_RATE_PER_HOUR ?? plan.perHour,
    maxConcurrent: env.AUTODESK_MAX_CONCURRENT ?? plan.concurrent,
    webhookSecret: env.AUTODESK_WEBHOOK_SECRET,
  };
});
