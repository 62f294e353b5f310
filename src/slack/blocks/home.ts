/** The App Home tab: my requests, approvals waiting for me (with working buttons), my tasks. */
import type { KnownBlock, View } from '@slack/types';
import type { AccessConfig } from '../../config.js';
import type { Approval, RequestDetail } from '../../requests/model.js';
import { mrkdwn } from '../../util/mrkdwn.js';
import { context, header, section } from './common.js';
import { approvalCard, requestOverview } from './request.js';

export function homeView(config: AccessConfig, mine: RequestDetail[], awaitingMe: { detail: RequestDetail; decides: Approval[] }[], taskBlocks: KnownBlock[], now: number): View {
  const blocks: KnownBlock[] = [header('Access requests'), context(mrkdwn`Type \`/access\` anywhere to ask for access, \`/access help\` for more.`)];
  blocks.push(section(mrkdwn`*Waiting for your approval* (${awaitingMe.length})`));
  if (awaitingMe.length === 0) blocks.push(context(mrkdwn`Nothing waiting for you.`));
  for (const { detail, decides } of awaitingMe.slice(0, 5)) {
    // Home buttons need ids unique across the whole view: the card's block id carries the request id.
    blocks.push(...approvalCard(config, detail, { personal: decides }).blocks.filter((block) => block.type !== 'header'), { type: 'divider' });
  }
  if (awaitingMe.length > 5) blocks.push(context(mrkdwn`…and ${awaitingMe.length - 5} more in your DMs.`));
  blocks.push(section(mrkdwn`*Your open requests* (${mine.length})`));
  if (mine.length === 0) blocks.push(context(mrkdwn`You have no open requests.`));
  for (const detail of mine.slice(0, 8)) blocks.push(...requestOverview(config, detail, now));
  if (taskBlocks.length) blocks.push({ type: 'divider' }, ...taskBlocks);
  // Slack allows 100 blocks in a Home view.
  return { type: 'home', blocks: blocks.slice(0, 100) };
}
