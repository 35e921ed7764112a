// The repeat editor's state, its RRULE text, and the sentence a person reads.
//
// The store keeps a series' recurrence as the RFC 5545 lines Google carries (`RRULE:…`,
// `EXDATE…`, `RDATE…`), verbatim. The editor shows only the rules people make in
// Google Calendar or Outlook (every N days / weeks on chosen weekdays / months on a day
// or an Nth weekday / years; ending never, on a date or after N times). Anything else —
// BYSETPOS, BYHOUR, several RRULE lines, RDATE/EXRULE lines, parts Bookline does not know —
// is "custom": shown as text and saved exactly as it came, so opening and saving a
// Google series never rewrites its rule.
//
// Everything here is pure; the time zone and the first day of the week are parameters
// so tests pin them.

import type { Recurrence } from './bindings/Recurrence';
import type { Timing } from './bindings/Timing';
import { addDays, utcToZoned, zonedToUtc } from './tz';

/** RFC 5545 weekday codes, Monday first (the order of `WEEKDAYS`). */
export type Weekday = 'MO' | 'TU' | 'WE' | 'TH' | 'FR' | 'SA' | 'SU';
export const WEEKDAYS: readonly Weekday[] = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

export type Frequency = 'daily' | 'weekly' | 'monthly' | 'yearly';

/** Which day of the month a monthly rule falls on. `day: null` means the start's day. */
export type MonthlyOn = { kind: 'day'; day: number | null } | { kind: 'weekday'; nth: 1 | 2 | 3 | 4 | -1; weekday: Weekday };

/** `until` is a calendar date in the series' zone: the last day an occurrence may fall on. */
export type RepeatEnd = { kind: 'never' } | { kind: 'until'; date: string } | { kind: 'count'; count: number };

/** A rule the editor can show and change. */
export interface RepeatRule {
  freq: Frequency;
  interval: number;
  /** Weekly only; Monday-first order. Empty means the weekday of the series' start. */
  weekdays: Weekday[];
  /** Monthly only; null for the other frequencies. */
  monthly: MonthlyOn | null;
  end: RepeatEnd;
}

/** What the dialog's Repeat section holds. */
export type RepeatChoice = { kind: 'none' } | { kind: 'rule'; rule: RepeatRule } | { kind: 'custom'; text: string };

/** Facts about the series a rule is read and written against. */
export interface RuleContext {
  /** The series' IANA zone: an UNTIL instant is shown as a date there, and written from it. */
  timeZone: string;
  /** All-day series get a date-only UNTIL, as RFC 5545 requires for a DATE start. */
  allDay: boolean;
}

const FREQ_CODES: Record<Frequency, string> = { daily: 'DAILY', weekly: 'WEEKLY', monthly: 'MONTHLY', yearly: 'YEARLY' };

// ---------------------------------------------------------------------------------------
// RRULE value <-> RepeatRule

/**
 * The RRULE value (without `RRULE:`) for a rule, parts in the order Google Calendar
 * writes them.
 */
export function formatRule(rule: RepeatRule, ctx: RuleContext): string {
  const parts = [`FREQ=${FREQ_CODES[rule.freq]}`];
  if (rule.interval !== 1) parts.push(`INTERVAL=${rule.interval}`);
  if (rule.freq === 'weekly' && rule.weekdays.length > 0) parts.push(`BYDAY=${sortWeekdays(rule.weekdays, 1).join(',')}`);
  if (rule.freq === 'monthly' && rule.monthly) {
    const m = rule.monthly;
    if (m.kind === 'day' && m.day !== null) parts.push(`BYMONTHDAY=${m.day}`);
    if (m.kind === 'weekday') parts.push(`BYDAY=${m.nth}${m.weekday}`);
  }
  if (rule.end.kind === 'count') parts.push(`COUNT=${rule.end.count}`);
  if (rule.end.kind === 'until') parts.push(`UNTIL=${formatUntil(rule.end.date, ctx)}`);
  return parts.join(';');
}

/**
 * The editor's rule for an RRULE value (with or without `RRULE:`), or null when the
 * editor cannot show it exactly — such a rule is kept as custom text.
 */
