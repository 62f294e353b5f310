import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';

/**
 * An explanation only the clicker sees: ephemeral through the message's response_url, or a DM when the
 * button was on the Home tab (which has no response_url).
 */
export async function tellActor(args: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs, text: string): Promise<void> {
  if (args.body.response_url) {
    await args.respond({ response_type: 'ephemeral', replace_original: false, text });
    return;
  }
  await args.client.chat.postMessage({ channel: args.body.user.id, text });
}
