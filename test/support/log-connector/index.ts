/**
 * A third connector kind, for tests only (not in src/connectors/plugins.ts, never shipped): it writes down what it
 * was told to grant or revoke. It proves that an app kind is one folder plus one line in a plugin list: nothing in
 * src/ names it, and the bot runs it once a test passes a plugin list that has it.
 */
import { z } from 'zod';
import { appCommon } from '../../../src/connectors/app-config.js';
import type { ConnectorPlugin, FulfillmentItem, Outcome } from '../../../src/connectors/types.js';

export const logAppSchema = z.strictObject({
  ...appCommon,
  connector: z.literal('log').describe('Test only: records grants and revokes'),
  /** Its own key, to show a plugin's config reaches its connector parsed. */
  label: z.string().min(1).default('the log'),
});

export interface LogEntry {
  appId: string;
  action: 'grant' | 'revoke';
  email: string;
  requestId: string;
}

/** A plugin whose connector appends to `entries` (one list per plugin instance, so tests do not share it). */
export function logPlugin(entries: LogEntry[] = []) {
  return {
    kind: 'log',
    appSchema: logAppSchema,
    entries,
    create(deps) {
      const record = (action: LogEntry['action']) => async (item: FulfillmentItem): Promise<Outcome> => {
        const app = deps.apps.find((each) => each.id === item.appId)!;
        entries.push({ appId: item.appId, action, email: item.subject.email, requestId: item.requestId });
        deps.audit({ actor: 'accessbot', action: `log.${action}`, requestId: item.requestId, itemId: item.itemId, appId: item.appId });
        return { state: 'completed', detail: `written in ${app.label}` };
      };
      return { type: 'log', grant: record('grant'), revoke: record('revoke') };
    },
  } satisfies ConnectorPlugin<typeof logAppSchema> & { entries: LogEntry[] };
}
