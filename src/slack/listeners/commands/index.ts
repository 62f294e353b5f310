/** Slash commands: `/access` and its subcommands (delegate, cancel, status, tasks, help). */
import type { App } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { accessCommand, type TasksText } from './access.js';

export function registerCommands(app: App, ctx: AppContext, tasksText: TasksText): void {
  app.command('/access', accessCommand(ctx, tasksText));
}
