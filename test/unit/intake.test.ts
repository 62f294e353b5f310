/** Modal validation rules that Slack's own client cannot reach (it blocks empty required fields itself). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAccessConfig } from '../../src/config.js';
import { validateRequest, type ModalInput } from '../../src/requests/intake.js';
import { baseConfig } from '../support/harness.js';

const config = parseAccessConfig(baseConfig());
const now = Date.parse('2026-11-25T12:00:00Z');
const lookup = async (id: string) => ({ id, email: `${id.toLowerCase()}@example.com`, isBot: false, deleted: false });
const input = (extra: Partial<ModalInput>): ModalInput => ({ kind: 'onboard', subjects: ['U0BOB'], apps: ['autodesk'], autodeskTeams: [], justification: 'because', ...extra });

test('no app, an app removed from the config, and an unknown team are refused on their fields', async () => {
  const none = await validateRequest(config, input({ apps: [] }), now, lookup);
  assert.deepEqual(none.ok ? {} : none.errors, { apps: 'Choose at least one app.' });
  const gone = await validateRequest(config, input({ apps: ['figma'] }), now, lookup);
  assert.match(gone.ok ? '' : gone.errors.apps!, /Not configured any more: figma/);
  const team = await validateRequest(config, input({ autodeskTeams: ['team-000'] }), now, lookup);
  assert.match(team.ok ? '' : team.errors.autodesk_teams!, /Unknown teams: team-000/);
});

test('a justification over 3000 characters is refused with its length', async () => {
  const result = await validateRequest(config, input({ justification: 'x'.repeat(3001) }), now, lookup);
  assert.match(result.ok ? '' : result.errors.justification!, /under 3000 characters \(it has 3001\)/);
});

test('the effective date is checked in the configured timezone, not UTC', async () => {
  const tokyo = parseAccessConfig({ ...baseConfig(), timezone: 'Asia/Tokyo' });
  // 20:00 UTC on the 25th is already the 26th in Tokyo: the 25th is in the past there.
  const late = Date.parse('2026-11-25T20:00:00Z');
  const result = await validateRequest(tokyo, input({ effectiveDate: '2026-11-25' }), late, lookup);
  assert.match(result.ok ? '' : result.errors.effective_date!, /today is 2026-11-26 in Asia\/Tokyo/);
});

test('the same person picked twice, with different e-mail casing, becomes one subject; the default role applies', async () => {
  const result = await validateRequest(config, input({ subjects: ['U0BOB'], newHireEmail: 'U0BOB@EXAMPLE.COM', newHireFirstName: 'B', newHireLastName: 'B' }), now, lookup);
  assert.ok(result.ok);
  assert.equal(result.request.subjects.length, 1);
  assert.equal(result.request.options.autodeskRole, 'user');
});
