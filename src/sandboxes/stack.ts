/**
 * The whole product on loopback: the Slack sandbox, the Autodesk sandbox and the real bot process, with a fresh
 * SQLite file and config. The end-to-end tests, the demo and the benchmarks all stand on it, and talk to the
 * bot only as Slack and Autodesk would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startAutodeskSandbox, type AutodeskSandbox, type AutodeskSandboxOptions } from './autodesk/server.js';
import { BotProcess } from './bot-process.js';
import { SlackDriver } from './slack/driver.js';
import { startSlackSandbox, type SandboxUser, type SlackSandbox } from './slack/server.js';

export const SIGNING_SECRET = 'test-signing-secret';
export const BOT_TOKEN = 'xoxb-sandbox';
export const APP_TOKEN = 'xapp-sandbox';

export const PEOPLE = {
  requester: 'U0ALICE',
  manager: 'U0MANAGER',
  owner1: 'U0OWNER1',
  owner2: 'U0OWNER2',
  axureOwner: 'U0OWNER3',
  it1: 'U0IT1',
  it2: 'U0IT2',
  bob: 'U0BOB',
  carol: 'U0CAROL',
  dave: 'U0DAVE',
  stranger: 'U0STRANGER',
  botUser: 'U0SOMEBOT',
  gone: 'U0GONE',
  noMail: 'U0NOMAIL',
  admin: 'U0ADMIN',
} as const;

const person = (id: string, first: string, last: string, extra: Partial<SandboxUser> = {}): SandboxUser => ({
  id, name: first.toLowerCase(), realName: `${first} ${last}`, firstName: first, lastName: last, email: `${first.toLowerCase()}@example.com`, ...extra,
});

export const USERS: SandboxUser[] = [
  person(PEOPLE.requester, 'Alice', 'Asker'),
  person(PEOPLE.manager, 'Mona', 'Manager'),
  person(PEOPLE.owner1, 'Olga', 'Owner'),
  person(PEOPLE.owner2, 'Otto', 'Owner'),
  person(PEOPLE.axureOwner, 'Ada', 'Axure'),
  person(PEOPLE.it1, 'Ian', 'Tech'),
  person(PEOPLE.it2, 'Ivy', 'Tech'),
  person(PEOPLE.bob, 'Bob', 'Builder', { email: 'Bob.Builder@Example.com' }),
  person(PEOPLE.carol, 'Carol', 'Designer'),
  person(PEOPLE.dave, 'Dave', 'Drafter'),
  person(PEOPLE.stranger, 'Sam', 'Stranger'),
  person(PEOPLE.botUser, 'Robo', 'Bot', { isBot: true }),
  person(PEOPLE.gone, 'Gina', 'Gone', { deleted: true }),
  person(PEOPLE.noMail, 'Nora', 'Nomail', { email: undefined }),
  person(PEOPLE.admin, 'Adam', 'Admin'),
];

export const IT_CHANNEL = 'C0ITOPS';
export const APPROVALS_CHANNEL = 'C0APPROVALS';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw config JSON: tests also write invalid ones.
export function baseConfig(): Record<string, any> {
  return {
    itChannel: IT_CHANNEL,
    approvalsChannel: APPROVALS_CHANNEL,
    timezone: 'UTC',
    protectedEmails: ['breakglass@example.com'],
    itAdmins: [PEOPLE.admin],
    jobs: { retryBase: '200ms', retryMax: '2s', maxAttempts: 4 },
    apps: [
      {
        id: 'autodesk', name: 'Autodesk', connector: 'autodesk',
        approvalSteps: [{ name: 'Manager', approvers: [PEOPLE.manager] }, { name: 'App owner', approvers: [PEOPLE.owner1, PEOPLE.owner2] }],
        roles: ['user', 'admin', 'viewer'], defaultRole: 'user',
        teams: [{ id: 'team-789', name: 'Design Team', role: 'member' }],
        offboardAction: 'deactivate', pendingPollEvery: '1s',
      },
      {
        id: 'axure', name: 'Axure RP', connector: 'manual',
        approvers: [PEOPLE.axureOwner], assignees: [PEOPLE.it1, PEOPLE.it2], reminderEvery: '4h', escalateAfter: 3,
      },
    ],
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface HarnessOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw config JSON, as baseConfig()
  config?: Record<string, any>;
  autodesk?: AutodeskSandboxOptions;
  env?: Record<string, string>;
  echo?: boolean;
  /** Slack users besides USERS, in the workspace before the bot starts. */
  users?: SandboxUser[];
  /** Run the bot in Socket Mode (SLACK_APP_TOKEN, no signing secret); the driver then talks over the socket. */
  socketMode?: boolean;
  /** Slack user groups (S…) and their members, for itAdmins or approvers given as groups. */
  userGroups?: Record<string, string[]>;
  /** The bot's entry point: its TypeScript source by default; the bench runs the bundle `npm start` builds. */
  botScript?: string;
}

