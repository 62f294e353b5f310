/**
 * Runs the real bot (`src/main.ts`) as a child process, the way `npm start` does, for tests and the demo.
 * Readiness and every later milestone are read from its JSON log lines, so callers await events, not sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The node flags `npm start` passes (package.json `config.nodeFlags`), so a bundle here runs with the same heap. */
function startFlags(): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { config?: { nodeFlags?: string } };
  return manifest.config?.nodeFlags?.split(/\s+/).filter(Boolean) ?? [];
}

export interface LogLine {
  level?: string;
  msg?: string;
  [key: string]: unknown;
}

export class BotProcess {
  private child: ChildProcess | undefined;
  private readonly events = new EventEmitter();
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  private exited: Promise<number | null> = Promise.resolve(null);

  /** `script` is the entry point, relative to the repository: the bot's own by default; the bench runs a bare Bolt app the same way. */
  constructor(private readonly env: Record<string, string>, private readonly echo = false, private readonly script = 'src/main.ts') {}

  /** The child's process id while it runs (the bench reads its peak memory from /proc). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the bot and resolves once it logged "accessbot started"; rejects with its stderr if it exits first. */
  async start(timeoutMs = 20_000): Promise<void> {
    // A built bundle (.mjs) runs on plain node, as `npm start` runs it; TypeScript source through tsx.
    const args = this.script.endsWith('.mjs') ? [...startFlags(), this.script] : ['--import', 'tsx', this.script];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_FORMAT: 'json', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const raw = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (this.echo) process.stdout.write(`  [bot] ${raw}\n`);
        let line: LogLine;
        try {
          line = JSON.parse(raw) as LogLine;
        } catch {
          line = { msg: raw };
        }
        this.lines.push(line);
        this.events.emit('line', line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr.push(chunk.toString());
      if (this.echo) process.stderr.write(chunk);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => {
      this.events.emit('exit', code);
      resolve(code);
    }));
    await this.waitForLine((line) => line.msg === 'accessbot started', timeoutMs);
  }

  waitForLine(pick: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const found = this.lines.find(pick);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('line', onLine);
        this.events.off('exit', onExit);
      };
      const onLine = (line: LogLine) => {
        if (!pick(line)) return;
        cleanup();
        resolve(line);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`bot exited (code ${code}) before the awaited log line. stderr:\n${this.stderr.join('')}\nlast lines:\n${this.lines.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for a bot log line; last lines:\n${this.lines.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      this.events.on('line', onLine);
      this.events.once('exit', onExit);
    });
  }

  /** SIGTERM (graceful) or SIGKILL (a crash); resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    return this.exited;
  }

  get running(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }
}
