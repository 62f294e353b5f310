/** Job kinds of the Slack side (stored in queued rows: the strings never change). */
import type { Block, KnownBlock } from '@slack/types';
import { z } from 'zod';
import { defineJob } from '../jobs/kinds.js';
import { trustedMrkdwn, type Mrkdwn } from '../util/mrkdwn.js';

declare module '../jobs/kinds.js' {
  interface JobPayloads {
    'slack.send': { channel: string; text: Mrkdwn; blocks?: (KnownBlock | Block)[] | undefined };
  }
}

const sendMessagePayload = z.object({
  channel: z.string(),
  // Every enqueued text was built as Mrkdwn (escaped where people typed it), so what is read back is safe as is.
  text: z.string().transform(trustedMrkdwn),
  blocks: z.array(z.custom<KnownBlock | Block>((block) => typeof block === 'object' && block !== null)).optional(),
});

export const SLACK_JOB = {
  /** Post one Slack message (DM or channel) in words already written: `{ channel, text, blocks? }`. */
  sendMessage: defineJob('slack.send', sendMessagePayload),
} as const;
