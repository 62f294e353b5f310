/** The App Home tab: my requests, approvals waiting for me (with working buttons), my tasks. */
import type { KnownBlock, View } from '@slack/types';
import type { AccessConfig } from '../../config.js';
import type { Approval, RequestDetail } from '../../requests/model.js';
import { mrkdwn, type Mrkdwn } from '../../util/mrkdwn.js';
import { context, header, section } from './common.js';
import { approvalCard, requestOverview } from './request.js';

/** Slack refuses a Home view of more than 100 blocks. */
const HOME_BLOCK_LIMIT = 100;

/**
 * The Home tab. `delegation` says who decides for whom just now (mine to someone, or someone's to me). Parts
 * are added while they fit in Slack's 100 blocks; what does not fit is counted, never silently dropped.
 */
export function homeView(
  config: AccessConfig, mine: RequestDetail[], awaitingMe: { detail: RequestDetail; decides: Approval[] }[], taskBlocks: KnownBlock[], now: number,
  delegation: Mrkdwn[] = [],
): View {
  const blocks: KnownBlock[] = [header('Access requests'), context(mrkdwn`Type \`/access\` anywhere to ask for access, \`/access help\` for more.`)];
  for (const line of delegation) blocks.push(context(line));
  // Room kept for the requests' heading, the "more" lines and the tasks, which come after the approvals.
  const reserve = (extra: number) => HOME_BLOCK_LIMIT - extra - taskBlocks.length - 6;
  blocks.push(section(mrkdwn`*Waiting for your approval* (${awaitingMe.length}, oldest first)`));
  if (awaitingMe.length === 0) blocks.push(context(mrkdwn`Nothing waiting for you.`));
  let shownApprovals = 0;
  for (const { detail, decides } of awaitingMe.slice(0, 5)) {
    // Home buttons need ids unique across the whole view: the card's block id carries the request id.
    const card = [...approvalCard(config, detail, { personal: decides }).blocks.filter((block) => block.type !== 'header'), { type: 'divider' } as KnownBlock];
    if (blocks.length + card.length > reserve(10)) break;
    blocks.push(...card);
    shownApprovals++;
  }
  if (awaitingMe.length > shownApprovals) blocks.push(context(mrkdwn`…and ${awaitingMe.length - shownApprovals} more: each has its card in your DMs.`));
  blocks.push(section(mrkdwn`*Your open requests* (${mine.length})`));
  if (mine.length === 0) blocks.push(context(mrkdwn`You have no open requests.`));
  let shownRequests = 0;
  for (const detail of mine.slice(0, 8)) {
    const overview = requestOverview(config, detail, now);
    if (blocks.length + overview.length > reserve(0)) break;
    blocks.push(...overview);
    shownRequests++;
  }
  if (mine.length > shownRequests) blocks.push(context(mrkdwn`…and ${mine.length - shownRequests} more: type \`/access status\` to see them all.`));
  if (taskBlocks.length) blocks.push({ type: 'divider' }, ...taskBlocks);
  return { type: 'home', blocks: blocks.slice(0, HOME_BLOCK_LIMIT) };
}
