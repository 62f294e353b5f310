/**
 * A third connector kind, for tests only (not in src/connectors/plugins.ts, never shipped): it writes down what it
 * was told to grant or revoke. It proves that an app kind is one folder plus one line in a plugin list: nothing in
 * src/ names it, and the bot runs it once a test passes a plugin list that has it.
 */
import { z } from 'zod';
import { appCommon } from '../../../src/connectors/app-config.js';
import { pluginEnv, type ConnectorPlugin, type FormField, type FulfillmentItem, type Outcome } from '../../../src/connectors/types.js';

export const logAppSchema = z.strictObject({
  ...appCommon,
  connector: z.literal('log').describe('Test only: records grants and revokes'),
  /** Its own key, to show a plugin's config reaches its connector parsed. */
  label: z.string().min(1).default('the log'),
  /** Offered in the form's `log_shelf` field: a plugin's choices come from its own config. */
  shelves: z.array(z.string().min(1)).min(1).default(['top', 'bottom']),
});

type LogApp = z.output<typeof logAppSchema>;

/** What its form fields store, parsed by its own schema before the connector uses it. */
export const logItemOptions = z.object({ shelf: z.string().optional(), note: z.string().optional() });

const logFields: readonly FormField<LogApp>[] = [
  {
    id: 'log_shelf', optionKey: 'shelf', type: 'static_select', onboardOnly: true, choicesName: 'shelves',
    label: (app) => `${app.name} shelf`,
    choices: (app) => app.shelves.map((shelf) => ({ label: `Shelf ${shelf}`, value: shelf })),
    initial: (app) => app.shelves[0],
  },
  { id: 'log_note', optionKey: 'note', type: 'plain_text_input', label: () => 'Note for the log', maxLength: 200 },
];

/** Its own environment variable, to show a plugin's variables join the bot's without a line in the core. */
export const logEnv = pluginEnv(
  z.object({ LOGBOOK_TITLE: z.string().min(3, 'must be at least 3 characters').default('the logbook').describe('Test only: where the log connector says it writes') }),
  (env) => ({ title: env.LOGBOOK_TITLE }),
);

export interface LogEntry {
  appId: string;
  action: 'grant' | 'revoke';
  email: string;
  requestId: string;
  /** The form's fields, as the connector parsed them. */
  options: z.output<typeof logItemOptions>;
}

/**
 * A plugin whose connector appends to `entries` (one list per plugin instance, so tests do not share it); its
 * housekeeping notes each run's retention in `housekeeping.runs`.
 */
export function logPlugin(entries: LogEntry[] = []) {
  const runs: number[] = [];
  return {
    kind: 'log',
    appSchema: logAppSchema,
    entries,
    housekeeping: Object.assign((_db: unknown, _now: number, retentionMs: number) => {
      runs.push(retentionMs);
      return { logLines: 0 };
    }, { runs }),
    env: logEnv,
    fields: logFields,
    cardLines: (app, request) => {
      const asked = logItemOptions.parse(request.options);
      return [[{ strong: `${app.name} goes on shelf` }, ` ${asked.shelf ?? '(none)'}${asked.note ? ` · ${asked.note}` : ''}`]];
    },
    create(deps) {
      const record = (action: LogEntry['action']) => async (item: FulfillmentItem): Promise<Outcome> => {
        const app = deps.apps.find((each) => each.id === item.appId)!;
        entries.push({ appId: item.appId, action, email: item.subject.email, requestId: item.requestId, options: logItemOptions.parse(item.options) });
        deps.audit({ actor: 'accessbot', action: `log.${action}`, requestId: item.requestId, itemId: item.itemId, appId: item.appId });
        return { state: 'completed', detail: `written in ${app.label}, kept in ${deps.settings.title}` };
      };
      return { type: 'log', grant: record('grant'), revoke: record('revoke') };
    },
  } satisfies ConnectorPlugin<typeof logAppSchema, never, { title: string }> & { entries: LogEntry[] };
}
