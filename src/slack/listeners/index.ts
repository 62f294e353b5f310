/** Every Bolt listener, tasks' included: each folder (commands, views, actions, events) registers its own. */
import type { App } from '@slack/bolt';
import type { AppContext } from '../../context.js';
import { registerActions } from './actions/index.js';
import { registerCommands } from './commands/index.js';
import { registerEvents } from './events/index.js';
import { registerViews } from './views/index.js';

export function registerListeners(app: App, ctx: AppContext): void {
  registerCommands(app, ctx);
  registerViews(app, ctx);
  registerActions(app, ctx);
  registerEvents(app, ctx);
}
