/**
 * What the plugins add to the request form and the approval card, read from the plugins a config was parsed with:
 * the core's modal builder, intake and card know fields and lines only as this data, never an app kind.
 */
import { appById, pluginsOf, type AccessConfig, type AppConfig } from '../config.js';
import type { RequestKind } from '../requests/model.js';
import type { Words } from '../requests/words.js';
import type { AnyConnectorPlugin, FormChoice, FormField, StoredOptions } from './types.js';

/** A plugin's field, its wording worked out for one of its apps. */
export interface ResolvedField {
  id: string;
  optionKey: string;
  type: FormField<unknown>['type'];
  label: string;
  hint?: string;
  /** A select's choices (empty for a text field). */
  choices: FormChoice[];
  initial?: string;
  choicesName: string;
  onboardOnly: boolean;
  maxLength?: number;
}

// The plugin list holds plugins of every app type; each field is called only with an app of its own plugin's kind.
type AnyField = FormField<AppConfig>;
const fieldsOfPlugin = (plugin: AnyConnectorPlugin) => (plugin.fields ?? []) as readonly AnyField[];

function resolve(field: AnyField, app: AppConfig): ResolvedField {
  return {
    id: field.id, optionKey: field.optionKey, type: field.type, label: field.label(app), hint: field.hint?.(app),
    choices: field.choices?.(app) ?? [], initial: field.initial?.(app), choicesName: field.choicesName ?? 'choices',
    onboardOnly: field.onboardOnly ?? false, maxLength: field.maxLength,
  };
}

/**
 * The plugins' fields in plugin order, each worded from the first of its plugin's apps in the config, or with
 * `appIds` the first of those (a submission is checked against the apps it names). A select with no choices is
 * left out.
 */
export function formFieldsOf(config: AccessConfig, appIds?: readonly string[]): ResolvedField[] {
  return pluginsOf(config).flatMap((plugin) => {
    const app = config.apps.find((candidate) => candidate.connector === plugin.kind && (!appIds || appIds.includes(candidate.id)));
    if (!app) return [];
    return fieldsOfPlugin(plugin).map((field) => resolve(field, app)).filter((field) => field.type === 'plain_text_input' || field.choices.length > 0);
  });
}

/** Every field a plugin of this config may add, whether shown or not: the modal's values are read for these ids. */
export function formFieldIdsOf(config: AccessConfig): string[] {
  return pluginsOf(config).flatMap((plugin) => fieldsOfPlugin(plugin).map((field) => field.id));
}

/** The card lines the plugins give for a request naming `appIds`: per plugin, for the first of its apps named. */
export function cardLinesOf(config: AccessConfig, appIds: readonly string[], request: { kind: RequestKind; options: StoredOptions }): Words[] {
  const apps = appIds.map((id) => appById(config, id)).filter((app): app is AppConfig => app !== undefined);
  return pluginsOf(config).flatMap((plugin) => {
    const app = apps.find((candidate) => candidate.connector === plugin.kind);
    return app && plugin.cardLines ? plugin.cardLines(app, request) : [];
  });
}

/** Who accessbot was when a connector of this kind acted ("the Autodesk connector"), as its plugin says it. */
export function actorNameOf(config: AccessConfig, connector: string): string {
  return pluginsOf(config).find((candidate) => candidate.kind === connector)?.actorName ?? `the ${connector} connector`;
}

/** Whether the app's connector reads what approving will do before anyone decides (its plugin's `previews`). */
export function previewsBeforeApproval(config: AccessConfig, app: AppConfig): boolean {
  return pluginsOf(config).find((candidate) => candidate.kind === app.connector)?.previews ?? false;
}

/** "deactivated", as the app's plugin says an offboarded item; "offboarded" when it does not say. */
export function offboardedWordOf(config: AccessConfig, app: AppConfig): string {
  const plugin = pluginsOf(config).find((candidate) => candidate.kind === app.connector);
  return plugin?.offboardedWord?.(app) ?? 'offboarded';
}
