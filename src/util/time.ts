/**
 * Calendar dates in the company's timezone. An effective date is a day ("2026-11-25"), and it "has come"
 * at local midnight in `config.timezone`, not at UTC midnight.
 */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

function partsInZone(epochMs: number, timeZone: string): Record<string, number> {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short',
  }).formatToParts(new Date(epochMs));
  const out: Record<string, number> = {};
  for (const part of parts) {
    if (part.type === 'weekday') out.weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(part.value);
    else if (part.type !== 'literal') out[part.type] = Number(part.value);
  }
  return out;
}

/** "YYYY-MM-DD" of the given instant in the zone. */
export function dateInZone(epochMs: number, timeZone: string): string {
  const p = partsInZone(epochMs, timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** Minutes since local midnight and weekday (0 = Sunday) of the instant in the zone. */
export function localTimeInZone(epochMs: number, timeZone: string): { minutes: number; weekday: number } {
  const p = partsInZone(epochMs, timeZone);
  return { minutes: (p.hour ?? 0) * 60 + (p.minute ?? 0), weekday: p.weekday ?? 0 };
}

/** The instant at which local midnight of `date` happens in the zone. */
export function startOfDateInZone(date: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  // The zone's offset at that instant; a second pass settles days where the offset changes (DST).
  let instant = guess;
  for (let i = 0; i < 2; i++) {
    const p = partsInZone(instant, timeZone);
    const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour, p.minute, p.second);
    instant = guess - (asUtc - instant);
  }
  return instant;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

export function formatInstant(epochMs: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
  }).format(new Date(epochMs));
}
