/** The job that hands one approved item to its app's connector, and what happens when that keeps failing. */
import { JOB } from '../jobs/kinds.js';
import type { JobRunner } from '../jobs/runner.js';
import { PreviewChanged } from '../connectors/preview.js';
import { askApproversAgain } from './preview-jobs.js';
import { getItem } from './repository.js';
import { createItemProgress, beginFulfillment, fulfillmentItemOf, type RequestDeps } from './service.js';

export function registerFulfillment(runner: JobRunner, deps: RequestDeps): void {
  const progress = createItemProgress(deps);
  runner.register(JOB.fulfillItem, {
    logFields: ({ itemId }) => ({ itemId, requestId: getItem(deps.db, itemId)?.requestId }),
    async run({ itemId }, job) {
      // An item already completed, failed or denied is left alone: a re-run after a crash does nothing twice.
      if (!beginFulfillment(deps, itemId)) return;
      const item = fulfillmentItemOf(deps, itemId)!;
      const connector = deps.connectors.get(item.appId);
      if (!connector) return;
      let outcome;
      try {
        outcome = item.kind === 'onboard' ? await connector.grant(item, job) : await connector.revoke(item, job);
      } catch (error) {
        if (!(error instanceof PreviewChanged)) throw error;
        // Nothing was done: the approvers decide again on the account found, unless that step cannot reopen.
        if (!askApproversAgain(deps, itemId, error)) progress.fail(itemId, `stopped before any change: ${error.message}`);
        return;
      }
      if (outcome.state === 'completed') progress.complete(itemId, outcome.detail, 'accessbot', outcome.externalId);
      else progress.update(itemId, outcome.detail, 'accessbot', outcome.externalId);
    },
    onGiveUp({ itemId }, error) {
      progress.fail(itemId, error.message);
    },
  });
}
