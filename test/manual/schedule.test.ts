/** nextReminderTime: the interval, then working hours in the company's timezone, decided from plain instants. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alignToHours, isWithinHours, nextReminderTime, parseReminderHours } from '../../src/util/working-hours.js';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('nextReminderTime', () => {
  test('without reminderHours reminders run around the clock', () => {
    assert.equal(iso(nextReminderTime(at('2026-03-07T23:30:00Z'), 4 * H, undefined, 'UTC')), '2026-03-08T03:30:00.000Z');
  });

  test('inside the window the interval is kept as is', () => {
    assert.equal(iso(nextReminderTime(at('2026-03-02T10:00:00Z'), 4 * H, '09:00-18:00 Mon-Fri', 'UTC')), '2026-03-02T14:00:00.000Z');
  });

  test('past the end of the day it moves to the next morning', () => {
    assert.equal(iso(nextReminderTime(at('2026-03-02T16:00:00Z'), 4 * H, '09:00-18:00 Mon-Fri', 'UTC')), '2026-03-03T09:00:00.000Z');
  });

  test('the end of the window is exclusive', () => {
    assert.equal(iso(nextReminderTime(at('2026-03-02T14:00:00Z'), 4 * H, '09:00-18:00 Mon-Fri', 'UTC')), '2026-03-03T09:00:00.000Z');
  });

  test('Friday evening waits for Monday morning', () => {
    assert.equal(iso(nextReminderTime(at('2026-03-06T17:30:00Z'), H, '09:00-18:00 Mon-Fri', 'UTC')), '2026-03-09T09:00:00.000Z');
  });

  test('early in the morning it waits for the start of the same day', () => {
    assert.equal(iso(nextReminderTime(at('2026-03-03T02:00:00Z'), H, '09:00-18:00 Mon-Fri', 'UTC')), '2026-03-03T09:00:00.000Z');
  });

  test('hours are read in the configured timezone', () => {
    // 09:00 in Paris is 08:00 UTC in winter.
    assert.equal(iso(nextReminderTime(at('2026-03-02T17:30:00Z'), H, '09:00-18:00 Mon-Fri', 'Europe/Paris')), '2026-03-03T08:00:00.000Z');
    // Across the spring change (29 March 2026), 09:00 in Paris is 07:00 UTC.
    assert.equal(iso(nextReminderTime(at('2026-03-27T17:30:00Z'), H, '09:00-18:00 Mon-Fri', 'Europe/Paris')), '2026-03-30T07:00:00.000Z');
  });

  test('a day range may wrap over the weekend, and days are optional', () => {
    const wrap = parseReminderHours('09:00-17:00 Fri-Mon')!;
    assert.deepEqual([...wrap.days].sort(), [0, 1, 5, 6]);
    assert.equal(iso(alignToHours(at('2026-03-03T10:00:00Z'), wrap, 'UTC')), '2026-03-06T09:00:00.000Z');
    assert.equal(parseReminderHours('08:00-20:00')!.days.size, 7);
  });

  test('an overnight window belongs to the day it starts on', () => {
    const night = parseReminderHours('22:00-06:00 Mon-Fri')!;
    assert.equal(isWithinHours(at('2026-03-03T03:00:00Z'), night, 'UTC'), true); // Tuesday 03:00, Monday's night
    assert.equal(isWithinHours(at('2026-03-07T03:00:00Z'), night, 'UTC'), true); // Saturday 03:00, Friday's night
    assert.equal(isWithinHours(at('2026-03-08T03:00:00Z'), night, 'UTC'), false); // Sunday 03:00
    assert.equal(iso(alignToHours(at('2026-03-03T12:00:00Z'), night, 'UTC')), '2026-03-03T22:00:00.000Z');
  });

  test('a malformed value is refused', () => {
    assert.throws(() => parseReminderHours('9-5'), /must look like/);
  });
});
