/**
 * Working hours and when the next reminder is due, for task reminders (an app's `reminderHours`) and approval
 * reminders (`workingHours`) alike. Pure functions of (instant, interval, working hours, timezone), so they are
 * tested with plain numbers instead of waiting for a clock.
 */
import { REMINDER_HOURS } from '../config.js';
import { addDaysToDate, dateInZone, instantOfLocalTime, localTimeInZone } from './time.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export interface ReminderHours {
  /** Minutes after local midnight. */
  start: number;
  end: number;
  /** Allowed weekdays (0 = Sunday) on which a window starts. */
  days: ReadonlySet<number>;
}

/** Parses "09:00-18:00 Mon-Fri" (days optional: every day). Undefined text means "around the clock". */
export function parseReminderHours(text: string | undefined): ReminderHours | undefined {
  if (text === undefined) return undefined;
  const match = REMINDER_HOURS.exec(text);
  if (!match) throw new Error(`reminderHours "${text}" must look like "09:00-18:00 Mon-Fri"`);
  const start = Number(match[1]) * 60 + Number(match[2]);
  const end = Number(match[3]) * 60 + Number(match[4]);
  const days = new Set<number>();
  if (match[5] && match[6]) {
    const from = DAYS.indexOf(match[5]);
    const to = DAYS.indexOf(match[6]);
    // "Fri-Mon" wraps over the weekend.
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  } else {
    for (let d = 0; d < 7; d++) days.add(d);
  }
  return { start, end, days };
}

/** Whether the instant falls inside the working hours (an overnight window belongs to the day it starts). */
export function isWithinHours(at: number, hours: ReminderHours, timeZone: string): boolean {
  if (hours.start === hours.end) return hours.days.has(localTimeInZone(at, timeZone).weekday);
  const { minutes, weekday } = localTimeInZone(at, timeZone);
  if (hours.start < hours.end) return hours.days.has(weekday) && minutes >= hours.start && minutes < hours.end;
  return (minutes >= hours.start && hours.days.has(weekday)) || (minutes < hours.end && hours.days.has((weekday + 6) % 7));
}

/** The instant of local `minutes` on `date` in the zone (see instantOfLocalTime for days DST shortens). */
export function localInstant(date: string, minutes: number, timeZone: string): number {
  return instantOfLocalTime(date, minutes, timeZone);
}

/** `at` itself when it is inside the hours, else the start of the next window. */
export function alignToHours(at: number, hours: ReminderHours | undefined, timeZone: string): number {
  if (!hours || isWithinHours(at, hours, timeZone)) return at;
  const today = dateInZone(at, timeZone);
  for (let offset = 0; offset <= 8; offset++) {
    const date = addDaysToDate(today, offset);
    const start = localInstant(date, hours.start, timeZone);
    if (start > at && hours.days.has(localTimeInZone(start, timeZone).weekday)) return start;
  }
  return at; // No allowed day at all cannot happen with a parsed range; never stall reminders.
}

/**
 * The next reminder after one sent (or a task created, or a snooze ended) at `after`: `every` later, moved
 * to the next working-hours window when that falls outside it. Computed from the actual time, so after
 * downtime the overdue reminder is sent once and the next one is a full interval away (no burst).
 */
export function nextReminderTime(after: number, every: number, hours: ReminderHours | string | undefined, timeZone: string): number {
  const parsed = typeof hours === 'string' ? parseReminderHours(hours) : hours;
  return alignToHours(after + every, parsed, timeZone);
}
