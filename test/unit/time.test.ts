/** Zone arithmetic through date-fns: effective dates, calendar steps and working hours on the days DST changes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alignToHours, isWithinHours, nextReminderTime, parseReminderHours } from '../../src/util/working-hours.js';
import { addDaysToDate, dateInZone, instantOfLocalTime, localTimeInZone, startOfDateInZone } from '../../src/util/time.js';

const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('the start of an effective date', () => {
  test('where DST starts at midnight, the day begins at 01:00 local, not at 23:00 the day before', () => {
    // Chile skips 00:00-01:00 on the first Sunday of September; Cuba on the second Sunday of March.
    assert.equal(iso(startOfDateInZone('2026-09-06', 'America/Santiago')), '2026-09-06T04:00:00.000Z'); // 01:00 -03
    assert.equal(iso(startOfDateInZone('2026-03-08', 'America/Havana')), '2026-03-08T05:00:00.000Z'); // 01:00 -04
    assert.equal(dateInZone(startOfDateInZone('2026-09-06', 'America/Santiago'), 'America/Santiago'), '2026-09-06');
    assert.equal(dateInZone(startOfDateInZone('2026-03-08', 'America/Havana'), 'America/Havana'), '2026-03-08');
  });

  test('where DST ends at midnight, the day begins at the second, real midnight', () => {
    // Chile turns 00:00 -03 back to 23:00 -04 on 5 April 2026: 5 April starts at 00:00 -04.
    assert.equal(iso(startOfDateInZone('2026-04-05', 'America/Santiago')), '2026-04-05T04:00:00.000Z');
    assert.equal(dateInZone(startOfDateInZone('2026-04-05', 'America/Santiago') - 1, 'America/Santiago'), '2026-04-04');
  });

  test('ordinary zones and days: local midnight', () => {
    assert.equal(iso(startOfDateInZone('2026-03-29', 'Europe/Paris')), '2026-03-28T23:00:00.000Z'); // DST starts at 02:00
    assert.equal(iso(startOfDateInZone('2026-07-01', 'Asia/Kolkata')), '2026-06-30T18:30:00.000Z');
    assert.equal(iso(startOfDateInZone('2026-11-25', 'UTC')), '2026-11-25T00:00:00.000Z');
  });

  test('a wall time DST skips moves forward by the gap, and stays on its date', () => {
    assert.equal(iso(instantOfLocalTime('2026-03-08', 30, 'America/Havana')), '2026-03-08T05:30:00.000Z'); // 00:30 does not exist: 01:30
    assert.equal(iso(instantOfLocalTime('2026-03-29', 2 * 60 + 30, 'Europe/Paris')), '2026-03-29T01:30:00.000Z'); // 02:30: 03:30 CEST
    assert.deepEqual(localTimeInZone(instantOfLocalTime('2026-09-07', 9 * 60, 'America/Santiago'), 'America/Santiago'), { minutes: 9 * 60, weekday: 1 });
  });
});

describe('calendar dates', () => {
  test('a day later is the next date even across a 23-hour day', () => {
    assert.equal(addDaysToDate('2026-09-05', 1), '2026-09-06');
    assert.equal(addDaysToDate('2026-12-31', 1), '2027-01-01');
    assert.equal(addDaysToDate('2028-02-28', 1), '2028-02-29');
    // 23:30 the evening before Santiago's short day: 24 hours later is already 7 September there.
    const lateEvening = instantOfLocalTime('2026-09-05', 23 * 60 + 30, 'America/Santiago');
    assert.equal(dateInZone(lateEvening + 24 * H, 'America/Santiago'), '2026-09-07');
    assert.equal(addDaysToDate(dateInZone(lateEvening, 'America/Santiago'), 1), '2026-09-06');
  });

  test('a malformed date is refused rather than read as some other day', () => {
    assert.throws(() => startOfDateInZone('06/09/2026', 'UTC'), /not a date like/);
  });
});

describe('working hours across midnight DST', () => {
  const hours = parseReminderHours('00:00-06:00 Mon-Sun')!;

  test('a window starting at midnight on the short day opens at 01:00, the first instant of that day', () => {
    // Saturday 5 September 2026, 22:00 in Santiago: the next window is Sunday's, which begins at 01:00.
    const saturdayNight = instantOfLocalTime('2026-09-05', 22 * 60, 'America/Santiago');
    assert.equal(iso(alignToHours(saturdayNight, hours, 'America/Santiago')), '2026-09-06T04:00:00.000Z');
    assert.equal(isWithinHours(Date.parse('2026-09-06T04:00:00Z'), hours, 'America/Santiago'), true);
  });

  test('nine to six in Havana on the day of the change is nine local, after an interval that crosses the gap', () => {
    const workday = parseReminderHours('09:00-18:00 Mon-Fri')!;
    // Friday 6 March 17:30 (-05): four hours later is outside; Monday 9 March 09:00 is -04 now.
    const friday = instantOfLocalTime('2026-03-06', 17 * 60 + 30, 'America/Havana');
    assert.equal(iso(nextReminderTime(friday, 4 * H, workday, 'America/Havana')), '2026-03-09T13:00:00.000Z');
  });
});