export class Harness {
  bot!: BotProcess;
  driver!: SlackDriver;
  private constructor(
    readonly dir: string, readonly port: number, readonly slack: SlackSandbox, readonly autodesk: AutodeskSandbox,
    readonly env: Record<string, string>, private readonly echo: boolean, private readonly botScript?: string,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const dir = mkdtempSync(join(tmpdir(), 'accessbot-e2e-'));
    const port = await freePort();
    const slack = await startSlackSandbox({ users: [...USERS, ...(options.users ?? [])], botToken: BOT_TOKEN, appToken: APP_TOKEN, userGroups: options.userGroups });
    const autodesk = await startAutodeskSandbox({ webhookUrl: `http://127.0.0.1:${port}/webhooks/autodesk`, ...options.autodesk });
    const configPath = join(dir, 'access.config.json');
    writeFileSync(configPath, JSON.stringify(options.config ?? baseConfig(), null, 2));
    const env = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      ...(options.socketMode ? { SLACK_APP_TOKEN: APP_TOKEN } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      DATABASE_PATH: join(dir, 'accessbot.db'),
      ACCESS_CONFIG: configPath,
      AUTODESK_BASE_URL: autodesk.baseUrl,
      AUTODESK_TOKEN_URL: autodesk.tokenUrl,
      AUTODESK_CLIENT_ID: autodesk.clientId,
      AUTODESK_CLIENT_SECRET: autodesk.clientSecret,
      LOG_LEVEL: 'info',
      ...options.env,
    };
    const harness = new Harness(dir, port, slack, autodesk, env, options.echo ?? Boolean(process.env.ECHO_BOT), options.botScript);
    await harness.startBot();
    return harness;
  }

  get botUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The bot's own rule: an app token means Socket Mode. */
  get socketMode(): boolean {
    return Boolean(this.env.SLACK_APP_TOKEN);
  }

  async startBot(): Promise<void> {
    const knownConnections = this.slack.socketMode.connections.length;
    this.bot = new BotProcess(this.env, this.echo, this.botScript);
    await this.bot.start();
    if (this.socketMode) {
      // Bolt's start resolves on Slack's hello, so the link is normally up already; this makes it certain.
      await this.slack.waitFor(() => this.slack.socketMode.connections.slice(knownConnections).find((c) => c.closedAt === undefined), {
        description: "the bot's Socket Mode connection",
      });
    }
    this.driver = new SlackDriver({
      botUrl: `${this.botUrl}/slack/events`, signingSecret: SIGNING_SECRET, sandbox: this.slack, transport: this.socketMode ? 'socket' : 'http',
    });
  }

  /** Kills the bot (SIGKILL: a crash, or SIGTERM: a deploy) and starts a new process on the same database. */
  async restartBot(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.bot.stop(signal);
    await this.startBot();
  }

  /** A read-only look at the bot's database, as an operator would take it. */
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(this.env.DATABASE_PATH, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  async close(): Promise<void> {
    await this.bot?.stop('SIGTERM');
    await this.slack.close();
    await this.autodesk.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
