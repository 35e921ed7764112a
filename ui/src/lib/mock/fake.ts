// An in-browser stand-in for the shell's IPC commands, compiled only into `--mode mock`
// builds (see api.ts). It lets the UI be developed and checked in a plain browser with
// thousands of appointments, without the Rust app. Rows are generated from a fixed seed
// so screenshots are repeatable; `?rows=N` sets how many.

import type { AppError } from '../bindings/AppError';
import type { Appointment } from '../bindings/Appointment';
import type { AppointmentInput } from '../bindings/AppointmentInput';
import type { AppointmentPage } from '../bindings/AppointmentPage';
import type { AppointmentRow } from '../bindings/AppointmentRow';
import type { ListQuery } from '../bindings/ListQuery';
import type { OccurrenceScope } from '../bindings/OccurrenceScope';
import { customRuleProblem, formatRule, parseRule, sortWeekdays, weekdayOf, WEEKDAYS, type Weekday } from '../recurrence';
import type { Status } from '../bindings/Status';
import type { Timing } from '../bindings/Timing';
import type { AppStatus } from '../bindings/AppStatus';
import { parseTemplate, writesToCrm, writesToGoogle } from '../sync';
import type { ActivityEntry } from '../bindings/ActivityEntry';
import type { ActivityKind } from '../bindings/ActivityKind';
import type { TransferItem } from '../bindings/TransferItem';
import type { BackfillRequest } from '../bindings/BackfillRequest';
import type { BackfillPreview } from '../bindings/BackfillPreview';
import type { BackfillProgress } from '../bindings/BackfillProgress';
import type { CalendarChoice } from '../bindings/CalendarChoice';
import type { DisconnectReport } from '../bindings/DisconnectReport';
import type { SyncReport } from '../bindings/SyncReport';
import type { Booking } from '../bindings/Booking';
import type { BookingRequest } from '../bindings/BookingRequest';
import type { BusyBlock } from '../bindings/BusyBlock';
import type { BusyTimes } from '../bindings/BusyTimes';
import type { LeadResponse } from '../bindings/LeadResponse';
import type { Occurrence } from '../bindings/Occurrence';
import type { SyncSettings } from '../bindings/SyncSettings';
import { inviteBlockedReason, NO_BOOKING } from '../booking';
import { addDays, isValidTimeZone, startOfWeek, toRfc3339, userTimeZone, utcToZoned, zonedToUtc } from '../tz';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ana', 'Ben', 'Chloé', 'Dmitri', 'Eva', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Lars', 'Mia', 'Noah', 'Olga', 'Priya'];
const LAST = ['Silva', 'Okafor', 'Müller', 'Tanaka', 'Novak', 'Haddad', 'Larsen', 'Rossi', 'Kim', 'Dubois', 'Patel', 'Weber'];
const KINDS = ['Discovery call', 'Product demo', 'Pricing review', 'Contract walkthrough', 'Follow-up', 'Onboarding', 'Site visit', 'Quarterly review'];
const PLACES = ['Zoom', 'Google Meet', 'Office, 3rd floor', 'Client site', 'Phone', ''];

let store: Appointment[] = [];
let idSeq = 0;

function newId(): string {
  idSeq += 1;
  return `mock-${idSeq.toString().padStart(6, '0')}`;
}

function seed(count: number): void {
  const rand = rng(20261125);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const user = userTimeZone();
  const zones = [user, user, user, 'America/New_York', 'Europe/London', 'Asia/Tokyo'];
  const now = Date.now();
  const created = toRfc3339(new Date(now - 30 * DAY));
  const out: Appointment[] = [];
  for (let i = 0; i < count; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const zone = pick(zones);
    const dayOffset = Math.floor(rand() * 1460) - 730;
    const day = utcToZoned(new Date(now + dayOffset * DAY), zone).date;
    const allDay = rand() < 0.06;
    let timing: Timing;
    if (allDay) {
      timing = { kind: 'all_day', start: day, end: addDays(day, 1 + (rand() < 0.2 ? 1 : 0)) };
    } else {
      const hour = 8 + Math.floor(rand() * 9);
      const minute = rand() < 0.5 ? '00' : '30';
      const start = zonedToUtc(day, `${String(hour).padStart(2, '0')}:${minute}`, zone) ?? new Date(now);
      const length = [30, 45, 60, 60, 90][Math.floor(rand() * 5)] * 60_000;
      timing = { kind: 'timed', start: toRfc3339(start), end: toRfc3339(new Date(start.getTime() + length)) };
    }
    const r = rand();
    const status: Status = r < 0.8 ? 'booked' : r < 0.9 ? 'done' : 'cancelled';
    const recurring = i % 500 === 7 && !allDay;
    out.push({
      id: newId(),
      title: `${pick(KINDS)} — ${last}`,
      timing,
      timezone: zone,
      location: pick(PLACES),
      notes: '',
      lead: {
        name: `${first} ${last}`,
        email: `${first.toLowerCase().normalize('NFD').replace(/[^a-z]/g, '')}.${last.toLowerCase().normalize('NFD').replace(/[^a-z]/g, '')}@example.com`,
        phone: `+1 555 01${String(i % 100).padStart(2, '0')}`,
      },
      status,
      origin: rand() < 0.2 ? 'google' : 'crm',
      recurrence: recurring ? { lines: [pick(['RRULE:FREQ=WEEKLY', 'RRULE:FREQ=DAILY;COUNT=10', 'RRULE:FREQ=MONTHLY'])] } : null,
      instance_of: null,
      created_at: created,
      updated_at: created,
    });
  }
  // A weekly series running through the current week, so the week view always shows
  // recurring instances.
  const start = zonedToUtc(addDays(utcToZoned(new Date(now), user).date, -14), '10:00', user) ?? new Date(now);
  out.push({
    id: newId(),
    title: 'Weekly pipeline review',
    timing: { kind: 'timed', start: toRfc3339(start), end: toRfc3339(new Date(start.getTime() + HOUR)) },
    timezone: user,
    location: 'Team room',
    notes: '',
    lead: { name: 'Sales team', email: '', phone: '' },
    status: 'booked',
    origin: 'crm',
    recurrence: { lines: ['RRULE:FREQ=WEEKLY'] },
    instance_of: null,
    created_at: created,
    updated_at: created,
  });
  // The shapes the repeat editor shows: two weekdays with an end, the last Friday.
  const series = (title: string, daysAgo: number, time: string, lines: string[]) => {
    const s = zonedToUtc(addDays(utcToZoned(new Date(now), user).date, -daysAgo), time, user) ?? new Date(now);
    out.push({
      id: newId(),
      title,
      timing: { kind: 'timed', start: toRfc3339(s), end: toRfc3339(new Date(s.getTime() + HOUR / 2)) },
      timezone: user,
      location: 'Phone',
      notes: '',
      lead: { name: 'Eva Novak', email: 'eva.novak@example.com', phone: '+1 555 0142' },
      status: 'booked',
      origin: 'crm',
      recurrence: { lines },
      instance_of: null,
      created_at: created,
      updated_at: created,
    });
  };
  series('Key account check-in — Novak', 21, '14:00', ['RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=12']);
  series('Forecast call', 60, '16:00', ['RRULE:FREQ=MONTHLY;BYDAY=-1FR']);
  store = out;
}

function rowsParam(): number {
  const n = Number(new URLSearchParams(window.location.search).get('rows') ?? '10000');
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 200_000) : 10_000;
}

seed(rowsParam());

function fail(code: AppError['code'], message: string): never {
  throw { code, message } satisfies AppError;
}