export function parseRule(text: string, ctx: RuleContext): RepeatRule | null {
  const body = stripPrefix(text).trim();
  if (body === '') return null;
  const parts = new Map<string, string>();
  for (const part of body.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const name = part.slice(0, eq).toUpperCase();
    if (parts.has(name)) return null;
    parts.set(name, part.slice(eq + 1).toUpperCase());
  }
  const known = new Set(['FREQ', 'INTERVAL', 'BYDAY', 'BYMONTHDAY', 'COUNT', 'UNTIL', 'WKST']);
  for (const name of parts.keys()) if (!known.has(name)) return null;
  // WKST changes which weeks an INTERVAL>1 weekly rule skips; only the default is shown.
  if (parts.has('WKST') && parts.get('WKST') !== 'MO') return null;

  const freq = (Object.keys(FREQ_CODES) as Frequency[]).find((f) => FREQ_CODES[f] === parts.get('FREQ'));
  if (!freq) return null;

  let interval = 1;
  if (parts.has('INTERVAL')) {
    const n = positiveInt(parts.get('INTERVAL') ?? '');
    if (n === null) return null;
    interval = n;
  }

  let end: RepeatEnd = { kind: 'never' };
  if (parts.has('COUNT') && parts.has('UNTIL')) return null;
  if (parts.has('COUNT')) {
    const n = positiveInt(parts.get('COUNT') ?? '');
    if (n === null) return null;
    end = { kind: 'count', count: n };
  }
  if (parts.has('UNTIL')) {
    const date = parseUntil(parts.get('UNTIL') ?? '', ctx);
    if (date === null) return null;
    end = { kind: 'until', date };
  }

  const byday = parts.get('BYDAY');
  const bymonthday = parts.get('BYMONTHDAY');
  let weekdays: Weekday[] = [];
  let monthly: MonthlyOn | null = null;
  switch (freq) {
    case 'daily':
    case 'yearly':
      if (byday !== undefined || bymonthday !== undefined) return null;
      break;
    case 'weekly': {
      if (bymonthday !== undefined) return null;
      if (byday !== undefined) {
        const days = byday.split(',');
        if (!days.every((d) => (WEEKDAYS as readonly string[]).includes(d))) return null;
        if (new Set(days).size !== days.length) return null;
        weekdays = sortWeekdays(days as Weekday[], 1);
      }
      break;
    }
    case 'monthly': {
      if (byday !== undefined && bymonthday !== undefined) return null;
      if (bymonthday !== undefined) {
        const n = positiveInt(bymonthday);
        if (n === null || n > 31) return null;
        monthly = { kind: 'day', day: n };
      } else if (byday !== undefined) {
        const m = /^(-1|[1-4])(MO|TU|WE|TH|FR|SA|SU)$/.exec(byday);
        if (!m) return null;
        monthly = { kind: 'weekday', nth: Number(m[1]) as 1 | 2 | 3 | 4 | -1, weekday: m[2] as Weekday };
      } else {
        monthly = { kind: 'day', day: null };
      }
      break;
    }
  }
  return { freq, interval, weekdays, monthly, end };
}

