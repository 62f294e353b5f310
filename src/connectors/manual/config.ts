/** A manual app (no API: tasks for IT admins) in access.config.json. */
import { z } from 'zod';
import { appCommon, duration, REMINDER_HOURS, slackUserId } from '../app-config.js';

export const manualAppSchema = z.strictObject({
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

export type ManualAppConfig = z.output<typeof manualAppSchema>;