const boundsCache = new WeakMap<Timing, [number, number]>();

// Parsed once per timing object: sorting 10,000 rows would otherwise parse dates ~10^5 times.
function bounds(t: Timing): [number, number] {
  let b = boundsCache.get(t);
  if (!b) {
    b = t.kind === 'timed' ? [Date.parse(t.start), Date.parse(t.end)] : [Date.parse(`${t.start}T00:00:00Z`), Date.parse(`${t.end}T00:00:00Z`)];
    boundsCache.set(t, b);
  }
  return b;
}

function validate(input: AppointmentInput): void {
  if (input.title.trim() === '') fail('validation', 'Title is required.');
  if (input.title.length > 500) fail('validation', 'Title is too long (at most 500 characters).');
  if (input.notes.length > 100_000) fail('validation', 'Notes are too long (at most 100,000 characters).');
  if (!isValidTimeZone(input.timezone)) fail('validation', `Unknown time zone "${input.timezone}".`);
  const [s, e] = bounds(input.timing);
  if (!(e > s)) fail('validation', 'The end must be after the start.');
  const email = input.lead.email;
  if (email !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    fail('validation', `Lead email "${email}" is not a valid email address.`);
  }
  // The same shape check the dialog makes; the real backend parses the rule fully.
  if (input.recurrence) {
    const problem = customRuleProblem(input.recurrence.lines.join('\n'));
    if (problem) fail('validation', `The repeat rule is not valid: ${problem}`);
  }
}

function find(id: string): Appointment {
  const a = store.find((x) => x.id === id);
  if (!a) fail('not_found', 'This appointment no longer exists.');
  return a;
}

function list(q: ListQuery): AppointmentPage {
  const now = Date.now();
  const needle = (q.search ?? '').trim().toLowerCase();
  let rows = store.filter((a) => {
    if (q.status && a.status !== q.status) return false;
    if (q.origin && a.origin !== q.origin) return false;
    const [, end] = bounds(a.timing);
    if (q.period === 'upcoming' && end <= now) return false;
    if (q.period === 'past' && end > now) return false;
    if (needle) {
      const hay = `${a.title}\n${a.lead.name}\n${a.lead.email}\n${a.lead.phone}`.toLowerCase();
      if (!hay.includes(needle)) return false;
    }
    return true;
  });
  const dir = q.period === 'past' ? -1 : 1;
  rows = rows.sort((a, b) => dir * (bounds(a.timing)[0] - bounds(b.timing)[0]) || a.id.localeCompare(b.id));
  const limit = Math.min(Math.max(q.limit, 0), 500);
  const page: AppointmentRow[] = rows.slice(q.offset, q.offset + limit).map((appointment) => ({
    appointment,
    sync_state: syncStateOf(appointment),
    google_event_id: linked.has(appointment.id) ? `bl${appointment.id.replace(/[^a-v0-9]/g, '')}` : null,
    booking: bookingOf(appointment.id),
  }));
  return { rows: page, total: rows.length };
}

// The mock expands only the rules the repeat editor can show (the real backend expands
// every RFC 5545 rule); a custom rule shows its first occurrence.
function originalStarts(a: Appointment, untilDate: string): string[] {
  const allDay = a.timing.kind === 'all_day';
  const first = allDay ? a.timing.start : utcToZoned(a.timing.start, a.timezone).date;
  const rrule = a.recurrence?.lines.find((l) => /^RRULE:/i.test(l));
  const rule = rrule ? parseRule(rrule, { timeZone: a.timezone, allDay }) : null;
  if (!rule) return [first];
  const dates: string[] = [];
  const take = (d: string): boolean => {
    if (d < first) return true;
    if (rule.end.kind === 'until' && d > rule.end.date) return false;
    if (rule.end.kind === 'count' && dates.length >= rule.end.count) return false;
    if (d > untilDate) return false;
    dates.push(d);
    return true;
  };
  const [y, m] = first.split('-').map(Number);
  for (let i = 0; i < 5000; i++) {
    const k = i * rule.interval;
    if (rule.freq === 'daily') {
      if (!take(addDays(first, k))) break;
    } else if (rule.freq === 'weekly') {
      const week = addDays(startOfWeek(first), 7 * k);
      const days = rule.weekdays.length ? rule.weekdays : [weekdayOf(first)];
      if (!sortWeekdays(days, 1).every((d) => take(addDays(week, WEEKDAYS.indexOf(d))))) break;
    } else if (rule.freq === 'monthly') {
      const month = new Date(Date.UTC(y, m - 1 + k, 1)).toISOString().slice(0, 10);
      const on = rule.monthly ?? { kind: 'day', day: null };
      const d = on.kind === 'day' ? dayOfMonth(month, on.day ?? Number(first.slice(8, 10))) : nthWeekday(month, on.nth, on.weekday);
      if (d && !take(d)) break;
    } else {
      const d = dayOfMonth(`${y + k}-${first.slice(5, 7)}-01`, Number(first.slice(8, 10)));
      if (d && !take(d)) break;
    }
  }
  return dates;
}

function dayOfMonth(monthStart: string, day: number): string | null {
  const d = addDays(monthStart, day - 1);
  return d.slice(5, 7) === monthStart.slice(5, 7) ? d : null;
}

function nthWeekday(monthStart: string, nth: number, weekday: Weekday): string | null {
  const firstMatch = addDays(monthStart, (WEEKDAYS.indexOf(weekday) - WEEKDAYS.indexOf(weekdayOf(monthStart)) + 7) % 7);
  if (nth > 0) return dayOfMonth(monthStart, Number(firstMatch.slice(8, 10)) + 7 * (nth - 1));
  let d = firstMatch;
  while (addDays(d, 7).slice(5, 7) === monthStart.slice(5, 7)) d = addDays(d, 7);
  return d;
}

/** A series' occurrence on a date: its timing and its original start, as the backend names it. */
function instanceOn(a: Appointment, date: string): { timing: Timing; originalStart: string } | null {
  if (a.timing.kind === 'all_day') {
    const len = Math.round((bounds(a.timing)[1] - bounds(a.timing)[0]) / DAY);
    return { timing: { kind: 'all_day', start: date, end: addDays(date, len) }, originalStart: date };
  }
  const wall = utcToZoned(a.timing.start, a.timezone);
  const s = zonedToUtc(date, wall.time, a.timezone);
  if (!s) return null;
  const len = Date.parse(a.timing.end) - Date.parse(a.timing.start);
  return { timing: { kind: 'timed', start: toRfc3339(s), end: toRfc3339(new Date(s.getTime() + len)) }, originalStart: toRfc3339(s) };
}

/** Occurrences deleted one by one ("delete this appointment"), by series. */
const deletedOccurrences = new Map<string, Set<string>>();

