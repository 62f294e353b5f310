/** The Autodesk plugin: apps provisioned through the Autodesk REST API, and the webhook that hurries invitations. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBodyWithin } from '../../util/http-body.js';
import type { ConnectorPlugin, HttpRoute } from '../types.js';
import { autodeskAppSchema } from './config.js';
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
  startupProblems: ({ env }) =>
    !env.AUTODESK_CLIENT_ID || !env.AUTODESK_CLIENT_SECRET ? ['AUTODESK_CLIENT_ID and AUTODESK_CLIENT_SECRET are required because an app uses the autodesk connector'] : [],
  secrets: ({ env }) => [env.AUTODESK_CLIENT_SECRET, env.AUTODESK_WEBHOOK_SECRET],
  startupNote: ({ env }) => ({ autodeskWebhooks: env.AUTODESK_WEBHOOK_SECRET ? 'on: signed deliveries wake waiting work' : 'webhooks off: polling' }),
  metrics: autodeskMetrics,
  create(deps, options?: AutodeskConnectorOptions): AutodeskConnector {
    const connector = createAutodeskConnector(deps, options);
    return { ...connector, routes: [webhookRoute(connector, deps.settings.autodesk.webhookSecret, deps.log)] };
  },
} satisfies ConnectorPlugin<typeof autodeskAppSchema, AutodeskConnectorOptions>;
