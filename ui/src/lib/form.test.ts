import { describe, expect, it } from 'vitest';
import type { Appointment } from './bindings/Appointment';
import { emptyForm, formFromAppointment, formToInput } from './form';

const base: Appointment = {
  id: 'a1',
  title: 'Demo call',
  timing: { kind: 'timed', start: '2026-03-08T14:00:00Z', end: '2026-03-08T15:30:00Z' },
  timezone: 'America/New_York',
  location: 'Zoom',
  notes: 'Bring pricing',
  lead: { name: 'Ana', email: 'ana@example.com', phone: '+1 555 0100' },
  status: 'booked',
  origin: 'crm',
  recurrence: { lines: ['RRULE:FREQ=WEEKLY', 'EXDATE;TZID=America/New_York:20260315T100000'] },
  instance_of: null,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

describe('form <-> input', () => {
  it('shows a timed appointment in its own zone and saves it back unchanged', () => {
    const f = formFromAppointment(base);
    expect([f.startDate, f.startTime, f.endDate, f.endTime]).toEqual(['2026-03-08', '10:00', '2026-03-08', '11:30']);
    expect(f.repeat).toEqual({ kind: 'rule', rule: { freq: 'weekly', interval: 1, weekdays: [], monthly: null, end: { kind: 'never' } } });
    const r = formToInput(f);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.input.timing).toEqual(base.timing);
      expect(r.input.recurrence).toEqual(base.recurrence);
      expect(r.input.lead).toEqual(base.lead);
    }
  });

  it('shows the all-day end inclusive and stores it exclusive', () => {
    const a: Appointment = { ...base, timing: { kind: 'all_day', start: '2026-05-03', end: '2026-05-04' }, recurrence: null };
    const f = formFromAppointment(a);
    expect([f.allDay, f.startDate, f.endDate]).toEqual([true, '2026-05-03', '2026-05-03']);
    f.endDate = '2026-05-05';
    const r = formToInput(f);
    expect(r.ok && r.input.timing).toEqual({ kind: 'all_day', start: '2026-05-03', end: '2026-05-06' });
  });

  it('requires a title and an end after the start', () => {
    const f = emptyForm('Europe/Berlin', Date.UTC(2026, 5, 1, 8, 20));
    expect([f.startDate, f.startTime, f.endTime]).toEqual(['2026-06-01', '11:00', '12:00']);
    f.endTime = f.startTime;
    const r = formToInput(f);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.title).toBeDefined();
      expect(r.errors.end).toBe('The end must be after the start.');
    }
  });

  it('converts the chosen zone, not the user zone', () => {
    const f = emptyForm('UTC', Date.UTC(2026, 0, 10, 9, 0));
    f.title = '  Intro  ';
    f.startDate = '2026-01-12';
    f.startTime = '09:00';
    f.endDate = '2026-01-12';
    f.endTime = '09:30';
    f.timezone = 'Asia/Tokyo';
    const r = formToInput(f);
    expect(r.ok && r.input).toMatchObject({
      title: 'Intro',
      timezone: 'Asia/Tokyo',
      timing: { kind: 'timed', start: '2026-01-12T00:00:00Z', end: '2026-01-12T00:30:00Z' },
      recurrence: null,
    });
  });

  it('saves the repeat editor\'s rule, and says what is wrong with it', () => {
    const f = emptyForm('Europe/Berlin', Date.UTC(2027, 2, 1, 8, 0));
    f.title = 'Check-in';
    f.repeat = { kind: 'rule', rule: { freq: 'weekly', interval: 2, weekdays: ['MO', 'WE'], monthly: null, end: { kind: 'until', date: '2027-03-31' } } };
    const ok = formToInput(f);
    expect(ok.ok && ok.input.recurrence).toEqual({ lines: ['RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270331T215959Z'] });

    f.repeat = { kind: 'rule', rule: { freq: 'daily', interval: 0, weekdays: [], monthly: null, end: { kind: 'never' } } };
    let r = formToInput(f);
    expect(!r.ok && r.errors.repeat).toBe('Repeat every 1 or more days, weeks, months or years.');
    f.repeat = { kind: 'rule', rule: { freq: 'daily', interval: 1, weekdays: [], monthly: null, end: { kind: 'until', date: '2027-02-01' } } };
    r = formToInput(f);
    expect(!r.ok && r.errors.repeat).toBe('The repeats cannot end before the first appointment.');
    f.repeat = { kind: 'custom', text: 'FREQ=FORTNIGHTLY' };
    r = formToInput(f);
    expect(!r.ok && r.errors.repeat).toBe('"FORTNIGHTLY" is not a frequency; use DAILY, WEEKLY, MONTHLY or YEARLY.');
  });

  it('saves a Google rule the editor cannot show exactly as it came', () => {
    const a: Appointment = { ...base, recurrence: { lines: ['RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', 'EXDATE:20260430T140000Z'] } };
    const f = formFromAppointment(a);
    expect(f.repeat.kind).toBe('custom');
    const r = formToInput(f);
    expect(r.ok && r.input.recurrence).toBe(a.recurrence);
  });
});