function occurrences(from: string, to: string): Occurrence[] {
  const lo = Date.parse(from);
  const hi = Date.parse(to);
  const lastDate = new Date(hi + 2 * DAY).toISOString().slice(0, 10);
  const out: Occurrence[] = [];
  const exceptions = new Map<string, Appointment>();
  for (const a of store) if (a.instance_of) exceptions.set(`${a.instance_of.series_id} ${a.instance_of.original_start}`, a);
  for (const a of store) {
    const booking = bookingOf(a.instance_of?.series_id ?? a.id);
    const base = { title: a.title, timezone: a.timezone, status: a.status, origin: a.origin, meet_link: booking.meet.state === 'ready' ? booking.meet.link : null, lead_response: booking.lead_response };
    if (a.instance_of) {
      const [s, e] = bounds(a.timing);
      if (s < hi && e > lo) out.push({ ...base, appointment_id: a.id, series_id: a.instance_of.series_id, original_start: a.instance_of.original_start, timing: a.timing });
      continue;
    }
    if (!a.recurrence) {
      const [s, e] = bounds(a.timing);
      if (s < hi && e > lo) out.push({ ...base, appointment_id: a.id, series_id: null, original_start: null, timing: a.timing });
      continue;
    }
    for (const date of originalStarts(a, lastDate)) {
      const inst = instanceOn(a, date);
      if (!inst) continue;
      if (exceptions.has(`${a.id} ${inst.originalStart}`) || deletedOccurrences.get(a.id)?.has(inst.originalStart)) continue;
      const [s, e] = bounds(inst.timing);
      if (s < hi && e > lo) out.push({ ...base, appointment_id: a.id, series_id: a.id, original_start: inst.originalStart, timing: inst.timing });
    }
  }
  return out.sort((x, y) => bounds(x.timing)[0] - bounds(y.timing)[0]);
}

/** The date (in the series' zone) of an original start. */
function originalDate(series: Appointment, originalStart: string): string {
  return series.timing.kind === 'all_day' ? originalStart : utcToZoned(originalStart, series.timezone).date;
}

/** Ends a series on the day before `date`, dropping its exceptions from that day on. */
function endSeriesBefore(series: Appointment, date: string): void {
  const allDay = series.timing.kind === 'all_day';
  const ctx = { timeZone: series.timezone, allDay };
  const rrule = series.recurrence?.lines.find((l) => /^RRULE:/i.test(l)) ?? 'RRULE:FREQ=DAILY';
  const rule = parseRule(rrule, ctx);
  const until = { kind: 'until' as const, date: addDays(date, -1) };
  const newRule = rule ? `RRULE:${formatRule({ ...rule, end: until }, ctx)}` : `${rrule.replace(/;(UNTIL|COUNT)=[^;]*/gi, '')};UNTIL=${until.date.replaceAll('-', '')}`;
  series.recurrence = { lines: [newRule, ...(series.recurrence?.lines.filter((l) => !/^RRULE:/i.test(l)) ?? [])] };
  store = store.filter((x) => !(x.instance_of?.series_id === series.id && originalDate(series, x.instance_of.original_start) >= date));
  series.updated_at = toRfc3339(new Date());
}

function checkOccurrence(seriesId: string): Appointment {
  const series = find(seriesId);
  if (!series.recurrence || series.instance_of) fail('validation', `“${series.title}” does not repeat, so it has no occurrences.`);
  return series;
}

function isFirstOccurrence(series: Appointment, originalStart: string): boolean {
  return originalDate(series, originalStart) <= (series.timing.kind === 'all_day' ? series.timing.start : utcToZoned(series.timing.start, series.timezone).date);
}

function editOccurrence(seriesId: string, originalStart: string, input: AppointmentInput, scope: OccurrenceScope): Appointment {
  validate(input);
  const series = checkOccurrence(seriesId);
  const ts = toRfc3339(new Date());
  if (scope === 'this') {
    const existing = store.find((x) => x.instance_of?.series_id === seriesId && x.instance_of.original_start === originalStart);
    if (existing) {
      Object.assign(existing, structuredClone(input), { recurrence: null, updated_at: ts });
      return structuredClone(existing);
    }
    const row: Appointment = {
      ...structuredClone(input),
      recurrence: null,
      id: newId(),
      origin: series.origin,
      instance_of: { series_id: seriesId, original_start: originalStart },
      created_at: ts,
      updated_at: ts,
    };
    store.push(row);
    touched(row.id);
    return structuredClone(row);
  }
  if (scope === 'following' && !isFirstOccurrence(series, originalStart)) {
    endSeriesBefore(series, originalDate(series, originalStart));
    const row: Appointment = {
      ...structuredClone(input),
      recurrence: input.recurrence ?? series.recurrence,
      id: newId(),
      origin: 'crm',
      instance_of: null,
      created_at: ts,
      updated_at: ts,
    };
    store.push(row);
    touched(row.id);
    return structuredClone(row);
  }
  // All: the series moves by as much as the chosen occurrence moved.
  const inst = instanceOn(series, originalDate(series, originalStart));
  const shift = inst ? bounds(input.timing)[0] - bounds(inst.timing)[0] : 0;
  const length = bounds(input.timing)[1] - bounds(input.timing)[0];
  const [s] = bounds(series.timing);
  const timing: Timing =
    input.timing.kind === 'all_day'
      ? { kind: 'all_day', start: addDays(series.timing.start.slice(0, 10), Math.round(shift / DAY)), end: addDays(series.timing.start.slice(0, 10), Math.round((shift + length) / DAY)) }
      : { kind: 'timed', start: toRfc3339(new Date(s + shift)), end: toRfc3339(new Date(s + shift + length)) };
  Object.assign(series, structuredClone(input), { timing, recurrence: input.recurrence ?? series.recurrence, updated_at: ts });
  touched(series.id);
  return structuredClone(series);
}

function cancelOccurrence(seriesId: string, originalStart: string, scope: OccurrenceScope): null {
  const series = checkOccurrence(seriesId);
  if (scope === 'this') {
    const existing = store.find((x) => x.instance_of?.series_id === seriesId && x.instance_of.original_start === originalStart);
    if (existing) existing.status = 'cancelled';
    else {
      const inst = instanceOn(series, originalDate(series, originalStart));
      if (!inst) fail('validation', 'That date is not an occurrence of the series.');
      const { id: _id, created_at: _c, updated_at: _u, instance_of: _i, origin: _o, ...input } = series;
      editOccurrence(seriesId, originalStart, { ...input, timing: inst.timing, status: 'cancelled', recurrence: null }, 'this');
    }
  } else if (scope === 'following' && !isFirstOccurrence(series, originalStart)) {
    endSeriesBefore(series, originalDate(series, originalStart));
  } else {
    series.status = 'cancelled';
  }
  return null;
}

function deleteOccurrence(seriesId: string, originalStart: string, scope: OccurrenceScope): null {
  const series = checkOccurrence(seriesId);
  if (scope === 'this') {
    store = store.filter((x) => !(x.instance_of?.series_id === seriesId && x.instance_of.original_start === originalStart));
    const gone = deletedOccurrences.get(seriesId) ?? new Set<string>();
    gone.add(originalStart);
    deletedOccurrences.set(seriesId, gone);
  } else if (scope === 'following' && !isFirstOccurrence(series, originalStart)) {
    endSeriesBefore(series, originalDate(series, originalStart));
  } else {
    store = store.filter((x) => x.id !== seriesId && x.instance_of?.series_id !== seriesId);
  }
  return null;
}

