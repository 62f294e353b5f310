/** Turns what the sandboxes recorded into lines a person reads: who saw what, and what Autodesk received. */
import type { AutodeskSandbox } from '../sandboxes/autodesk/server.js';
import type { SlackObject, SlackSandbox } from '../sandboxes/slack/server.js';

export class Transcript {
  private slackSeen = 0;
  private ephemeralSeen = 0;
  private autodeskSeen = 0;
  private readonly started = Date.now();
  readonly lines: string[] = [];
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly slack: SlackSandbox, private readonly autodesk: AutodeskSandbox, private readonly names: Map<string, string>,
    options: { fromNow?: boolean } = {}, private readonly write = (line: string) => process.stdout.write(`${line}\n`),
  ) {
    if (options.fromNow) {
      this.slackSeen = slack.calls.length;
      this.ephemeralSeen = slack.ephemerals.length;
      this.autodeskSeen = autodesk.requests.length;
    }
    this.stops.push(slack.onChange(() => this.drain()), autodesk.onChange(() => this.drain()));
  }

  private stamp(): string {
    return `+${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s`;
  }

  print(line: string): void {
    this.lines.push(line);
    this.write(line);
  }

  scene(title: string): void {
    this.print('');
    this.print(`━━ ${title} ${'━'.repeat(Math.max(0, 70 - title.length))}`);
  }

  action(who: string, what: string): void {
    this.print(`${this.stamp()}  👆 ${this.name(who)} ${what}`);
  }

  name(id: string): string {
    const dmUser = this.slack.dmUserOf(id);
    if (dmUser) return this.names.get(dmUser) ?? dmUser;
    return this.names.get(id) ?? id;
  }

  private where(channel: string): string {
    const dmUser = this.slack.dmUserOf(channel) ?? (channel.startsWith('U') ? channel : undefined);
    return dmUser ? `DM to ${this.names.get(dmUser) ?? dmUser}` : this.name(channel);
  }

  /** A mrkdwn line as a person reads it, people by name. */
  readable(text: string): string {
    return this.withNames(text);
  }

  private static plain(text: string): string {
    // Markup first, then Slack's three escapes back to the characters a person sees.
    return text.replace(/<@(\w+)>/g, '@$1').replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1').replace(/[*_>]/g, '').replace(/\s+/g, ' ').trim()
      .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }

  private withNames(text: string): string {
    return Transcript.plain(text).replace(/@(U\w+)/g, (_, id: string) => `@${this.names.get(id) ?? id}`);
  }

  private summary(blocks: SlackObject[] | undefined): string {
    if (!blocks) return '';
    const texts: string[] = [];
    const buttons: string[] = [];
    for (const block of blocks) {
      if (block.type === 'section' && block.text?.text) texts.push(block.text.text);
      if (block.type === 'context') texts.push(...(block.elements ?? []).map((e: SlackObject) => e.text ?? ''));
      for (const element of block.type === 'actions' ? block.elements ?? [] : block.accessory ? [block.accessory] : []) {
        if (element.type === 'button') buttons.push(`[${element.text.text}]`);
      }
    }
    const progress = texts.find((t) => t.includes('Progress'));
    const detail = progress ? this.withNames(progress) : '';
    return [detail && `  · ${detail.slice(0, 160)}`, buttons.length ? `  ${buttons.join(' ')}` : '  (no buttons)'].filter(Boolean).join('');
  }

  drain(): void {
    for (; this.slackSeen < this.slack.calls.length; this.slackSeen++) {
      const call = this.slack.calls[this.slackSeen]!;
      const args = call.args;
      if (!call.ok) {
        this.print(`${this.stamp()}  ⚠️  Slack refused ${call.method}: ${call.error}`);
        continue;
      }
      if (call.method === 'chat.postMessage') {
        this.print(`${this.stamp()}  💬 ${this.where(args.channel)}: ${this.withNames(args.text ?? '').slice(0, 150)}${this.summary(args.blocks)}`);
      } else if (call.method === 'chat.update') {
        this.print(`${this.stamp()}  ✏️  updated in ${this.where(args.channel)}: ${this.withNames(args.text ?? '').slice(0, 90)}${this.summary(args.blocks)}`);
      } else if (call.method === 'views.open' || call.method === 'views.push') {
        this.print(`${this.stamp()}  🪟 ${this.name(this.slack.views.at(-1)?.userId ?? '')} sees the modal "${args.view?.title?.text ?? ''}"`);
      }
    }
    for (; this.ephemeralSeen < this.slack.ephemerals.length; this.ephemeralSeen++) {
      const ephemeral = this.slack.ephemerals[this.ephemeralSeen]!;
      this.print(`${this.stamp()}  🤫 only ${this.name(ephemeral.user)} sees: ${this.withNames(ephemeral.text ?? '').slice(0, 160)}`);
    }
    for (; this.autodeskSeen < this.autodesk.requests.length; this.autodeskSeen++) {
      const request = this.autodesk.requests[this.autodeskSeen]!;
      this.print(`${this.stamp()}  🛠  Autodesk received ${request.method} ${request.path} → ${request.status}`);
    }
  }

  close(): void {
    this.drain();
    this.stops.forEach((stop) => stop());
  }
}
