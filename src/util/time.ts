/**
 * Calendar dates in the company's timezone. An effective date is a day ("2026-11-25"), and it "has come"
 * at the first instant of that day in `config.timezone`, not at UTC midnight. Every zone computation goes
 * through date-fns and its time-zone companion (`TZDate`), never through offsets worked out by hand: where
 * DST starts at midnight (America/Santiago, America/Havana) the day begins at 01:00, and hand-made offset
 * arithmetic lands on 23:00 the day before.
 */
import { TZDate } from '@date-fns/tz';
import { addDays, format } from 'date-fns';

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function partsOfDate(date: string): [number, number, number] {
  const match = DATE.exec(date);
  if (!match) throw new Error(`"${date}" is not a date like 2026-11-25`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** "YYYY-MM-DD" of the given instant in the zone. */
export function dateInZone(epochMs: number, timeZone: string): string {
  return format(new TZDate(epochMs, timeZone), 'yyyy-MM-dd');
}

/** Minutes since local midnight and weekday (0 = Sunday) of the instant in the zone. */
export function localTimeInZone(epochMs: number, timeZone: string): { minutes: number; weekday: number } {
  const local = new TZDate(epochMs, timeZone);
  return { minutes: local.getHours() * 60 + local.getMinutes(), weekday: local.getDay() };
}

/**
 * The instant at which the wall clock in the zone shows `minutes` after midnight on `date`. A wall time that
 * DST skips moves forward by the gap (00:00 on a day whose midnight is skipped is 01:00), so the answer is
 * always on `date` itself.
 */
export function instantOfLocalTime(date: string, minutes: number, timeZone: string): number {
  const [year, month, day] = partsOfDate(date);
  return new TZDate(year, month - 1, day, Math.floor(minutes / 60), minutes % 60, timeZone).getTime();
}

/** The first instant of `date` in the zone. */
export function startOfDateInZone(date: string, timeZone: string): number {
  return instantOfLocalTime(date, 0, timeZone);
}

/** The calendar date `days` after `date` (counted in days, not in 24-hour steps, so DST cannot skip a day). */
export function addDaysToDate(date: string, days: number): string {
  const [year, month, day] = partsOfDate(date);
  return format(addDays(new TZDate(year, month - 1, day, 'UTC'), days), 'yyyy-MM-dd');
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Building an `Intl.DateTimeFormat` costs far more than using one (it showed in the bench's profile of card renders). */
const instantFormats = new Map<string, Intl.DateTimeFormat>();

export function formatInstant(epochMs: number, timeZone: string): string {
  let formatter = instantFormats.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
    });
    instantFormats.set(timeZone, formatter);
  }
  return formatter.format(new Date(epochMs));
}