function dispatch(cmd: string, args: Record<string, unknown>): unknown {
  switch (cmd) {
    case 'list_appointments':
      return list(args.query as ListQuery);
    case 'list_shown':
      return null;
    case 'week_occurrences':
      return occurrences(String(args.from), String(args.to));
    case 'get_appointment':
      return structuredClone(find(String(args.id)));
    case 'create_appointment': {
      const input = args.input as AppointmentInput;
      const req = args.booking as BookingRequest | undefined;
      validate(input);
      checkBooking(input, req, false);
      const ts = toRfc3339(new Date());
      const a: Appointment = { ...structuredClone(input), id: newId(), origin: 'crm', instance_of: null, created_at: ts, updated_at: ts };
      store.push(a);
      applyBooking(a, req);
      touched(a.id);
      return structuredClone(a);
    }
    case 'update_appointment': {
      const input = args.input as AppointmentInput;
      const req = args.booking as BookingRequest | undefined;
      validate(input);
      const a = find(String(args.id));
      checkBooking(input, req, bookingOf(a.id).invite_lead);
      Object.assign(a, structuredClone(input), { updated_at: toRfc3339(new Date()) });
      applyBooking(a, req);
      touched(a.id);
      return structuredClone(a);
    }
    case 'set_appointment_status': {
      const a = find(String(args.id));
      a.status = args.status as Status;
      a.updated_at = toRfc3339(new Date());
      return structuredClone(a);
    }
    case 'edit_occurrence':
      return editOccurrence(String(args.seriesId), String(args.originalStart), args.input as AppointmentInput, args.scope as OccurrenceScope);
    case 'cancel_occurrence':
      return cancelOccurrence(String(args.seriesId), String(args.originalStart), args.scope as OccurrenceScope);
    case 'delete_occurrence':
      return deleteOccurrence(String(args.seriesId), String(args.originalStart), args.scope as OccurrenceScope);
    case 'delete_appointment':
      find(String(args.id));
      store = store.filter((x) => x.id !== args.id);
      return null;
    case 'app_status':
      return appStatus();
    case 'tray_word':
      return 'tray';
    case 'connect_google':
      return connect();
    case 'about':
      return { version: '0.1.0', data_dir: '/home/you/.local/share/bookline', log_file: '/home/you/.local/share/bookline/logs/bookline.2026-03-02.log', log_dir: '/home/you/.local/share/bookline/logs' };
    case 'diagnostics':
      return `Bookline: 0.1.0\nOS: browser (mock)\nGoogle account: ${google.connected ? 'connected' : 'not connected'}\nRecent errors: none\n`;
    case 'use_google_client':
      return useGoogleClient(String(args.json));
    case 'cancel_connect':
      connecting?.cancel();
      return null;
    case 'disconnect_google':
      return disconnect(Boolean(args.keepImported));
    case 'list_calendars':
      requireConnected();
      return structuredClone(CALENDARS);
    case 'get_sync_settings':
      return structuredClone(settings);
    case 'save_sync_settings':
      return saveSettings(args.settings as SyncSettings);
    case 'invitation_notice':
      return invitationNotice(args.input as AppointmentInput, args.booking as BookingRequest, (args.id as string | null) ?? null);
    case 'busy_times':
      return busyTimes(String(args.day), String(args.timezone), Boolean(args.otherCalendars), (args.excludeAppointment as string | null) ?? null);
    case 'open_meet_link':
      window.open(String(args.link), '_blank', 'noopener');
      return null;
    case 'held_deletes':
      return { crm: 0, google: 0, first: [] };
    case 'resolve_held_deletes':
      return syncPass();
    case 'calendar_change_preview':
      // The fake keeps no links: a change of calendar never has events to move.
      return {
        from: settings.calendar_id,
        to: args.to as string,
        same_calendar: false,
        linked_events: 0,
        bookline_events: 0,
        google_origin_events: 0,
        needs_choice: false,
        move_sentence: '',
        keep_sentence: '',
      };
    case 'sync_now':
      return syncPass();
    case 'pause_sync':
      requireConnected();
      google.paused = true;
      changed();
      return appStatus();
    case 'resume_sync':
      requireConnected();
      google.paused = false;
      changed();
      return appStatus();
    case 'backfill_preview':
      return backfillPreview(backfillArgs(args));
    case 'backfill_start':
      return backfillStart(backfillArgs(args));
    case 'backfill_cancel':
      if (job && job.progress.state === 'running') job.cancel = true;
      return null;
    case 'backfill_status':
      return job && job.progress.state !== 'finished' ? structuredClone(job.progress) : null;
    case 'activity_log':
      return activityPage(Number(args.limit ?? 50), args.beforeId == null ? null : Number(args.beforeId));
    case 'transfer_items':
      return transferItemsPage(Number(args.transferId), args.afterSeq == null ? null : Number(args.afterSeq));
    default:
      return fail('internal', `Unknown command ${cmd}.`);
  }
}

/** Same contract as Tauri's `invoke`: resolves with the answer or rejects with `{code, message}`. */
export async function mockInvoke<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  // A little latency, so loading states are exercised as they are over real IPC.
  await new Promise((r) => setTimeout(r, 15));
  return (await dispatch(cmd, args)) as T;
}

// ---- Google: connection, ongoing sync, backfill, activity -------------------------------
//
// A simulation of the shell's side of the IPC contract, driven by URL parameters so every
// state can be looked at in a browser:
//   ?google=connected | reconnect      start connected (or needing to reconnect)
//   ?client=0                          no OAuth client configured (and not demo)
//   ?connect=denied | network | timeout  how the browser sign-in ends
//   ?connectDelay=ms                   how long the "browser" takes (default 4000)
//   ?backfill=unfinished               a transfer that stopped mid-way, to resume
//   ?revoke=fail                       Google unreachable when removing the account

const params = new URLSearchParams(window.location.search);
const listeners = new Map<string, Set<(payload: unknown) => void>>();

/** Same contract as Tauri's `listen`, with the payload passed directly. */
export function mockListen(name: string, handler: (payload: unknown) => void): Promise<() => void> {
  let set = listeners.get(name);
  if (!set) {
    set = new Set();
    listeners.set(name, set);
  }
  set.add(handler);
  return Promise.resolve(() => {
    set.delete(handler);
  });
}

function emit(name: string, payload: unknown): void {
  setTimeout(() => {
    for (const h of [...(listeners.get(name) ?? [])]) h(structuredClone(payload));
  }, 0);
}

const EMAIL = 'ana.silva@example.com';
const CALENDARS: CalendarChoice[] = [
  { id: EMAIL, summary: EMAIL, primary: true, writable: true },
  { id: 'work@group.calendar.example.com', summary: 'Sales meetings', primary: false, writable: true },
  { id: 'team@group.calendar.example.com', summary: 'Team events', primary: false, writable: true },
  { id: 'de.german#holiday@group.v.calendar.google.com', summary: 'Holidays in Germany', primary: false, writable: false },
  { id: 'ben.okafor@example.com', summary: 'Ben Okafor (view only)', primary: false, writable: false },
];

const startConnected = params.get('google') === 'connected' || params.get('google') === 'reconnect';
const google = {
  connected: startConnected,
  needsReconnect: params.get('google') === 'reconnect',
  connectedAt: startConnected ? toRfc3339(new Date(Date.now() - 10 * DAY)) : null,
  lastSync: startConnected ? toRfc3339(new Date(Date.now() - 4 * 60_000)) : (null as string | null),
  paused: false,
  syncing: false,
};
let settings: SyncSettings = {
  direction: 'both',
  calendar_id: 'primary',
  poll_interval_secs: 60,
  title_template: '{title}',
  include_lead_name: false,
  include_lead_email: false,
  include_lead_phone: false,
  start_at_login: false,
  meet_by_default: params.get('meet') === '1',
  invite_lead_by_default: false,
  default_reminder_minutes: null,
};
/** Appointments linked to a Google event, and the ones waiting in the outbox. */
const linked = new Set<string>();
const pendingIds = new Set<string>();
const failing = new Map<string, string>();
/** Old Google events not in Bookline yet (what backfill B would bring in). */
let googleOnlyOld = 340;

function hash(id: string): number {
  let h = 0;
  for (const c of id) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return h;
}

