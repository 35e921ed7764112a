// How dates and times read in the list and the week view. Uses the webview's locale for
// word order and the 24/12-hour clock; the zone is always explicit.

import type { Timing } from './bindings/Timing';
import { addDays, offsetAt, utcToZoned } from './tz';

const cache = new Map<string, Intl.DateTimeFormat>();

function fmt(key: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, options);
    cache.set(key, f);
  }
  return f;
}

function dayLabel(ms: number, timeZone: string): string {
  return fmt(`day|${timeZone}`, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone }).format(ms);
}

function shortDayLabel(ms: number, timeZone: string): string {
  return fmt(`sday|${timeZone}`, { weekday: 'short', day: 'numeric', month: 'short', timeZone }).format(ms);
}

export function timeLabel(ms: number, timeZone: string): string {
  return fmt(`time|${timeZone}`, { hour: 'numeric', minute: '2-digit', timeZone }).format(ms);
}

/** "10:30 – 11:30 AM": the locale's compact range when both ends fall on one day in the zone. */
export function timeRangeLabel(startMs: number, endMs: number, timeZone: string): string {
  const f = fmt(`time|${timeZone}`, { hour: 'numeric', minute: '2-digit', timeZone });
  const oneDay = utcToZoned(new Date(startMs), timeZone).date === utcToZoned(new Date(endMs), timeZone).date;
  return oneDay && endMs > startMs ? f.formatRange(startMs, endMs) : `${f.format(startMs)} – ${f.format(endMs)}`;
}

function dateMs(date: string): number {
  return Date.parse(`${date}T12:00:00Z`);
}

/** A compact "when" for a timed span as seen in `timeZone`. */
export function spanLabel(startMs: number, endMs: number, timeZone: string): string {
  const sameDay = utcToZoned(new Date(startMs), timeZone).date === utcToZoned(new Date(endMs - 1), timeZone).date;
  if (sameDay) return `${dayLabel(startMs, timeZone)} · ${timeRangeLabel(startMs, endMs, timeZone)}`;
  return `${shortDayLabel(startMs, timeZone)} ${timeLabel(startMs, timeZone)} – ${shortDayLabel(endMs, timeZone)} ${timeLabel(endMs, timeZone)}`;
}

/** A short name for the zone at an instant ("EST", "GMT+1"), as the locale spells it. */
export function zoneAbbrev(ms: number, timeZone: string): string {
  const parts = fmt(`tzn|${timeZone}`, { timeZoneName: 'short', timeZone }).formatToParts(ms);
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}

export interface WhenText {
  /** The day (or days) in the appointment's own zone. */
  date: string;
  /** The times in the appointment's own zone, or "All day". */
  time: string;
  /** The appointment's zone, when it is not the user's. */
  zone: string | null;
  /** Its short name at the start ("EST"), for tight spaces. */
  zoneShort: string | null;
  /** The same span in the user's zone, when the clocks differ. */
  local: string | null;
}

function daysLabel(first: number, last: number, timeZone: string): string {
  if (utcToZoned(new Date(first), timeZone).date === utcToZoned(new Date(last), timeZone).date) return dayLabel(first, timeZone);
  return `${shortDayLabel(first, timeZone)} – ${dayLabel(last, timeZone)}`;
}

export function whenText(timing: Timing, timeZone: string, userZone: string): WhenText {
  if (timing.kind === 'all_day') {
    const last = addDays(timing.end, -1);
    return { date: daysLabel(dateMs(timing.start), dateMs(last), 'UTC'), time: 'All day', zone: null, zoneShort: null, local: null };
  }
  const s = Date.parse(timing.start);
  const e = Date.parse(timing.end);
  const date = daysLabel(s, e - 1, timeZone);
  const time = timeRangeLabel(s, e, timeZone);
  if (timeZone === userZone) return { date, time, zone: null, zoneShort: null, local: null };
  const zoneShort = zoneAbbrev(s, timeZone);
  if (offsetAt(s, timeZone) === offsetAt(s, userZone)) return { date, time, zone: timeZone, zoneShort, local: null };
  // Same calendar days in both zones: the times alone say it; otherwise name the days.
  const sameDays =
    utcToZoned(new Date(s), timeZone).date === utcToZoned(new Date(s), userZone).date &&
    utcToZoned(new Date(e - 1), timeZone).date === utcToZoned(new Date(e - 1), userZone).date;
  const localTime = timeRangeLabel(s, e, userZone);
  const local = sameDays ? localTime : `${shortDayLabel(s, userZone)} ${localTime}`;
  return { date, time, zone: timeZone, zoneShort, local };
}

export function weekRangeLabel(weekStart: string): string {
  const s = dateMs(weekStart);
  const e = dateMs(addDays(weekStart, 6));
  return fmt('range', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).formatRange(s, e);
}

export function weekdayHeader(date: string): { weekday: string; day: string } {
  const ms = dateMs(date);
  return {
    weekday: fmt('wd', { weekday: 'short', timeZone: 'UTC' }).format(ms),
    day: fmt('dnum', { day: 'numeric', timeZone: 'UTC' }).format(ms),
  };
}

export function hourLabel(hour: number): string {
  return fmt('hour', { hour: 'numeric', timeZone: 'UTC' }).format(Date.UTC(2026, 0, 5, hour));
}
