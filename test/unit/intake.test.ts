/** Modal validation rules that Slack's own client cannot reach (it blocks empty required fields itself). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAccessConfig } from '../../src/config.js';
import { shippedPlugins } from '../../src/connectors/plugins.js';
import { MAX_PEOPLE, validateRequest, type ModalInput, type PeopleLookup, type PersonLookup, type SlackPerson } from '../../src/requests/intake.js';
import { baseConfig } from '../support/harness.js';
import { logPlugin } from '../support/log-connector/index.js';

const config = parseAccessConfig(baseConfig());
const now = Date.parse('2026-11-25T12:00:00Z');
const person = (id: string, extra: Partial<SlackPerson> = {}): SlackPerson => ({ id, email: `${id.toLowerCase()}@example.com`, isBot: false, deleted: false, ...extra });
/** A directory that knows everyone by the rule above, except those it is told are unknown or unavailable. */
function directory(opts: { unknown?: string[]; unavailable?: string[]; byEmail?: (email: string) => PersonLookup } = {}): PeopleLookup & { asked: string[] } {
  const asked: string[] = [];
  const answer = (id: string): PersonLookup =>
    opts.unavailable?.includes(id) ? { status: 'unavailable' } : opts.unknown?.includes(id) ? { status: 'not_found' } : { status: 'found', person: person(id) };
  return {
    asked,
    byIds: async (ids) => {
      asked.push(...ids);
      return new Map(ids.map((id) => [id, answer(id)]));
    },
    byEmail: async (email) => opts.byEmail?.(email) ?? { status: 'not_found' },
    byEmails: async (emails) => new Map(emails.map((email) => [email.toLowerCase(), opts.byEmail?.(email) ?? { status: 'not_found' }])),
  };
}
const lookup = directory();
const input = (extra: Partial<ModalInput>): ModalInput => ({ kind: 'onboard', subjects: ['U0BOB'], apps: ['autodesk'], fields: {}, justification: 'because', ...extra });

test('no app, an app removed from the config, and an unknown team are refused on their fields', async () => {
  const none = await validateRequest(config, input({ apps: [] }), now, lookup);
  assert.deepEqual(none.ok ? {} : none.errors, { apps: 'Choose at least one app.' });
  const gone = await validateRequest(config, input({ apps: ['figma'] }), now, lookup);
  assert.match(gone.ok ? '' : gone.errors.apps!, /Not configured any more: figma/);
  const team = await validateRequest(config, input({ fields: { autodesk_teams: ['team-000'] } }), now, lookup);
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
  assert.equal(result.request.options.role, 'user');
});

test('more than 500 people are refused on the People field with the count, before any Slack look-up', async () => {
  const people = directory();
  const ids = Array.from({ length: MAX_PEOPLE }, (_, i) => `U${String(i).padStart(6, '0')}`);
  const withHire = await validateRequest(config, input({ subjects: ids, newHireEmail: 'jane@example.com', newHireFirstName: 'Jane', newHireLastName: 'Doe' }), now, people);
  assert.equal(withHire.ok ? '' : withHire.errors.subjects, 'A request can name at most 500 people; this one names 501. Split it into several requests.');
  assert.deepEqual(people.asked, [], 'nobody was looked up');
  const exactly = await validateRequest(config, input({ subjects: ids }), now, people);
  assert.ok(exactly.ok, 'exactly 500 is allowed');
  assert.equal(exactly.request.subjects.length, MAX_PEOPLE);
});

test('a person Slack could not be asked about is reported as Slack being slow, never as not found', async () => {
  const result = await validateRequest(config, input({ subjects: ['U0BOB', 'U0SLOW', 'U0SLOWER'] }), now, directory({ unavailable: ['U0SLOW', 'U0SLOWER'] }));
  const message = result.ok ? '' : result.errors.subjects!;
  assert.match(message, /Slack is answering slowly right now, so 2 of the 3 people could not be checked yet\. Nothing was submitted/);
  assert.doesNotMatch(message, /could not be found/);
  const unknown = await validateRequest(config, input({ subjects: ['U0GHOST'] }), now, directory({ unknown: ['U0GHOST'] }));
  assert.match(unknown.ok ? '' : unknown.errors.subjects!, /U0GHOST could not be found in Slack/);
});