function linkExisting(): void {
  // Connected for a while: Google-made rows are linked, some CRM rows were synced as new,
  // a handful failed, and the rest are old rows that backfill would send.
  for (const a of store) {
    const h = hash(a.id) % 100;
    if (a.origin === 'google' || h < 35) linked.add(a.id);
    else if (h === 99) failing.set(a.id, 'Google refused this event: its time zone “Mars/Olympus” is not known.');
  }
  // The first upcoming rows show one of each badge, so a screenshot has them all.
  const now = Date.now();
  const upcoming = store
    .filter((a) => a.origin === 'crm' && !a.recurrence && bounds(a.timing)[0] > now)
    .sort((x, y) => bounds(x.timing)[0] - bounds(y.timing)[0]);
  if (upcoming[1]) {
    linked.delete(upcoming[1].id);
    pendingIds.add(upcoming[1].id);
  }
  if (upcoming[2]) {
    linked.delete(upcoming[2].id);
    failing.set(upcoming[2].id, 'Google refused this event: its time zone “Mars/Olympus” is not known.');
  }
}
if (google.connected) linkExisting();

function syncStateOf(a: Appointment): AppointmentRow['sync_state'] {
  if (!google.connected) return { state: 'not_connected' };
  const error = failing.get(a.id);
  if (error) return { state: 'error', message: error };
  if (pendingIds.has(a.id)) return { state: 'pending' };
  if (linked.has(a.id)) return { state: 'synced' };
  return { state: 'not_synced' };
}

let clientConfigured = params.get('client') !== '0';

// The shell checks the file in Rust (bookline-core's oauth::client_file); the fake knows
// only enough of it to show the page's two outcomes.
function useGoogleClient(json: string): AppStatus {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    fail('validation', "This file is not a Google client file: it is not JSON. Choose the .json file that Google Cloud's console downloads for an OAuth client.");
  }
  const top = (parsed ?? {}) as Record<string, { client_id?: string } | undefined>;
  if (!top.installed && top.web) {
    fail('validation', 'This is the file of a "Web application" client, which cannot sign in from a desktop app. In Google Cloud\'s console, create an OAuth client ID of type "Desktop app" and choose its downloaded JSON.');
  }
  if (!top.installed?.client_id) {
    fail('validation', 'This client file has no client_id. Download the JSON of your "Desktop app" OAuth client again from Google Cloud\'s console.');
  }
  clientConfigured = true;
  changed();
  return appStatus();
}

function appStatus(): AppStatus {
  const state = !google.connected
    ? 'idle'
    : google.needsReconnect
      ? 'needs_reconnect'
      : google.syncing
        ? 'syncing'
        : google.paused
          ? 'paused'
          : 'idle';
  return {
    connected: google.connected,
    email: google.connected ? EMAIL : null,
    demo: params.get('client') !== '0',
    client_configured: clientConfigured,
    needs_reconnect: google.connected && google.needsReconnect,
    connected_at: google.connectedAt,
    direction: settings.direction,
    calendar_id: google.connected ? settings.calendar_id : null,
    last_sync: google.lastSync,
    pending: google.connected ? pendingIds.size : 0,
    held_deletes: { crm: 0, google: 0, first: [] },
    sync: {
      state,
      message: state === 'needs_reconnect' ? 'Google no longer accepts Bookline’s access (the permission was removed). Reconnect to resume syncing; nothing has been lost.' : null,
    },
    // The fake stores whatever Google holds; nothing is ever set aside.
    parked: [],
  };
}

function changed(): void {
  emit('status-changed', appStatus());
}

function requireConnected(): void {
  if (!google.connected) fail('not_connected', 'No Google account is connected.');
}

let activity: ActivityEntry[] = [];
let activitySeq = 0;

function log(kind: ActivityKind, side: ActivityEntry['side'], summary: string, detail: string | null = null, appointmentId: string | null = null, at = new Date(), transferId: number | null = null): void {
  activitySeq += 1;
  activity.unshift({ id: activitySeq, at: toRfc3339(at), kind, side, appointment_id: appointmentId, summary, detail, transfer_id: transferId });
}

// A transfer is one entry of the log (replaced as it goes on, like the real store's), and
// its items open from it.
let transferSeq = 0;
const transfers = new Map<number, TransferItem[]>();

function logTransfer(transferId: number, summary: string): void {
  activity = activity.filter((e) => !(e.transfer_id === transferId && e.kind === 'info'));
  log('info', null, summary, null, null, new Date(), transferId);
}

function transferItemsPage(transferId: number, afterSeq: number | null): TransferItem[] {
  const items = transfers.get(transferId) ?? [];
  return structuredClone(items.filter((i) => afterSeq === null || i.seq > afterSeq).slice(0, 200));
}

function seedActivity(): void {
  const kinds: [ActivityKind, ActivityEntry['side'], (t: string) => string][] = [
    ['created', 'google', (t) => `Created “${t}” in Google.`],
    ['created', 'crm', (t) => `Created “${t}” in Bookline from a new Google event.`],
    ['updated', 'google', (t) => `Moved “${t}” in Google to the new time.`],
    ['updated', 'crm', (t) => `Updated “${t}” in Bookline: the title changed in Google.`],
    ['deleted', 'crm', (t) => `Cancelled “${t}” in Bookline: the event was deleted in Google.`],
    ['linked', null, (t) => `Linked “${t}” with the equal event already in Google.`],
  ];
  const start = Date.now() - 10 * DAY;
  const sample = store.slice(0, 130);
  sample.forEach((a, i) => {
    const at = new Date(start + i * (10 * DAY - HOUR) / sample.length);
    if (i % 41 === 40) {
      log('conflict', null, `“${a.title}” changed on both sides: the later edit (in Google) was kept for the start time.`, 'Bookline had 10:00, Google had 10:30; Google’s edit was 3 minutes later.', a.id, at);
    } else if (i % 53 === 52) {
      log('error', 'google', `Could not send “${a.title}” to Google.`, 'Google refused this event: its time zone “Mars/Olympus” is not known.', a.id, at);
    } else {
      const [kind, side, text] = kinds[i % kinds.length];
      log(kind, side, text(a.title), null, a.id, at);
    }
  });
  log('info', null, 'Connected to Google as ' + EMAIL + '.', null, null, new Date(start - 60_000));
  activity.sort((x, y) => y.id - x.id);
}
if (google.connected) seedActivity();

function activityPage(limit: number, beforeId: number | null): ActivityEntry[] {
  const rows = beforeId === null ? activity : activity.filter((e) => e.id < beforeId);
  return structuredClone(rows.slice(0, Math.max(1, Math.min(limit, 500))));
}

let connecting: { cancel: () => void } | null = null;

