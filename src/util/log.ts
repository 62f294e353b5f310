/**
 * Structured logs: JSON lines in production, readable lines in a terminal. Anything that looks like a
 * secret is masked here, once, so no caller can print a token by accident (even inside an error message).
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const SECRET_PATTERNS = [/xox[abpre]-[A-Za-z0-9-]+/g, /xapp-[A-Za-z0-9-]+/g, /(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi];
const SECRET_KEYS = /token|secret|password|authorization/i;

export function redact(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, (match) => `${match.slice(0, 5)}…[redacted]`);
  for (const secret of extraSecrets) if (secret.length >= 6) out = out.split(secret).join('[redacted]');
  return out;
}

function clean(value: unknown, secrets: readonly string[], key = ''): unknown {
  if (SECRET_KEYS.test(key) && typeof value === 'string') return '[redacted]';
  if (typeof value === 'string') return redact(value, secrets);
  if (value instanceof Error) return redact(value.message, secrets);
  if (Array.isArray(value)) return value.map((entry) => clean(entry, secrets));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clean(v, secrets, k)]));
  return value;
}

export interface LoggerOptions {
  level?: Level;
  format?: 'json' | 'pretty';
  /** Exact secret values (signing secret, client secret) to mask wherever they appear. */
  secrets?: readonly string[];
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, bound: Record<string, unknown> = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const secrets = options.secrets ?? [];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: Level, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const all = clean({ ...bound, ...fields }, secrets) as Record<string, unknown>;
    const text = redact(message, secrets);
    if (format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg: text, ...all }));
    } else {
      const extras = Object.entries(all).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
      write(`${new Date().toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${text}${extras ? `  ${extras}` : ''}`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
