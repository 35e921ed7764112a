// Wall-clock <-> instant conversion in an IANA zone using only Intl (no tz database in the
// bundle). The webview's Intl knows every zone and its DST rules; we ask it for the offset
// at an instant and iterate, the way Temporal's "compatible" disambiguation does.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const partFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      era: 'short',
    });
    partFormatters.set(timeZone, f);
  }
  return f;
}

export interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall clock shown in `timeZone` at the instant `epochMs`. */
export function wallClockAt(epochMs: number, timeZone: string): WallClock {
  const parts = partsFormatter(timeZone).formatToParts(new Date(epochMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => {
    const p = parts.find((x) => x.type === type);
    return p ? Number(p.value) : 0;
  };
  const era = parts.find((x) => x.type === 'era')?.value;
  let year = get('year');
  if (era === 'BC' || era === 'B') year = 1 - year;
  return {
    year,
    month: get('month'),
    day: get('day'),
    hour: get('hour') % 24,
    minute: get('minute'),
    second: get('second'),
  };
}

function wallClockAsUtcMs(w: WallClock): number {
  const d = new Date(0);
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  d.setUTCHours(w.hour, w.minute, w.second, 0);
  return d.getTime();
}

/** Offset of `timeZone` from UTC at `epochMs`, in milliseconds (east positive). */
export function offsetAt(epochMs: number, timeZone: string): number {
  const whole = Math.floor(epochMs / 1000) * 1000;
  return wallClockAsUtcMs(wallClockAt(whole, timeZone)) - whole;
}

/** True if `timeZone` is a zone Intl accepts. */
export function isValidTimeZone(timeZone: string): boolean {
  if (!timeZone) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const DATE_RE = /^(-?\d{4,})-(\d{2})-(\d{2})$/;
// One-digit hours are accepted for webviews that render time inputs as plain text fields.
const TIME_RE = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/** Parses `YYYY-MM-DD` + `HH:MM[:SS]`; null if either is malformed or out of range. */
export function parseWallClock(date: string, time: string): WallClock | null {
  const dm = DATE_RE.exec(date);
  const tm = TIME_RE.exec(time);
  if (!dm || !tm) return null;
  const w: WallClock = {
    year: Number(dm[1]),
    month: Number(dm[2]),
    day: Number(dm[3]),
    hour: Number(tm[1]),
    minute: Number(tm[2]),
    second: tm[3] ? Number(tm[3]) : 0,
  };
  if (w.month < 1 || w.month > 12 || w.day < 1 || w.day > daysInMonth(w.year, w.month)) return null;
  if (w.hour > 23 || w.minute > 59 || w.second > 59) return null;
  return w;
}

function daysInMonth(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/**
 * The instant at which the wall clock in `timeZone` shows `date` `time`.
 *
 * Ambiguous times (the repeated hour when clocks go back) resolve to the earlier instant;
 * times that do not exist (skipped when clocks go forward) move forward by the length of
 * the gap — 02:30 on a spring-forward night becomes 03:30. This matches Temporal's
 * "compatible" choice and what calendar apps do.
 */
export function zonedToUtc(date: string, time: string, timeZone: string): Date | null {
  const w = parseWallClock(date, time);
  if (!w || !isValidTimeZone(timeZone)) return null;
  const local = wallClockAsUtcMs(w);
  // A zone changes offset at most once in any 48 hours, so the offsets a day either side
  // of the naive guess cover every candidate.
  const offsets = new Set([
    offsetAt(local - DAY, timeZone),
    offsetAt(local, timeZone),
    offsetAt(local + DAY, timeZone),
  ]);
  const matches: number[] = [];
  for (const off of offsets) {
    const t = local - off;
    if (offsetAt(t, timeZone) === off) matches.push(t);
  }
  if (matches.length > 0) return new Date(Math.min(...matches));
  // In a gap: interpret the wall clock with the offset in force before the transition.
  const before = offsetAt(local - DAY, timeZone);
  return new Date(local - before);
}

function pad(n: number, width = 2): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

/** `YYYY-MM-DD` and `HH:MM` of an instant as seen in `timeZone`. */
export function utcToZoned(instant: string | Date, timeZone: string): { date: string; time: string } {
  const ms = typeof instant === 'string' ? Date.parse(instant) : instant.getTime();
  const w = wallClockAt(ms, timeZone);
  return {
    date: `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`,
    time: `${pad(w.hour)}:${pad(w.minute)}`,
  };
}

/** RFC 3339 in UTC without fractional seconds, as the Rust side prints it. */
export function toRfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The user's own zone, as the OS reports it to the webview. */
export function userTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** All zones the webview knows, with the given zone guaranteed to be present. */
export function timeZoneList(mustInclude: string[] = []): string[] {
  let zones: string[] = [];
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: string) => string[] };
  if (typeof intl.supportedValuesOf === 'function') zones = intl.supportedValuesOf('timeZone');
  const set = new Set(zones);
  for (const z of ['UTC', ...mustInclude]) if (z && !set.has(z)) zones.push(z);
  return zones.sort();
}

// ---- calendar dates (YYYY-MM-DD) ----

/** `date` shifted by `days` whole days. */
export function addDays(date: string, days: number): string {
  const m = DATE_RE.exec(date);
  if (!m) return date;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Day of week of a calendar date: 0 = Monday … 6 = Sunday. */
export function weekdayMonday0(date: string): number {
  const m = DATE_RE.exec(date);
  if (!m) return 0;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return (d.getUTCDay() + 6) % 7;
}

/** Monday of the week containing `date`. */
export function startOfWeek(date: string): string {
  return addDays(date, -weekdayMonday0(date));
}

/** Whole days from `a` to `b` (positive if b is later). */
export function daysBetween(a: string, b: string): number {
  const pa = DATE_RE.exec(a);
  const pb = DATE_RE.exec(b);
  if (!pa || !pb) return 0;
  const da = new Date(0);
  da.setUTCFullYear(Number(pa[1]), Number(pa[2]) - 1, Number(pa[3]));
  const db = new Date(0);
  db.setUTCFullYear(Number(pb[1]), Number(pb[2]) - 1, Number(pb[3]));
  return Math.round((db.getTime() - da.getTime()) / DAY);
}

/** Today's date in `timeZone`. */
export function todayIn(timeZone: string, now: number = Date.now()): string {
  return utcToZoned(new Date(now), timeZone).date;
}