function connect(): Promise<AppStatus> {
  if (params.get('client') === '0') {
    return Promise.reject({ code: 'configuration', message: 'No Google OAuth client is configured.' } satisfies AppError);
  }
  if (connecting) return Promise.reject({ code: 'validation', message: 'Bookline is already waiting for Google.' } satisfies AppError);
  const state = Math.random().toString(36).slice(2);
  emit('connect-waiting', {
    auth_url: `http://127.0.0.1:8765/o/oauth2/v2/auth?client_id=bookline-demo&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&response_type=code&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar.events%20openid%20email&code_challenge_method=S256&access_type=offline&prompt=consent&state=${state}`,
  });
  const outcome = params.get('connect');
  const delay = Number(params.get('connectDelay') ?? '4000');
  return new Promise<AppStatus>((resolve, reject) => {
    const timer = setTimeout(() => {
      connecting = null;
      if (outcome === 'denied') reject({ code: 'internal', message: 'Google answered access_denied: access was not allowed.' } satisfies AppError);
      else if (outcome === 'network') reject({ code: 'network', message: 'oauth2.googleapis.com could not be reached.' } satisfies AppError);
      else if (outcome === 'timeout') reject({ code: 'cancelled', message: 'Timed out after 5 minutes waiting for the browser.' } satisfies AppError);
      else {
        const wasConnected = google.connected;
        google.connected = true;
        google.needsReconnect = false;
        if (!wasConnected) {
          google.connectedAt = toRfc3339(new Date());
          google.lastSync = toRfc3339(new Date());
          linkExisting();
          // A fresh connection: only Google-made rows are linked; everything else is old.
          for (const a of store) if (a.origin !== 'google') linked.delete(a.id);
          failing.clear();
          pendingIds.clear();
          seedActivity();
          log('info', null, `Connected to Google as ${EMAIL}.`);
        } else {
          log('info', null, `Reconnected to Google as ${EMAIL}; sync resumed.`);
        }
        changed();
        emit('appointments-changed', null);
        resolve(appStatus());
      }
    }, Number.isFinite(delay) ? delay : 4000);
    connecting = {
      cancel: () => {
        clearTimeout(timer);
        connecting = null;
        reject({ code: 'cancelled', message: 'Connecting was cancelled.' } satisfies AppError);
      },
    };
  });
}

async function disconnect(keepImported: boolean): Promise<DisconnectReport> {
  requireConnected();
  if (job?.progress.state === 'running') job.cancel = true;
  await new Promise((r) => setTimeout(r, 700));
  const before = store.length;
  if (!keepImported) store = store.filter((a) => a.origin !== 'google');
  const removed = before - store.length;
  google.connected = false;
  google.needsReconnect = false;
  google.connectedAt = null;
  google.lastSync = null;
  google.paused = false;
  linked.clear();
  pendingIds.clear();
  failing.clear();
  activity = [];
  job = null;
  changed();
  emit('appointments-changed', null);
  const revoked = params.get('revoke') !== 'fail';
  return {
    revoked,
    revoke_error: revoked ? null : 'oauth2.googleapis.com did not answer (connection timed out). You can remove Bookline’s access yourself at myaccount.google.com → Security → Third-party apps.',
    removed_appointments: removed,
    kept_appointments: store.length,
  };
}

function saveSettings(next: SyncSettings): SyncSettings {
  const reminder = next.default_reminder_minutes;
  if (reminder !== null && (!Number.isInteger(reminder) || reminder < 0 || reminder > 40320)) fail('validation', 'A reminder can be at most 4 weeks (40,320 minutes) before.');
  if (!['both', 'google-to-crm', 'crm-to-google'].includes(next.direction)) fail('validation', `Unknown direction “${next.direction}”.`);
  if (!Number.isInteger(next.poll_interval_secs) || next.poll_interval_secs < 15) fail('validation', 'Check for changes at most every 15 seconds.');
  const t = parseTemplate(next.title_template);
  if (!t.ok) fail('validation', t.error);
  const cal = CALENDARS.find((c) => c.id === next.calendar_id || (next.calendar_id === 'primary' && c.primary));
  if (!cal) fail('not_found', 'That calendar is no longer in your Google account.');
  if (writesToGoogle(next.direction) && !cal.writable) fail('validation', `“${cal.summary}” is read-only: Bookline cannot add events to it.`);
  const before = settings;
  settings = structuredClone(next);
  if (before.direction !== next.direction) log('info', null, `Calendar Sync Settings: direction changed to “${next.direction}”.`);
  if (before.calendar_id !== next.calendar_id) log('info', null, `Calendar Sync Settings: now syncing with “${cal.summary}”.`);
  changed();
  return structuredClone(settings);
}

let passTimer: ReturnType<typeof setTimeout> | undefined;

/** A CRM change while connected: the row waits in the outbox until the next pass. */
function touched(id: string): void {
  if (!google.connected || !writesToGoogle(settings.direction)) return;
  const a = store.find((x) => x.id === id);
  if (!a || Date.parse(a.created_at) < Date.parse(google.connectedAt ?? '') && !linked.has(id)) return;
  pendingIds.add(id);
  changed();
  clearTimeout(passTimer);
  if (!google.paused && !google.needsReconnect) passTimer = setTimeout(() => void syncPass().catch(() => undefined), 1500);
}

async function syncPass(): Promise<SyncReport> {
  requireConnected();
  if (google.needsReconnect) fail('needs_reconnect', 'Google no longer accepts Bookline’s access. Reconnect first.');
  google.syncing = true;
  changed();
  await new Promise((r) => setTimeout(r, 1200));
  const sent = [...pendingIds];
  const report: SyncReport = { created_in_google: 0, updated_in_google: 0, deleted_in_google: 0, created_in_crm: 0, updated_in_crm: 0, deleted_in_crm: 0, conflicts: 0, errors: [], held_deletes: 0, lead_answers: [], booking_changes: 0 };
  for (const id of sent) {
    const a = store.find((x) => x.id === id);
    pendingIds.delete(id);
    if (!a) continue;
    bookingSent(a);
    if (linked.has(id)) {
      report.updated_in_google += 1;
      log('updated', 'google', `Updated “${a.title}” in Google.`, null, id);
    } else {
      linked.add(id);
      report.created_in_google += 1;
      log('created', 'google', `Created “${a.title}” in Google.`, null, id);
    }
  }
  google.syncing = false;
  google.lastSync = toRfc3339(new Date());
  changed();
  emit('appointments-changed', null);
  return report;
}

function backfillArgs(args: Record<string, unknown>): BackfillRequest {
  const date = (v: unknown): string | null => {
    if (v == null || v === '') return null;
    if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) fail('validation', `“${String(v)}” is not a date (YYYY-MM-DD).`);
    return v;
  };
  const direction = args.direction as BackfillRequest['direction'];
  if (!['both', 'google-to-crm', 'crm-to-google'].includes(direction)) fail('validation', `Unknown direction “${String(direction)}”.`);
  const since = date(args.since);
  const until = date(args.until);
  if (since && until && until < since) fail('validation', 'The end of the date range is before its start.');
  return { direction, since, until };
}

function inRange(a: Appointment, r: BackfillRequest): boolean {
  const [s] = bounds(a.timing);
  if (r.since && s < Date.parse(`${r.since}T00:00:00Z`)) return false;
  if (r.until && s >= Date.parse(`${r.until}T00:00:00Z`) + DAY) return false;
  return true;
}

function candidates(r: BackfillRequest) {
  const old = store.filter((a) => a.origin === 'crm' && !linked.has(a.id) && !pendingIds.has(a.id) && inRange(a, r));
  const share = r.since || r.until ? Math.min(1, old.length / Math.max(1, store.length)) : 1;
  const equal = old.filter((a) => hash(a.id) % 250 === 3);
  return {
    toGoogle: old.filter((a) => hash(a.id) % 250 !== 3),
    equal,
    toCrm: Math.round(googleOnlyOld * share),
    alreadyLinked: store.filter((a) => linked.has(a.id) && inRange(a, r)).length,
  };
}

function backfillPreview(r: BackfillRequest): BackfillPreview {
  requireConnected();
  const c = candidates(r);
  const cannot: BackfillPreview['cannot_transfer'] = [];
  if (writesToCrm(r.direction) && c.toCrm > 0) cannot.push({ reason: 'working-location and out-of-office entries are not appointments', count: 3 });
  return {
    create_in_google: writesToGoogle(r.direction) ? c.toGoogle.length : 0,
    create_in_crm: writesToCrm(r.direction) ? c.toCrm : 0,
    already_linked: c.alreadyLinked,
    matched_equal: c.equal.length,
    cannot_transfer: cannot,
    match_rule: 'An appointment and a Google event with the same start, end and title are taken to be the same: they are linked, not copied.',
  };
}