/** UNTIL for a last date: the end of that day in the series' zone, in UTC (as Google writes it). */
function formatUntil(date: string, ctx: RuleContext): string {
  const compactDate = date.replaceAll('-', '');
  if (ctx.allDay) return compactDate;
  const endOfDay = zonedToUtc(date, '23:59', ctx.timeZone);
  if (!endOfDay) return `${compactDate}T235959Z`;
  const iso = new Date(endOfDay.getTime() + 59_000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** The last date an UNTIL allows, in the series' zone (a UTC instant is shown as its local date). */
function parseUntil(value: string, ctx: RuleContext): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(value);
  if (!m) return null;
  const [, y, mo, d, hh, mm, ss, z] = m;
  const date = `${y}-${mo}-${d}`;
  if (Number.isNaN(Date.parse(`${date}T00:00:00Z`))) return null;
  if (hh === undefined || z !== 'Z') return date;
  return utcToZoned(new Date(`${date}T${hh}:${mm}:${ss}Z`), ctx.timeZone).date;
}

function positiveInt(s: string): number | null {
  if (!/^\d{1,4}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 ? n : null;
}

function stripPrefix(rule: string): string {
  return rule.trim().replace(/^RRULE:/i, '');
}

// ---------------------------------------------------------------------------------------
// Stored lines <-> dialog choice

/** What the dialog shows for a stored recurrence. */
export function choiceFromRecurrence(rec: Recurrence | null, ctx: RuleContext): RepeatChoice {
  if (!rec || rec.lines.length === 0) return { kind: 'none' };
  const rrules = rec.lines.filter((l) => /^RRULE:/i.test(l));
  // EXDATE lines are occurrences deleted one by one (Bookline's own "delete this
  // appointment" writes them): they stay as they are beside the rule the editor shows.
  if (rrules.length === 1 && rec.lines.every((l) => /^(RRULE:|EXDATE[:;])/i.test(l))) {
    const rule = parseRule(rrules[0], ctx);
    if (rule) return { kind: 'rule', rule };
  }
  return { kind: 'custom', text: rec.lines.join('\n') };
}

/** The EXDATE lines of a stored recurrence, kept when its rule is edited. */
export function exdateLines(rec: Recurrence | null): string[] {
  return rec ? rec.lines.filter((l) => /^EXDATE[:;]/i.test(l)) : [];
}

/**
 * The recurrence to save for the dialog's choice. When the choice still says what the
 * stored lines say, the stored lines are returned as they are — opening and saving
 * never rewrites a rule, not even the order of its parts.
 */
export function recurrenceFromChoice(choice: RepeatChoice, stored: Recurrence | null, ctx: RuleContext): Recurrence | null {
  if (stored && sameChoice(choiceFromRecurrence(stored, ctx), choice)) return stored;
  switch (choice.kind) {
    case 'none':
      return null;
    case 'rule':
      return { lines: [`RRULE:${formatRule(choice.rule, ctx)}`, ...exdateLines(stored)] };
    case 'custom': {
      const lines = customLines(choice.text);
      return lines.length === 0 ? null : { lines };
    }
  }
}

/** The lines of a custom text: blank lines dropped, a bare rule given its `RRULE:` name. */
export function customLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => (/^(RRULE|EXRULE|RDATE|EXDATE)[:;]/i.test(l) ? l : `RRULE:${l}`));
}

export function sameChoice(a: RepeatChoice, b: RepeatChoice): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'custom' && b.kind === 'custom') return customLines(a.text).join('\n') === customLines(b.text).join('\n');
  if (a.kind === 'rule' && b.kind === 'rule') return sameRule(a.rule, b.rule);
  return true;
}

export function sameRule(a: RepeatRule, b: RepeatRule): boolean {
  return JSON.stringify(normalizeRule(a)) === JSON.stringify(normalizeRule(b));
}

function normalizeRule(r: RepeatRule): RepeatRule {
  return {
    freq: r.freq,
    interval: r.interval,
    weekdays: r.freq === 'weekly' ? sortWeekdays(r.weekdays, 1) : [],
    monthly: r.freq === 'monthly' ? r.monthly ?? { kind: 'day', day: null } : null,
    end: r.end,
  };
}

const RULE_PARTS = new Set([
  'FREQ', 'UNTIL', 'COUNT', 'INTERVAL', 'BYSECOND', 'BYMINUTE', 'BYHOUR', 'BYDAY',
  'BYMONTHDAY', 'BYYEARDAY', 'BYWEEKNO', 'BYMONTH', 'BYSETPOS', 'WKST',
]);

/**
 * Why a custom text cannot be a repeat rule, as a sentence, or null when it can. Checks
 * the shape a person can get wrong while typing; the backend's own check (an RFC 5545
 * parser) still has the last word and its message is shown as it is.
 */
