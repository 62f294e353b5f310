/** Slash commands: `/access` and its subcommands (delegate, cancel, status, tasks, help). */
import type { App } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { tasksCommandText } from '../../tasks/home.js';
import { accessCommand } from './access.js';

export function registerCommands(app: App, ctx: AppContext): void {
  app.command('/access', accessCommand(ctx, tasksCommandText));
}
