// The Add/Edit dialog's fields as plain strings, and their conversion to and from
// `AppointmentInput`. Kept free of Svelte so it can be unit tested.

import type { Appointment } from './bindings/Appointment';
import type { AppointmentInput } from './bindings/AppointmentInput';
import type { Status } from './bindings/Status';
import type { Recurrence } from './bindings/Recurrence';
import { choiceFromRecurrence, customRuleProblem, recurrenceFromChoice, type RepeatChoice } from './recurrence';
import { addDays, toRfc3339, utcToZoned, zonedToUtc } from './tz';

export interface FormState {
  title: string;
  allDay: boolean;
  startDate: string;
  startTime: string;
  /** For all-day appointments this is the last day shown to the user (inclusive). */
  endDate: string;
  endTime: string;
  timezone: string;
  location: string;
  notes: string;
  leadName: string;
  leadEmail: string;
  leadPhone: string;
  status: Status;
  repeat: RepeatChoice;
  /** The recurrence the edited series had: saved back as it was while `repeat` still says the same. */
  storedRecurrence: Recurrence | null;
}

/** A new appointment: the next whole hour, one hour long, in the user's zone. */
export function emptyForm(timeZone: string, now: number = Date.now()): FormState {
  const nextHour = Math.ceil((now + 1) / 3_600_000) * 3_600_000;
  const start = utcToZoned(new Date(nextHour), timeZone);
  const end = utcToZoned(new Date(nextHour + 3_600_000), timeZone);
  return {
    title: '',
    allDay: false,
    startDate: start.date,
    startTime: start.time,
    endDate: end.date,
    endTime: end.time,
    timezone: timeZone,
    location: '',
    notes: '',
    leadName: '',
    leadEmail: '',
    leadPhone: '',
    status: 'booked',
    repeat: { kind: 'none' },
    storedRecurrence: null,
  };
}

export function formFromAppointment(a: Appointment): FormState {
  const repeat = choiceFromRecurrence(a.recurrence, { timeZone: a.timezone, allDay: a.timing.kind === 'all_day' });
  const base = {
    title: a.title,
    timezone: a.timezone,
    location: a.location,
    notes: a.notes,
    leadName: a.lead.name,
    leadEmail: a.lead.email,
    leadPhone: a.lead.phone,
    status: a.status,
    repeat,
    storedRecurrence: a.recurrence,
  };
  if (a.timing.kind === 'all_day') {
    return {
      ...base,
      allDay: true,
      startDate: a.timing.start,
      startTime: '09:00',
      endDate: addDays(a.timing.end, -1),
      endTime: '10:00',
    };
  }
  const start = utcToZoned(a.timing.start, a.timezone);
  const end = utcToZoned(a.timing.end, a.timezone);
  return {
    ...base,
    allDay: false,
    startDate: start.date,
    startTime: start.time,
    endDate: end.date,
    endTime: end.time,
  };
}

export type FieldErrors = Partial<Record<'title' | 'start' | 'end' | 'timezone' | 'repeat', string>>;

export type FormResult = { ok: true; input: AppointmentInput } | { ok: false; errors: FieldErrors };

/**
 * Builds the input the store expects, or says which fields are wrong. Only the checks a
 * user should see before a round trip live here (title, dates, order); the store's own
 * validation is the authority and its message is shown as it is.
 */
export function formToInput(f: FormState): FormResult {
  const errors: FieldErrors = {};
  const title = f.title.trim();
  if (title === '') errors.title = 'Enter a title.';

  let timing: AppointmentInput['timing'] | null = null;
  if (f.allDay) {
    if (!isDate(f.startDate)) errors.start = 'Choose a start date.';
    if (!isDate(f.endDate)) errors.end = 'Choose an end date.';
    if (!errors.start && !errors.end) {
      if (f.endDate < f.startDate) errors.end = 'The last day cannot be before the first day.';
      else timing = { kind: 'all_day', start: f.startDate, end: addDays(f.endDate, 1) };
    }
  } else {
    const start = zonedToUtc(f.startDate, f.startTime, f.timezone);
    const end = zonedToUtc(f.endDate, f.endTime, f.timezone);
    if (!f.timezone) errors.timezone = 'Choose a time zone.';
    if (!start) errors.start = 'Choose a start date and time.';
    if (!end) errors.end = 'Choose an end date and time.';
    if (start && end) {
      if (end.getTime() <= start.getTime()) errors.end = 'The end must be after the start.';
      else timing = { kind: 'timed', start: toRfc3339(start), end: toRfc3339(end) };
    }
  }

  if (f.repeat.kind === 'rule') {
    const r = f.repeat.rule;
    if (!(r.interval >= 1 && Number.isInteger(r.interval))) errors.repeat = 'Repeat every 1 or more days, weeks, months or years.';
    else if (r.end.kind === 'count' && !(r.end.count >= 1 && Number.isInteger(r.end.count))) errors.repeat = 'End after 1 or more times.';
    else if (r.end.kind === 'until' && !isDate(r.end.date)) errors.repeat = 'Choose the date the repeats end on.';
    else if (r.end.kind === 'until' && r.end.date < f.startDate) errors.repeat = 'The repeats cannot end before the first appointment.';
    else if (r.monthly?.kind === 'day' && r.monthly.day !== null && !(r.monthly.day >= 1 && r.monthly.day <= 31)) {
      errors.repeat = 'Choose a day of the month from 1 to 31.';
    }
  }
  if (f.repeat.kind === 'custom') {
    const problem = customRuleProblem(f.repeat.text);
    if (problem) errors.repeat = problem;
  }

  if (Object.keys(errors).length > 0 || !timing) return { ok: false, errors };
  return {
    ok: true,
    input: {
      title,
      timing,
      timezone: f.timezone,
      location: f.location.trim(),
      notes: f.notes,
      lead: { name: f.leadName.trim(), email: f.leadEmail.trim(), phone: f.leadPhone.trim() },
      status: f.status,
      recurrence: recurrenceFromChoice(f.repeat, f.storedRecurrence, { timeZone: f.timezone, allDay: f.allDay }),
    },
  };
}

function isDate(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s);
}
