/**
 * The bench's baseline: a plain `@slack/bolt` app with a trivial `/access` and Approve handler, started exactly as
 * the bot is (a child process on plain node, bundled by esbuild as `npm start` bundles the bot, the same HTTPReceiver, the same Slack sandbox), so the
 * ack latency it shows is what Bolt itself costs on this machine. Reads the bot's own environment variables.
 */
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const port = Number(process.env.PORT);
const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET!, endpoints: '/slack/events', port });
const app = new App({
  token: process.env.SLACK_BOT_TOKEN!,
  receiver,
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

const modal = {
  type: 'modal' as const,
  callback_id: 'bare_request',
  title: { type: 'plain_text' as const, text: 'Request access' },
  submit: { type: 'plain_text' as const, text: 'Submit' },
  blocks: [{ type: 'input' as const, block_id: 'why', label: { type: 'plain_text' as const, text: 'Why' }, element: { type: 'plain_text_input' as const, action_id: 'why' } }],
};

// The bench's rows where the bare app does the bot's work: the bot's own modal (`/access new`) and the bot's own
// report answer (`/access report …`), as the bench read them from the bot in its warm-up.
const sameModal = process.env.BARE_MODAL_VIEW ? (JSON.parse(process.env.BARE_MODAL_VIEW) as typeof modal) : modal;
const sameReport = process.env.BARE_REPORT_ANSWER ? (JSON.parse(process.env.BARE_REPORT_ANSWER) as { text: string }) : { text: 'report' };

app.command('/access', async ({ command, ack, client }) => {
  const text = command.text.trim();
  if (text === 'help') {
    await ack({ response_type: 'ephemeral', text: 'Usage of `/access`: `/access` opens the form.' });
    return;
  }
  if (text.startsWith('report')) {
    await ack({ response_type: 'ephemeral', ...sameReport });
    return;
  }
  await ack();
  await client.views.open({ trigger_id: command.trigger_id, view: text === 'new' ? sameModal : modal });
});
// The bot's Approve click makes about two Slack calls after its ack (the requester's and the assignees' DMs, counted
// in the sandbox), served by the Slack sandbox inside the bench process that times the acks. The bare app makes two
// as well, so both load the measuring side alike and the ratio shows the bot's own cost.
// Clicks on requests marked QUIET (the bench's other click row) only ack, as the bare app did before.
app.action(/^approval_approve/, async ({ ack, body, action, client }) => {
  await ack();
  if ('action_id' in action && action.action_id.includes('QUIET')) return;
  const text = `Approved by <@${body.user.id}>`;
  for (const channel of [process.env.BARE_REQUESTER_ID ?? body.user.id, body.user.id]) {
    await client.chat.postMessage({ channel, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  }
});

await app.start(port);
process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'accessbot started', bare: true })}\n`);
process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));
