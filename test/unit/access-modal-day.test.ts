/**
 * `/access` builds its form once per day and kind: the effective date it proposes is still today in the
 * configured zone across that zone's midnight, a midnight DST skips (America/Santiago) and a clock set back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { View } from '@slack/types';
import { parseAccessConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { accessCommand } from '../../src/slack/listeners/commands/access.js';
import { baseConfig } from '../support/harness.js';

test('the form proposes today in the zone, also after a midnight DST skips and after the clock goes back', async () => {
  let now = Date.parse('2026-09-05T16:00:00Z'); // noon in Santiago (UTC-4), the day before DST starts
  const ctx = { config: parseAccessConfig({ ...baseConfig(), timezone: 'America/Santiago' }), clock: { now: () => now } } as unknown as AppContext;
  const handler = accessCommand(ctx, () => '');
  const opened: View[] = [];
  const open = async (text: string): Promise<{ date: unknown; kind: unknown }> => {
    const args = {
      command: { text, trigger_id: 'trigger', user_id: 'U0ALICE', user_name: 'alice' },
      ack: async () => undefined,
      client: { views: { open: async ({ view }: { view: View }) => void opened.push(view) } },
      logger: { error: () => undefined },
    } as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs;
    await handler(args);
    const blocks = opened.at(-1)!.blocks as { block_id?: string; element?: { initial_date?: string; initial_option?: { value: string } } }[];
    return { date: blocks.find((block) => block.block_id === 'effective_date')?.element?.initial_date, kind: blocks.find((block) => block.block_id === 'kind')?.element?.initial_option?.value };
  };

  assert.deepEqual(await open(''), { date: '2026-09-05', kind: undefined });
  assert.deepEqual(await open('offboard'), { date: '2026-09-05', kind: 'offboard' }, 'each kind has its own form');
  now = Date.parse('2026-09-06T03:59:59Z'); // 23:59:59 in Santiago
  assert.deepEqual(await open(''), { date: '2026-09-05', kind: undefined });
  now = Date.parse('2026-09-06T04:00:00Z'); // midnight is skipped: the wall clock shows 01:00 on the 6th
  assert.deepEqual(await open(''), { date: '2026-09-06', kind: undefined });
  assert.deepEqual(await open('onboard'), { date: '2026-09-06', kind: 'onboard' });
  now = Date.parse('2026-09-05T16:00:00Z');
  assert.deepEqual(await open('onboard'), { date: '2026-09-05', kind: 'onboard' }, 'a clock set back gets its own day again');
});
