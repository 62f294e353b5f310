/** Every Bolt listener, registered by folder (commands, views, actions, events). */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { AppContext } from '../../context.js';
import { ACTION } from '../blocks/request.js';
import type { PeopleDirectory } from '../people.js';
import { DENY_MODAL, REQUEST_MODAL } from '../blocks/modals.js';
import { approveButton, denyButton } from './actions/approval.js';
import { cancelButton } from './actions/cancel.js';
import { retryButton } from './actions/retry.js';
import { accessCommand, type TasksText } from './commands/access.js';
import { appHomeOpened } from './events/app-home-opened.js';
import { accessRequestSubmission } from './views/access-request.js';
import { denyReasonSubmission } from './views/deny-reason.js';

const startsWith = (prefix: string) => new RegExp(`^${prefix}(:|$)`);

export function registerListeners(app: App, ctx: AppContext, tasksText: TasksText, people: PeopleDirectory): void {
  app.command('/access', accessCommand(ctx, tasksText));
  app.view(REQUEST_MODAL, accessRequestSubmission(ctx, people));
  app.view(DENY_MODAL, denyReasonSubmission(ctx));
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: startsWith(ACTION.approve) }, approveButton(ctx));
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: startsWith(ACTION.deny) }, denyButton(ctx));
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: startsWith(ACTION.retry) }, retryButton(ctx));
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: startsWith(ACTION.cancel) }, cancelButton(ctx));
  app.event('app_home_opened', appHomeOpened(ctx));
}
