/** Modal submissions: the request form, the deny reason and the task modals. */
import type { App } from '@slack/bolt';
import type { AppContext } from '../../../context.js';
import { DENY_MODAL, REQUEST_MODAL } from '../../blocks/modals.js';
import { registerTaskViews } from '../../tasks/listeners.js';
import { accessRequestSubmission } from './access-request.js';
import { denyReasonSubmission } from './deny-reason.js';

export function registerViews(app: App, ctx: AppContext): void {
  app.view(REQUEST_MODAL, accessRequestSubmission(ctx));
  app.view(DENY_MODAL, denyReasonSubmission(ctx));
  registerTaskViews(app, ctx);
}
