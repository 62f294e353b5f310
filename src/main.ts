/** `npm start`: load configuration, start the bot, stop cleanly on SIGTERM/SIGINT (a second signal exits at once). */
import { buildBot } from './app.js';
import { ConfigError, loadConfig, settingsOf, usedPlugins } from './config.js';
import { createLogger } from './util/log.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

let settings;
try {
  settings = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) fail(`accessbot cannot start: ${error.message}`);
  throw error;
}

const { env } = settings;
const plugins = usedPlugins(settings.access);
const log = createLogger({
  level: env.LOG_LEVEL,
  format: env.LOG_FORMAT,
  secrets: [env.SLACK_BOT_TOKEN, env.SLACK_SIGNING_SECRET, env.SLACK_APP_TOKEN, ...plugins.flatMap((plugin) => plugin.secrets?.(settingsOf(settings, plugin)) ?? [])].filter((s): s is string => Boolean(s)),
});

let bot;
try {
  bot = buildBot(settings, log);
  await bot.start();
} catch (error) {
  log.error('accessbot failed to start', { error: (error as Error).message });
  fail(`accessbot cannot start: ${(error as Error).message}`);
}

log.info('accessbot started', {
  mode: settings.mode === 'socket' ? 'Socket Mode' : 'HTTP',
  port: env.PORT,
  apps: settings.access.apps.map((app) => `${app.id} (${app.connector})`).join(', '),
  database: env.DATABASE_PATH,
  ...Object.assign({}, ...plugins.map((plugin) => plugin.startupNote?.(settingsOf(settings, plugin)) ?? {})),
});

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) {
    log.warn('second signal: exiting now', { signal });
    process.exit(1);
  }
  stopping = true;
  log.info('shutting down: finishing running jobs', { signal });
  bot.stop().then(
    () => {
      log.info('stopped');
      process.exit(0);
    },
    (error: Error) => {
      log.error('shutdown failed', { error: error.message });
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
