/**
 * Runs the Autodesk sandbox alone: `tsx src/sandboxes/autodesk/main.ts`.
 * Env: AUTODESK_SANDBOX_PORT (default 4020), AUTODESK_SANDBOX_CLIENT_ID / _CLIENT_SECRET,
 * AUTODESK_SANDBOX_WEBHOOK_URL / _WEBHOOK_SECRET, AUTODESK_SANDBOX_SEED_USERS (number of active users to seed).
 */
import { startAutodeskSandbox } from './server.js';

function fail(message: string): never {
  console.error(`autodesk-sandbox: ${message}`);
  process.exit(1);
}

function intEnv(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > max) fail(`${name} must be an integer between 0 and ${max}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

const port = intEnv('AUTODESK_SANDBOX_PORT', 4020, 65535);
const seed = intEnv('AUTODESK_SANDBOX_SEED_USERS', 0, 100_000);
const env = process.env;

const sandbox = await startAutodeskSandbox({
  port,
  ...(env.AUTODESK_SANDBOX_CLIENT_ID ? { clientId: env.AUTODESK_SANDBOX_CLIENT_ID } : {}),
  ...(env.AUTODESK_SANDBOX_CLIENT_SECRET ? { clientSecret: env.AUTODESK_SANDBOX_CLIENT_SECRET } : {}),
  ...(env.AUTODESK_SANDBOX_WEBHOOK_URL ? { webhookUrl: env.AUTODESK_SANDBOX_WEBHOOK_URL } : {}),
  ...(env.AUTODESK_SANDBOX_WEBHOOK_SECRET ? { webhookSecret: env.AUTODESK_SANDBOX_WEBHOOK_SECRET } : {}),
}).catch((err: unknown) => fail(`cannot listen on port ${port}: ${err instanceof Error ? err.message : String(err)}`));

if (seed > 0) sandbox.seedUsers(seed);

// It is a local fake, so printing its (fake) client secret is what a person running it needs.
console.log(
  `Autodesk sandbox on ${sandbox.baseUrl} (AUTODESK_BASE_URL=${sandbox.baseUrl} AUTODESK_CLIENT_ID=${sandbox.clientId} AUTODESK_CLIENT_SECRET=${sandbox.clientSecret})`,
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  sandbox.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
