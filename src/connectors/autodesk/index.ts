/** The Autodesk connector's public surface: what `src/app.ts` wires up, and what tests and tools use. */
export {
  createAutodeskConnector, AWAIT_ACTIVATION_JOB, awaitActivationKey, DEACTIVATED_ON_ONBOARD, INVITED_DETAIL,
  type AutodeskConnector, type AutodeskConnectorOptions,
} from './connector.js';
export { MAX_DELIVERY_AGE_MS, SIGNATURE_HEADER, signatureOf, WEBHOOKS_OFF, type WebhookAnswer } from './webhook.js';
export { AutodeskApiError } from './http.js';
export type { AutodeskApi, AutodeskUser } from './api.js';
export { autodeskPlugin, WEBHOOK_PATH } from './plugin.js';
export { autodeskAppSchema, autodeskEnv, type AutodeskAppConfig, type AutodeskSettings } from './config.js';