let job: { progress: BackfillProgress; cancel: boolean } | null =
  params.get('backfill') === 'unfinished'
    ? {
        progress: { state: 'failed', total: 2000, done: 800, created_in_google: 790, created_in_crm: 0, linked: 10, failed: 0, eta_secs: null, message: 'Bookline was closed before the transfer finished.' },
        cancel: false,
      }
    : null;

function backfillStart(r: BackfillRequest): null {
  requireConnected();
  if (job?.progress.state === 'running') fail('validation', 'A transfer is already running.');
  const c = candidates(r);
  const toGoogle = writesToGoogle(r.direction) ? c.toGoogle : [];
  const toCrm = writesToCrm(r.direction) ? c.toCrm : 0;
  const total = toGoogle.length + toCrm + c.equal.length;
  const progress: BackfillProgress = { state: 'running', total, done: 0, created_in_google: 0, created_in_crm: 0, linked: 0, failed: 0, eta_secs: null, message: null };
  const current = { progress, cancel: false };
  job = current;
  const transferId = ++transferSeq;
  const items: TransferItem[] = [];
  transfers.set(transferId, items);
  const item = (action: TransferItem['action'], state: TransferItem['state'], a: Appointment, error: string | null = null) =>
    items.push({ seq: items.length, action, state, appointment_id: a.id, title: a.title, error });
  logTransfer(transferId, `Synchronize Google Calendar started: ${total} items to transfer.`);
  // Paced like a quota-bound transfer: the whole run takes about 12 seconds.
  const perTick = Math.max(1, Math.ceil(total / 60));
  const started = Date.now();
  let gi = 0;
  let ci = 0;
  let ei = 0;
  const tick = () => {
    if (current.cancel) {
      progress.state = 'cancelled';
      progress.eta_secs = null;
      progress.message = 'Stopped. What was transferred stays; run it again to finish.';
      logTransfer(transferId, `Synchronize Google Calendar cancelled after ${progress.done} of ${total} items.`);
      emit('backfill-progress', progress);
      emit('appointments-changed', null);
      return;
    }
    for (let n = 0; n < perTick && progress.done < total; n++) {
      if (gi < toGoogle.length) {
        const a = toGoogle[gi++];
        if (hash(a.id) % 400 === 17) {
          progress.failed += 1;
          item('create_in_google', 'failed', a, 'Google refused the recurrence rule of this series.');
          log('error', 'google', `Could not create “${a.title}” in Google.`, 'Google refused the recurrence rule of this series.', a.id);
        } else {
          linked.add(a.id);
          progress.created_in_google += 1;
          item('create_in_google', 'done', a);
        }
      } else if (ei < c.equal.length) {
        const a = c.equal[ei++];
        linked.add(a.id);
        progress.linked += 1;
        item('link', 'done', a);
      } else if (ci < toCrm) {
        ci += 1;
        googleOnlyOld -= 1;
        const day = addDays(utcToZoned(new Date(Date.now() - (ci % 300) * DAY), userTimeZone()).date, 0);
        const ts = toRfc3339(new Date());
        const a: Appointment = {
          id: newId(),
          title: `${KINDS[ci % KINDS.length]} (from Google)`,
          timing: { kind: 'timed', start: toRfc3339(zonedToUtc(day, '14:00', userTimeZone()) ?? new Date()), end: toRfc3339(zonedToUtc(day, '15:00', userTimeZone()) ?? new Date()) },
          timezone: userTimeZone(),
          location: '',
          notes: '',
          lead: { name: '', email: '', phone: '' },
          status: 'booked',
          origin: 'google',
          recurrence: null,
          instance_of: null,
          created_at: ts,
          updated_at: ts,
        };
        store.push(a);
        linked.add(a.id);
        progress.created_in_crm += 1;
        item('create_in_crm', 'done', a);
      }
      progress.done += 1;
    }
    const elapsed = (Date.now() - started) / 1000;
    progress.eta_secs = progress.done > 0 && elapsed > 0.5 ? Math.round(((total - progress.done) * elapsed) / progress.done) : null;
    if (progress.done >= total) {
      progress.state = 'finished';
      progress.eta_secs = 0;
      const parts = [
        progress.created_in_crm > 0 ? `imported ${progress.created_in_crm} events from Google` : '',
        progress.created_in_google > 0 ? `sent ${progress.created_in_google} events to Google` : '',
        progress.linked > 0 ? `linked ${progress.linked} events` : '',
        progress.failed > 0 ? `${progress.failed} failed` : '',
      ].filter((p) => p !== '');
      const line = parts.length > 0 ? parts.join(', ') : 'Synchronize Google Calendar found nothing to transfer';
      logTransfer(transferId, line.charAt(0).toUpperCase() + line.slice(1));
      emit('backfill-progress', progress);
      emit('appointments-changed', null);
      return;
    }
    emit('backfill-progress', progress);
    setTimeout(tick, 200);
  };
  emit('backfill-progress', progress);
  setTimeout(tick, 200);
  return null;
}

// ---- Booking with the lead (#17): Meet, invitations, answers, busy times -----------------
//
//   ?busy=offline      busy times are the last answer Google gave, 12 minutes ago
//   ?busy=noscope      connected without the free/busy permission
//   ?decline=ms        the lead of the first invited upcoming appointment declines after ms

const bookings = new Map<string, Booking>();

function bookingOf(id: string): Booking {
  return structuredClone(bookings.get(id) ?? NO_BOOKING);
}

/** A Meet code shaped like Google's (abc-defg-hij), fixed per appointment. */
function meetUrl(id: string): string {
  let h = hash(`meet:${id}`);
  const letters = (n: number) =>
    Array.from({ length: n }, () => {
      const c = String.fromCharCode(97 + (h % 26));
      h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
      return c;
    }).join('');
  return `https://meet.google.com/${letters(3)}-${letters(4)}-${letters(3)}`;
}

/** Why Google can't act now, or null when it can (the same reasons the core gives). */
function googleWaits(): string | null {
  if (settings.direction === 'google-to-crm') return "Sync writes only into Bookline, so Google can't add a Meet link.";
  if (!google.connected || google.paused || google.needsReconnect) return 'Waits until Bookline is online.';
  return null;
}

function checkBooking(input: AppointmentInput, req: BookingRequest | undefined, alreadyInvited: boolean): void {
  if (req?.invite_lead && !alreadyInvited) {
    const reason = inviteBlockedReason(input.lead.email);
    if (reason) fail('validation', reason);
  }
}

/** What saving records; Google is asked on the next pass (bookingSent), as the core does. */
function applyBooking(a: Appointment, req: BookingRequest | undefined): void {
  const before = bookingOf(a.id);
  const next = structuredClone(before);
  if (req?.meet && before.meet.state === 'none') {
    next.meet = { state: 'waiting', reason: googleWaits() ?? 'Bookline asks Google for the link on the next sync.' };
  }
  if (req?.invite_lead && !before.invite_lead) next.invite_lead = true;
  if (req?.notify_lead && before.invitation_sent) notifyPending.add(a.id);
  bookings.set(a.id, next);
}

const notifyPending = new Set<string>();