export function customRuleProblem(text: string): string | null {
  const lines = customLines(text);
  if (lines.length === 0) return 'Type a rule such as FREQ=WEEKLY;BYDAY=MO, or choose "Does not repeat".';
  if (!lines.some((l) => /^RRULE:/i.test(l))) return 'The rule needs an RRULE line, such as RRULE:FREQ=WEEKLY.';
  for (const line of lines) {
    if (!/^RRULE:/i.test(line)) continue;
    const body = line.slice(6);
    const seen = new Set<string>();
    for (const part of body.split(';')) {
      const eq = part.indexOf('=');
      const name = (eq > 0 ? part.slice(0, eq) : part).toUpperCase();
      const value = eq > 0 ? part.slice(eq + 1) : '';
      if (eq <= 0 || value === '') return `"${part}" is not a NAME=VALUE part of a rule.`;
      if (!RULE_PARTS.has(name)) return `"${name}" is not a part of a repeat rule (FREQ, INTERVAL, BYDAY, COUNT, UNTIL, …).`;
      if (seen.has(name)) return `${name} appears twice in the rule.`;
      seen.add(name);
    }
    const freq = body.split(';').find((p) => /^FREQ=/i.test(p));
    if (!freq) return 'The rule needs FREQ, for example FREQ=WEEKLY.';
    if (!/^FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)$/i.test(freq)) {
      return `"${freq.slice(5)}" is not a frequency; use DAILY, WEEKLY, MONTHLY or YEARLY.`;
    }
    if (seen.has('COUNT') && seen.has('UNTIL')) return 'A rule can end after COUNT times or on an UNTIL date, not both.';
    for (const p of body.split(';')) {
      const [name, value] = [p.slice(0, p.indexOf('=')).toUpperCase(), p.slice(p.indexOf('=') + 1)];
      if ((name === 'COUNT' || name === 'INTERVAL') && !/^[1-9]\d*$/.test(value)) return `${name} must be a whole number of at least 1.`;
      if (name === 'UNTIL' && !/^\d{8}(T\d{6}Z?)?$/i.test(value)) return 'UNTIL must be a date like 20271231 or 20271231T235959Z.';
      if (name === 'BYDAY' && !value.split(',').every((d) => /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/i.test(d))) {
        return `"${value}" is not a list of weekdays such as MO,WE or 1MO or -1FR.`;
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Weekdays and the first day of the week

const WEEKDAY_NAMES: Record<Weekday, { short: string; long: string }> = {
  MO: { short: 'Mon', long: 'Monday' },
  TU: { short: 'Tue', long: 'Tuesday' },
  WE: { short: 'Wed', long: 'Wednesday' },
  TH: { short: 'Thu', long: 'Thursday' },
  FR: { short: 'Fri', long: 'Friday' },
  SA: { short: 'Sat', long: 'Saturday' },
  SU: { short: 'Sun', long: 'Sunday' },
};

export function weekdayName(d: Weekday, style: 'short' | 'long' = 'long'): string {
  return WEEKDAY_NAMES[d][style];
}

/**
 * The seven weekdays starting at the user's first day of the week
 * (`firstDay` as in `Intl.Locale#weekInfo`: 1 = Monday … 7 = Sunday).
 */
export function weekdaysFrom(firstDay: number): Weekday[] {
  const i = (((firstDay - 1) % 7) + 7) % 7;
  return [...WEEKDAYS.slice(i), ...WEEKDAYS.slice(0, i)];
}

export function sortWeekdays(days: readonly Weekday[], firstDay: number): Weekday[] {
  const order = weekdaysFrom(firstDay);
  return [...days].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** The user's first day of the week from their locale (1 = Monday … 7 = Sunday), Monday if unknown. */
export function localeFirstDay(locale: string | undefined = typeof navigator !== 'undefined' ? navigator.language : undefined): number {
  try {
    const loc = new Intl.Locale(locale ?? 'en-GB') as Intl.Locale & {
      weekInfo?: { firstDay: number };
      getWeekInfo?: () => { firstDay: number };
    };
    const info = typeof loc.getWeekInfo === 'function' ? loc.getWeekInfo() : loc.weekInfo;
    const d = info?.firstDay;
    if (typeof d === 'number' && d >= 1 && d <= 7) return d;
  } catch {
    // An unknown locale tag: fall back below.
  }
  return 1;
}

/** The weekday of a `YYYY-MM-DD` date. */
export function weekdayOf(date: string): Weekday {
  const [y, m, d] = date.split('-').map(Number);
  return WEEKDAYS[(new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7];
}

/** Which occurrence of its weekday a date is in its month: 1–4, or 5 for a fifth. */
export function nthWeekdayOf(date: string): number {
  return Math.floor((Number(date.slice(8, 10)) - 1) / 7) + 1;
}

/** True when a date is the last of its weekday in its month. */
export function isLastWeekdayOf(date: string): boolean {
  return addDays(date, 7).slice(5, 7) !== date.slice(5, 7);
}

// ---------------------------------------------------------------------------------------
// Sentences

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ORDINALS: Record<number, string> = { 1: 'first', 2: 'second', 3: 'third', 4: 'fourth', [-1]: 'last' };

function dayMonth(date: string): string {
  return `${Number(date.slice(8, 10))} ${MONTHS[Number(date.slice(5, 7)) - 1]}`;
}

function dayMonthYear(date: string): string {
  return `${dayMonth(date)} ${date.slice(0, 4)}`;
}

function listWords(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

export interface SentenceContext extends RuleContext {
  /** The series' first date (`YYYY-MM-DD`, in its zone): the day a bare rule repeats on. */
  startDate: string;
  /** 1 = Monday … 7 = Sunday. */
  firstDay: number;
}

/** "Weekly on Mon and Wed, 4 times", "Monthly on the last Friday", "Every 3 days". */
export function describeRepeatRule(rule: RepeatRule, ctx: SentenceContext): string {
  const n = rule.interval;
  let text: string;
  switch (rule.freq) {
    case 'daily':
      text = n === 1 ? 'Daily' : `Every ${n} days`;
      break;
    case 'weekly': {
      const days = sortWeekdays(rule.weekdays.length ? rule.weekdays : [weekdayOf(ctx.startDate)], ctx.firstDay);
      let on: string;
      if (days.length === 7) on = 'every day';
      else if (days.length === 5 && !days.includes('SA') && !days.includes('SU')) on = 'weekdays';
      else on = days.length === 1 ? weekdayName(days[0], 'long') : listWords(days.map((d) => weekdayName(d, 'short')));
      text = `${n === 1 ? 'Weekly' : `Every ${n} weeks`} on ${on}`;
      break;
    }
    case 'monthly': {
      const m = rule.monthly ?? { kind: 'day', day: null };
      const on =
        m.kind === 'day' ? `day ${m.day ?? Number(ctx.startDate.slice(8, 10))}` : `the ${ORDINALS[m.nth]} ${weekdayName(m.weekday, 'long')}`;
      text = `${n === 1 ? 'Monthly' : `Every ${n} months`} on ${on}`;
      break;
    }
    case 'yearly':
      text = `${n === 1 ? 'Annually' : `Every ${n} years`} on ${dayMonth(ctx.startDate)}`;
      break;
  }
  if (rule.end.kind === 'count') text += rule.end.count === 1 ? ', once' : `, ${rule.end.count} times`;
  if (rule.end.kind === 'until') text += ` until ${dayMonthYear(rule.end.date)}`;
  return text;
}

/**
 * The sentence for a stored recurrence, or null when it does not repeat. An UNTIL is
 * shown as a date in `ctx.timeZone` (pass the user's zone for lists and tooltips). A rule
 * the editor cannot show is described as far as it can be, else shown as its text.
 */
export function describeRecurrence(rec: Recurrence | null, ctx: SentenceContext): string | null {
  if (!rec || rec.lines.length === 0) return null;
  const rrules = rec.lines.filter((l) => /^RRULE:/i.test(l));
  const others = rec.lines.length - rrules.length;
  if (rrules.length === 1) {
    const rule = parseRule(rrules[0], ctx);
    if (rule) {
      const sentence = describeRepeatRule(rule, ctx);
      if (others === 0) return sentence;
      const exceptions = rec.lines.filter((l) => /^EXDATE/i.test(l)).length;
      if (exceptions === others) return `${sentence}, ${exceptions} ${exceptions === 1 ? 'date' : 'dates'} left out`;
      return `${sentence}, with extra dates`;
    }
  }
  return `Custom: ${rec.lines.map((l) => l.replace(/^RRULE:/i, '')).join('; ')}`;
}

/**
 * The sentence for a series wherever it is listed: weekdays and days of the month as the
 * series has them in its own zone, an UNTIL as the date it is in the user's zone.
 */
export function seriesSentence(rec: Recurrence | null, timing: Timing, seriesZone: string, userZone: string, firstDay: number): string | null {
  const allDay = timing.kind === 'all_day';
  const startDate = allDay ? timing.start : utcToZoned(timing.start, seriesZone).date;
  return describeRecurrence(rec, { timeZone: userZone, allDay, startDate, firstDay });
}

// ---------------------------------------------------------------------------------------
// Defaults for the editor

/** A new rule of a frequency, seeded from the series' start the way calendar apps do. */
export function defaultRule(freq: Frequency, startDate: string): RepeatRule {
  return {
    freq,
    interval: 1,
    weekdays: freq === 'weekly' ? [weekdayOf(startDate)] : [],
    monthly: freq === 'monthly' ? { kind: 'day', day: Number(startDate.slice(8, 10)) } : null,
    end: { kind: 'never' },
  };
}

/** The monthly "on the Nth weekday" choice for a start date (a fifth one is "the last"). */
export function monthlyWeekdayFor(startDate: string): MonthlyOn {
  const nth = nthWeekdayOf(startDate);
  return { kind: 'weekday', nth: nth >= 5 ? -1 : (nth as 1 | 2 | 3 | 4), weekday: weekdayOf(startDate) };
}
