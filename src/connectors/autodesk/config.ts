/** An Autodesk app in access.config.json. */
import { z } from 'zod';
import { appCommon, duration } from '../app-config.js';

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