test('a protected e-mail is refused on the field that named it, whatever its case, for onboarding and offboarding', async () => {
  const guarded = parseAccessConfig({ ...baseConfig(), protectedEmails: ['Breakglass@Example.com'] });
  const picked = directory();
  picked.byIds = async (ids) => new Map(ids.map((id) => [id, { status: 'found', person: person(id, { email: 'BREAKGLASS@example.com', realName: 'Break Glass' }) }]));
  for (const kind of ['onboard', 'offboard']) {
    const result = await validateRequest(guarded, input({ kind, subjects: ['U0BREAK'] }), now, picked);
    assert.match(result.ok ? '' : result.errors.subjects!, /Break Glass \(BREAKGLASS@example\.com\) is a protected account/, kind);
  }
  const hire = await validateRequest(guarded, input({ subjects: [], newHireEmail: 'breakglass@EXAMPLE.com', newHireFirstName: 'B', newHireLastName: 'G' }), now, directory());
  assert.equal(hire.ok ? '' : hire.errors.new_hire_email, 'breakglass@EXAMPLE.com is a protected account: accessbot never changes its access.');
});

test("a new hire's e-mail that belongs to a Slack user is stored with that user's id; unchecked, nothing is stored", async () => {
  const manager = person('U0MANAGER', { email: 'mona@example.com' });
  const known = directory({ byEmail: (email) => (email.toLowerCase() === 'mona@example.com' ? { status: 'found', person: manager } : { status: 'not_found' }) });
  const hire = { subjects: [], newHireEmail: 'Mona@Example.com', newHireFirstName: 'Mona', newHireLastName: 'M' };
  const result = await validateRequest(config, input(hire), now, known);
  assert.ok(result.ok);
  assert.deepEqual(result.request.subjects, [{ slackId: 'U0MANAGER', email: 'Mona@Example.com', firstName: 'Mona', lastName: 'M' }]);
  const stranger = await validateRequest(config, input({ ...hire, newHireEmail: 'jane@example.com' }), now, known);
  assert.equal(stranger.ok && stranger.request.subjects[0]!.slackId, null);
  const slow = await validateRequest(config, input(hire), now, directory({ byEmail: () => ({ status: 'unavailable' }) }));
  assert.match(slow.ok ? '' : slow.errors.new_hire_email!, /Slack is answering slowly/);
});

test('subject_emails: each bad line is refused with its number and why; blank lines and "Name <address>" are fine', async () => {
  const guarded = parseAccessConfig({ ...baseConfig(), protectedEmails: ['Breakglass@Example.com'] });
  const text = 'ok@example.com\n\n  not an address \nJane Doe <jane@example.com>,\nBREAKGLASS@example.com\nx@y';
  const result = await validateRequest(guarded, input({ kind: 'offboard', subjects: [], subjectEmails: text }), now, directory());
  assert.equal(
    result.ok ? '' : result.errors.subject_emails,
    'One e-mail a line. Fix line 3: "not an address" is not an e-mail address; line 5: BREAKGLASS@example.com is a protected account, accessbot never changes its access; line 6: "x@y" is not an e-mail address.',
  );
  const fixed = await validateRequest(guarded, input({ kind: 'offboard', subjects: [], subjectEmails: 'ok@example.com\n\nJane Doe <jane@example.com>,' }), now, directory());
  assert.ok(fixed.ok, JSON.stringify(fixed));
  assert.deepEqual(fixed.request.subjects.map((s) => s.email), ['ok@example.com', 'jane@example.com']);
});

