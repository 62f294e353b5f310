/** Job kinds of the Slack side (stored in queued rows: the strings never change). */
export const SLACK_JOB = {
  /** Post one Slack message (DM or channel) in words already written: `{ channel, text, blocks? }`. */
  sendMessage: 'slack.send',
} as const;
