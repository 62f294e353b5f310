/**
 * The connector plugins this bot ships: an app's `connector` in access.config.json picks one of them, and the
 * config's app union is built from their schemas. Adding an app kind is a folder under src/connectors/ and a
 * line here (and a migration if it stores anything).
 */
import { autodeskPlugin } from './autodesk/plugin.js';
import { manualPlugin } from './manual/index.js';

/**
 * A function, not a constant: src/config.ts reads the list, and the plugins' own modules import src/config.ts,
 * so the list is asked for only once every module has loaded.
 */
export function shippedPlugins() {
  return [autodeskPlugin, manualPlugin] as const;
}
