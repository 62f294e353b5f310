import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';

/** What every button listener is given by Bolt. */
export type ActionArgs<Action extends BlockAction = BlockAction> = SlackActionMiddlewareArgs<Action> & AllMiddlewareArgs;

/**
 * An explanation only the clicker sees: ephemeral through the message's response_url, or a DM when the
 * button was on the Home tab (which has no response_url). The one way every button answers its clicker.
 */
export async function tellClicker(args: ActionArgs, text: string): Promise<void> {
  if (args.body.response_url) {
    await args.respond({ response_type: 'ephemeral', replace_original: false, text });
    return;
  }
  await args.client.chat.postMessage({ channel: args.body.user.id, text });
}
