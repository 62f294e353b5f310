/** Buttons on cards, status messages, alerts and task DMs: each action id (and its `:suffix` variants) to its listener. */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { REPORT_ACTION } from '../../blocks/person-report.js';
import { ACTION } from '../../blocks/request.js';
import { reportButtonAction } from '../../person-report.js';
import { registerTaskActions } from '../../tasks/listeners.js';
import { approveButton, denyButton } from './approval.js';
import { byHandButton } from './by-hand.js';
import { cancelButton } from './cancel.js';
import { extendButton } from './extend.js';
import { EXTEND_ACTION } from '../../notices.js';
import { retryButton } from './retry.js';

const startsWith = (prefix: string) => new RegExp(`^${prefix}(:|$)`);

export function registerActions(app: App, ctx: AppContext): void {
  const button = (prefix: string) => ({ type: 'block_actions', action_id: startsWith(prefix) }) as const;
  app.action<BlockAction<ButtonAction>>(button(ACTION.approve), approveButton(ctx));
  app.action<BlockAction<ButtonAction>>(button(ACTION.deny), denyButton(ctx));
  app.action<BlockAction<ButtonAction>>(button(ACTION.retry), retryButton(ctx));
  app.action<BlockAction<ButtonAction>>(button(ACTION.byHand), byHandButton(ctx));
  app.action<BlockAction<ButtonAction>>(button(ACTION.cancel), cancelButton(ctx));
  app.action<BlockAction<ButtonAction>>(button(REPORT_ACTION), reportButtonAction(ctx));
  app.action<BlockAction<ButtonAction>>(button(EXTEND_ACTION), extendButton(ctx));
  registerTaskActions(app, ctx);
}