/** The pass wrote the appointment to Google: the Meet link comes back, the invitation goes out. */
function bookingSent(a: Appointment): void {
  const b = bookings.get(a.id);
  if (!b || googleWaits() !== null) return;
  if (b.meet.state === 'waiting') b.meet = { state: 'ready', link: meetUrl(a.id) };
  if (b.invite_lead && !b.invitation_sent) {
    b.invitation_sent = true;
    b.lead_response = 'needsAction';
    log('info', 'google', `Invited ${a.lead.email} to “${a.title}” (Google emailed the invitation).`, null, a.id);
  } else if (notifyPending.delete(a.id)) {
    log('info', 'google', `Google emailed ${a.lead.email} the change to “${a.title}”.`, null, a.id);
  }
}

function invitationNotice(input: AppointmentInput, req: BookingRequest, id: string | null): string | null {
  const email = input.lead.email.trim();
  const alreadyInvited = id !== null && bookingOf(id).invitation_sent;
  const invites = req.invite_lead && !alreadyInvited;
  if (!invites && !(req.notify_lead && alreadyInvited)) return null;
  if (req.invite_lead) checkBooking(input, req, false);
  if (settings.direction === 'google-to-crm') return "Google won't email anyone: sync only brings Google's events into Bookline.";
  const what = invites ? `Google will email ${email} an invitation from ${EMAIL}` : `Google will email ${email} the change`;
  return googleWaits() ? `${what} when Bookline is next online.` : `${what}.`;
}

/** Busy blocks on one wall-clock day: merged when they overlap or touch. */
function mergeBlocks(blocks: BusyBlock[]): BusyBlock[] {
  const out: BusyBlock[] = [];
  for (const b of [...blocks].sort((x, y) => Date.parse(x.start) - Date.parse(y.start))) {
    const last = out[out.length - 1];
    if (last && last.calendar_id === b.calendar_id && Date.parse(b.start) <= Date.parse(last.end)) {
      if (Date.parse(b.end) > Date.parse(last.end)) last.end = b.end;
    } else out.push({ ...b });
  }
  return out.sort((x, y) => Date.parse(x.start) - Date.parse(y.start));
}

function busyTimes(day: string, timezone: string, otherCalendars: boolean, exclude: string | null): BusyTimes {
  if (!google.connected) return { blocks: [], fetched_at: null, stale: false, message: 'Not connected to Google.' };
  if (params.get('busy') === 'noscope') {
    return { blocks: [], fetched_at: null, stale: false, message: 'Reconnect and allow Bookline to see when you’re busy to see busy times here.' };
  }
  if (!isValidTimeZone(timezone) || !/^\d{4}-\d{2}-\d{2}$/.test(day)) fail('validation', `No such day “${day}” in “${timezone}”.`);
  const dayStart = zonedToUtc(day, '00:00', timezone)?.getTime() ?? 0;
  const dayEnd = zonedToUtc(addDays(day, 1), '00:00', timezone)?.getTime() ?? 0;
  const synced = CALENDARS.find((c) => c.id === settings.calendar_id || (settings.calendar_id === 'primary' && c.primary)) ?? CALENDARS[0];
  const at = (time: string) => toRfc3339(zonedToUtc(day, time, timezone) ?? new Date(dayStart));
  const block = (cal: CalendarChoice, from: string, to: string): BusyBlock => ({ start: at(from), end: at(to), calendar_id: cal.id, calendar_name: cal.summary });
  const weekday = new Date(`${day}T12:00:00Z`).getUTCDay();
  const blocks: BusyBlock[] = [];
  if (weekday >= 1 && weekday <= 5) {
    // Google events that are not appointments: a standing meeting, and lunch twice a week.
    blocks.push(block(synced, '10:00', '11:00'));
    if (weekday % 2 === 0) blocks.push(block(synced, '12:30', '13:15'));
    if (otherCalendars) blocks.push(block(CALENDARS[2], '15:00', '16:00'));
  }
  // Bookline's own appointments that are in Google are busy there too.
  for (const a of store) {
    if (a.id === exclude || !linked.has(a.id) || a.status === 'cancelled' || a.recurrence) continue;
    const [s, e] = a.timing.kind === 'timed' ? bounds(a.timing) : [dayStart, dayStart];
    if (s < dayEnd && e > dayStart) {
      blocks.push({ start: toRfc3339(new Date(Math.max(s, dayStart))), end: toRfc3339(new Date(Math.min(e, dayEnd))), calendar_id: synced.id, calendar_name: synced.summary });
    }
  }
  const stale = params.get('busy') === 'offline';
  const fetched = new Date(Date.now() - (stale ? 12 * 60_000 : 0));
  return { blocks: mergeBlocks(blocks), fetched_at: toRfc3339(fetched), stale, message: stale ? 'Offline: busy times from 12 minutes ago.' : null };
}

/** Upcoming rows with one of each booking, so the list and a screenshot show them all. */
function seedBookings(): void {
  const now = Date.now();
  const upcoming = store
    // Not the rows that show the list's Pending and Sync error badges (see linkExisting).
    .filter((a) => a.origin === 'crm' && !a.recurrence && a.status === 'booked' && a.lead.email !== '' && a.timing.kind === 'timed' && bounds(a.timing)[0] > now)
    .filter((a) => !pendingIds.has(a.id) && !failing.has(a.id))
    .sort((x, y) => bounds(x.timing)[0] - bounds(y.timing)[0]);
  const answers: (LeadResponse | null)[] = ['accepted', null, 'declined', 'needsAction', 'tentative', 'accepted', null, 'accepted'];
  upcoming.slice(0, answers.length).forEach((a, i) => {
    const response = answers[i];
    // An invited lead means the event is in Google.
    if (response !== null && google.connected) linked.add(a.id);
    bookings.set(a.id, {
      meet: i === 1 ? { state: 'none' } : { state: 'ready', link: meetUrl(a.id) },
      invite_lead: response !== null,
      invitation_sent: response !== null,
      lead_response: response,
    });
  });
  for (const a of store.slice(0, 2000)) if (!bookings.has(a.id) && a.origin === 'crm' && hash(a.id) % 5 === 0) bookings.set(a.id, { ...NO_BOOKING, meet: { state: 'ready', link: meetUrl(a.id) } });
  const declined = upcoming[2];
  if (declined && google.connected) {
    log('lead_answer', 'crm', `${declined.lead.name.split(' ')[0]} declined ${declined.title} — ${whenShort(declined)}`, `${declined.lead.email} declined the invitation in Google.`, declined.id, new Date(now - 20 * 60_000));
    activity.sort((x, y) => y.id - x.id);
  }
  const after = Number(params.get('decline'));
  if (Number.isFinite(after) && after > 0) {
    setTimeout(() => {
      const target = upcoming.find((a) => bookings.get(a.id)?.lead_response === 'accepted' || bookings.get(a.id)?.lead_response === 'needsAction');
      if (!target) return;
      const b = bookingOf(target.id);
      b.lead_response = 'declined';
      bookings.set(target.id, b);
      log('lead_answer', 'crm', `${target.lead.name.split(' ')[0]} declined ${target.title} — ${whenShort(target)}`, null, target.id);
      changed();
      emit('appointments-changed', null);
    }, after);
  }
}

/** "Thu 10:00" in the appointment's zone, as the decline sentence has it. */
function whenShort(a: Appointment): string {
  const start = a.timing.kind === 'timed' ? new Date(a.timing.start) : new Date(`${a.timing.start}T12:00:00Z`);
  const day = new Intl.DateTimeFormat('en', { weekday: 'short', timeZone: a.timezone }).format(start);
  return a.timing.kind === 'timed' ? `${day} ${utcToZoned(start, a.timezone).time}` : day;
}

seedBookings();
