/** Job kinds shared across folders (connectors register their own beside their code). */
export const JOB = {
  /** Run the app's connector for one approved item. */
  fulfillItem: 'item.fulfill',
  /** Post missing cards and re-render every Slack message about a request from the database. */
  syncRequestMessages: 'request.sync_messages',
  /** Post one Slack message (DM or channel). */
  sendMessage: 'slack.send',
  /** Re-publish one person's App Home. */
  refreshHome: 'slack.refresh_home',
} as const;