test('subject_emails: matched Slack users keep their id, deactivated ones only for offboarding; unknown addresses stay subjects; duplicates count once', async () => {
  const gone = person('U0GONE', { email: 'gina@example.com', realName: 'Gina Gone', deleted: true });
  const people = directory({
    byEmail: (email) => (email.toLowerCase() === 'gina@example.com' ? { status: 'found', person: gone } : email.toLowerCase() === 'u0bob@example.com' ? { status: 'found', person: person('U0BOB') } : { status: 'not_found' }),
  });
  const text = 'GINA@example.com\nleaver@example.com\nU0BOB@example.com\nLeaver@Example.com';
  const off = await validateRequest(config, input({ kind: 'offboard', subjects: ['U0BOB'], subjectEmails: text }), now, people);
  assert.ok(off.ok, JSON.stringify(off));
  assert.deepEqual(off.request.subjects.map((s) => [s.slackId, s.email]), [['U0BOB', 'u0bob@example.com'], ['U0GONE', 'gina@example.com'], [null, 'leaver@example.com']]);
  const on = await validateRequest(config, input({ kind: 'onboard', subjects: [], subjectEmails: text }), now, people);
  assert.match(on.ok ? '' : on.errors.subject_emails!, /^Can't request access for: line 1: GINA@example\.com is Gina Gone, deactivated in Slack/);
  const slow = await validateRequest(config, input({ kind: 'offboard', subjects: [], subjectEmails: text }), now, directory({ byEmail: () => ({ status: 'unavailable' }) }));
  assert.match(slow.ok ? '' : slow.errors.subject_emails!, /Slack is answering slowly right now, so 3 of the 3 e-mails could not be checked/);
});

test('the 500-person limit counts the picker, the e-mail lines and the new hire together', async () => {
  const people = directory();
  const ids = Array.from({ length: MAX_PEOPLE - 2 }, (_, i) => `U${String(i).padStart(6, '0')}`);
  const hire = { newHireEmail: 'jane@example.com', newHireFirstName: 'Jane', newHireLastName: 'Doe' };
  const over = await validateRequest(config, input({ subjects: ids, subjectEmails: 'a@example.com\nb@example.com', ...hire }), now, people);
  assert.equal(over.ok ? '' : over.errors.subject_emails, 'A request can name at most 500 people; this one names 501. Split it into several requests.');
  assert.deepEqual(people.asked, [], 'nobody was looked up');
  const exactly = await validateRequest(config, input({ subjects: ids, subjectEmails: 'a@example.com\nA@example.com\nb@example.com' }), now, people);
  assert.ok(exactly.ok, 'a line repeated counts once: exactly 500');
});

test("a plugin's own fields are checked and stored by the core, for the kind and apps they apply to", async () => {
  const plugins = [...shippedPlugins(), logPlugin()];
  const withLog = parseAccessConfig({ ...baseConfig(), apps: [...baseConfig().apps, { id: 'notes', name: 'Notes', connector: 'log', shelves: ['left', 'right'], approvers: ['U0MANAGER'] }] }, 'access.config.json', plugins);
  const notes = (extra: Partial<ModalInput>) => input({ apps: ['notes'], ...extra });
  const attic = await validateRequest(withLog, notes({ fields: { log_shelf: 'attic' } }), now, lookup);
  assert.deepEqual(attic.ok ? {} : attic.errors, { log_shelf: 'Choose one of: Shelf left, Shelf right.' });
  const long = await validateRequest(withLog, notes({ fields: { log_note: 'x'.repeat(201) } }), now, lookup);
  assert.deepEqual(long.ok ? {} : long.errors, { log_note: 'Keep it under 200 characters (it has 201).' });
  const fine = await validateRequest(withLog, notes({ fields: { log_shelf: 'right', log_note: '  top drawer  ', autodesk_role: 'admin' } }), now, lookup);
  assert.ok(fine.ok);
  // Only the fields of the apps asked for are stored: the Autodesk role is not, since Autodesk was not asked.
  assert.deepEqual(fine.request.options, { shelf: 'right', note: 'top drawer' });
  const offboard = await validateRequest(withLog, notes({ kind: 'offboard', fields: { log_shelf: 'attic', log_note: 'gone' } }), now, lookup);
  assert.ok(offboard.ok, 'an onboarding-only field is not read when offboarding');
  assert.deepEqual(offboard.request.options, { note: 'gone' });
});
