/** The Autodesk plugin: apps provisioned through the Autodesk REST API, and the webhook that hurries invitations. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pruneInBatches } from '../../db/housekeeping.js';
import { readBodyWithin } from '../../util/http-body.js';
import type { ConnectorPlugin, HttpRoute } from '../types.js';
import { autodeskAppSchema, autodeskEnv, type AutodeskSettings } from './config.js';
import { createAutodeskConnector, type AutodeskConnector, type AutodeskConnectorOptions } from './connector.js';
import { autodeskCardLines, autodeskFields } from './form.js';
import { autodeskMetrics } from './metrics.js';
import { WEBHOOKS_OFF } from './webhook.js';

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}

export const WEBHOOK_PATH = '/webhooks/autodesk';

function webhookRoute(connector: AutodeskConnector, secret: string | undefined, log: { error(message: string, fields?: object): void }): HttpRoute {
  return {
    path: WEBHOOK_PATH,
    method: ['POST'],
    handler: async (req: IncomingMessage, res: ServerResponse) => {
      try {
        // Off without a secret: an unsigned delivery must not even be read, let alone believed.
        if (!secret) return sendJson(res, WEBHOOKS_OFF.status, WEBHOOKS_OFF.body);
        const body = await readBodyWithin(req, res);
        if (!body) return;
        const answer = await connector.handleWebhook(body, req.headers);
        sendJson(res, answer.status, answer.body);
      } catch (error) {
        log.error('autodesk webhook failed', { error });
        sendJson(res, 500, JSON.stringify({ error: 'internal error' }));
      }
    },
  };
}

export const autodeskPlugin = {
  kind: 'autodesk',
  appSchema: autodeskAppSchema,
  fields: autodeskFields,
  cardLines: autodeskCardLines,
  offboardedWord: (app) => (app.offboardAction === 'delete' ? 'deleted' : 'deactivated'),
  actorName: 'the Autodesk connector',
  previews: true,
  env: autodeskEnv,
  startupProblems: (settings) =>
    !settings.clientId || !settings.clientSecret ? ['AUTODESK_CLIENT_ID and AUTODESK_CLIENT_SECRET are required because an app uses the autodesk connector'] : [],
  secrets: (settings) => [settings.clientSecret, settings.webhookSecret],
  startupNote: (settings) => ({ autodeskWebhooks: settings.webhookSecret ? 'on: signed deliveries wake waiting work' : 'webhooks off: polling' }),
  metrics: autodeskMetrics,
  // A confirmed intent has done its work (the audit keeps the record); an unconfirmed one is the crash guard: kept.
  housekeeping: (db, now, retentionMs) => ({
    autodeskIntents: pruneInBatches(
      db, 'DELETE FROM autodesk_intents WHERE item_id IN (SELECT item_id FROM autodesk_intents WHERE confirmed_at IS NOT NULL AND confirmed_at < @cutoff LIMIT @batch)', now - retentionMs,
    ),
  }),
  create(deps, options?: AutodeskConnectorOptions): AutodeskConnector {
    const connector = createAutodeskConnector(deps, options);
    return { ...connector, routes: [webhookRoute(connector, deps.settings.webhookSecret, deps.log)] };
  },
} satisfies ConnectorPlugin<typeof autodeskAppSchema, AutodeskConnectorOptions, AutodeskSettings>;
