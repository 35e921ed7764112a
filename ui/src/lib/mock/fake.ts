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
import type { Occurrence } from '../bindings/Occurrence';
import type { Status } from '../bindings/Status';
import type { Timing } from '../bindings/Timing';
import type { AppStatus } from '../types';
import { addDays, isValidTimeZone, toRfc3339, userTimeZone, utcToZoned, zonedToUtc } from '../tz';

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
    sync_state: { state: 'not_connected' },
    google_event_id: null,
  }));
  return { rows: page, total: rows.length };
}

function ruleParts(a: Appointment): { freq: string; interval: number; count: number } | null {
  const line = a.recurrence?.lines.find((l) => l.toUpperCase().startsWith('RRULE:'));
  if (!line) return null;
  const parts = new Map(
    line
      .slice(6)
      .split(';')
      .map((p) => p.split('=') as [string, string]),
  );
  const freq = (parts.get('FREQ') ?? '').toUpperCase();
  if (!['DAILY', 'WEEKLY', 'MONTHLY'].includes(freq)) return null;
  return { freq, interval: Number(parts.get('INTERVAL') ?? '1') || 1, count: Number(parts.get('COUNT') ?? '0') || 0 };
}

function shiftDate(date: string, freq: string, n: number): string {
  if (freq === 'DAILY') return addDays(date, n);
  if (freq === 'WEEKLY') return addDays(date, 7 * n);
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1 + n, d));
  return t.toISOString().slice(0, 10);
}

function occurrences(from: string, to: string): Occurrence[] {
  const lo = Date.parse(from);
  const hi = Date.parse(to);
  const out: Occurrence[] = [];
  for (const a of store) {
    const rule = ruleParts(a);
    const base = { title: a.title, timezone: a.timezone, status: a.status, origin: a.origin };
    if (!rule) {
      const [s, e] = bounds(a.timing);
      if (s < hi && e > lo) out.push({ ...base, appointment_id: a.id, series_id: null, timing: a.timing });
      continue;
    }
    for (let i = 0; i < 2000; i++) {
      if (rule.count && i >= rule.count) break;
      let timing: Timing;
      if (a.timing.kind === 'all_day') {
        const len = Math.round((bounds(a.timing)[1] - bounds(a.timing)[0]) / DAY);
        const s = shiftDate(a.timing.start, rule.freq, i * rule.interval);
        timing = { kind: 'all_day', start: s, end: addDays(s, len) };
      } else {
        const wall = utcToZoned(a.timing.start, a.timezone);
        const s = zonedToUtc(shiftDate(wall.date, rule.freq, i * rule.interval), wall.time, a.timezone);
        if (!s) break;
        const len = Date.parse(a.timing.end) - Date.parse(a.timing.start);
        timing = { kind: 'timed', start: toRfc3339(s), end: toRfc3339(new Date(s.getTime() + len)) };
      }
      const [s, e] = bounds(timing);
      if (s >= hi) break;
      if (e > lo) out.push({ ...base, appointment_id: a.id, series_id: a.id, timing });
    }
  }
  return out.sort((x, y) => bounds(x.timing)[0] - bounds(y.timing)[0]);
}

function dispatch(cmd: string, args: Record<string, unknown>): unknown {
  switch (cmd) {
    case 'list_appointments':
      return list(args.query as ListQuery);
    case 'week_occurrences':
      return occurrences(String(args.from), String(args.to));
    case 'get_appointment':
      return structuredClone(find(String(args.id)));
    case 'create_appointment': {
      const input = args.input as AppointmentInput;
      validate(input);
      const ts = toRfc3339(new Date());
      const a: Appointment = { ...structuredClone(input), id: newId(), origin: 'crm', instance_of: null, created_at: ts, updated_at: ts };
      store.push(a);
      return structuredClone(a);
    }
    case 'update_appointment': {
      const input = args.input as AppointmentInput;
      validate(input);
      const a = find(String(args.id));
      Object.assign(a, structuredClone(input), { updated_at: toRfc3339(new Date()) });
      return structuredClone(a);
    }
    case 'set_appointment_status': {
      const a = find(String(args.id));
      a.status = args.status as Status;
      a.updated_at = toRfc3339(new Date());
      return structuredClone(a);
    }
    case 'delete_appointment':
      find(String(args.id));
      store = store.filter((x) => x.id !== args.id);
      return null;
    case 'app_status':
      return { connected: false, email: null, demo: true } satisfies AppStatus;
    default:
      return fail('internal', `Unknown command ${cmd}.`);
  }
}

/** Same contract as Tauri's `invoke`: resolves with the answer or rejects with `{code, message}`. */
export async function mockInvoke<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  // A little latency, so loading states are exercised as they are over real IPC.
  await new Promise((r) => setTimeout(r, 15));
  return dispatch(cmd, args) as T;
}
