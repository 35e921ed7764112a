import { describe, expect, it } from 'vitest';
import {
  addDays,
  daysBetween,
  isValidTimeZone,
  offsetAt,
  parseWallClock,
  startOfWeek,
  toRfc3339,
  utcToZoned,
  weekdayMonday0,
  zonedToUtc,
} from './tz';

const iso = (d: Date | null) => (d ? toRfc3339(d) : null);

describe('zonedToUtc', () => {
  it('converts an ordinary winter and summer time in Berlin', () => {
    expect(iso(zonedToUtc('2026-01-15', '09:00', 'Europe/Berlin'))).toBe('2026-01-15T08:00:00Z');
    expect(iso(zonedToUtc('2026-07-15', '09:00', 'Europe/Berlin'))).toBe('2026-07-15T07:00:00Z');
  });

  it('handles UTC and zones with odd offsets', () => {
    expect(iso(zonedToUtc('2026-03-01', '00:00', 'UTC'))).toBe('2026-03-01T00:00:00Z');
    expect(iso(zonedToUtc('2026-03-01', '12:00', 'Asia/Kathmandu'))).toBe('2026-03-01T06:15:00Z');
    expect(iso(zonedToUtc('2026-03-01', '12:00', 'Asia/Kolkata'))).toBe('2026-03-01T06:30:00Z');
  });

  it('moves a time skipped by spring-forward ahead by the gap (New York)', () => {
    // 2026-03-08 02:00 EST -> 03:00 EDT; 02:30 does not exist and becomes 03:30 EDT.
    expect(iso(zonedToUtc('2026-03-08', '02:30', 'America/New_York'))).toBe('2026-03-08T07:30:00Z');
    expect(iso(zonedToUtc('2026-03-08', '01:59', 'America/New_York'))).toBe('2026-03-08T06:59:00Z');
    expect(iso(zonedToUtc('2026-03-08', '03:00', 'America/New_York'))).toBe('2026-03-08T07:00:00Z');
  });

  it('picks the earlier instant for a time repeated by fall-back (New York)', () => {
    // 2026-11-01 02:00 EDT -> 01:00 EST; 01:30 happens twice: 05:30Z (EDT) and 06:30Z (EST).
    expect(iso(zonedToUtc('2026-11-01', '01:30', 'America/New_York'))).toBe('2026-11-01T05:30:00Z');
    expect(iso(zonedToUtc('2026-11-01', '02:30', 'America/New_York'))).toBe('2026-11-01T07:30:00Z');
  });

  it('handles southern-hemisphere DST (Sydney) and the Berlin transitions', () => {
    // Sydney: 2026-04-05 03:00 AEDT -> 02:00 AEST; 2026-10-04 02:00 AEST -> 03:00 AEDT.
    expect(iso(zonedToUtc('2026-04-05', '02:30', 'Australia/Sydney'))).toBe('2026-04-04T15:30:00Z');
    expect(iso(zonedToUtc('2026-10-04', '02:30', 'Australia/Sydney'))).toBe('2026-10-03T16:30:00Z');
    expect(iso(zonedToUtc('2026-03-29', '02:30', 'Europe/Berlin'))).toBe('2026-03-29T01:30:00Z');
    expect(iso(zonedToUtc('2026-10-25', '02:30', 'Europe/Berlin'))).toBe('2026-10-25T00:30:00Z');
  });

  it('rejects malformed input and unknown zones', () => {
    expect(zonedToUtc('2026-02-30', '10:00', 'UTC')).toBeNull();
    expect(zonedToUtc('2026-02-10', '24:00', 'UTC')).toBeNull();
    expect(zonedToUtc('26-02-10', '10:00', 'UTC')).toBeNull();
    expect(zonedToUtc('2026-02-10', '10:00', 'Mars/Olympus')).toBeNull();
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('')).toBe(false);
  });

  it('round-trips instants across a DST year through utcToZoned', () => {
    // Lord Howe shifts by 30 minutes; a 70-minute step lands on every half hour of the day.
    const zones = ['America/New_York', 'Australia/Lord_Howe'];
    for (const zone of zones) {
      let t = Date.UTC(2026, 0, 1);
      const end = Date.UTC(2027, 0, 1);
      while (t < end) {
        const { date, time } = utcToZoned(new Date(t), zone);
        const back = zonedToUtc(date, time, zone);
        expect(back).not.toBeNull();
        // An instant in the second copy of a repeated hour maps to the first copy; the
        // wall clock shown must still be identical.
        expect(utcToZoned(back as Date, zone)).toEqual({ date, time });
        t += 70 * 60_000;
      }
    }
  }, 60_000);
});

describe('utcToZoned and offsets', () => {
  it('shows an instant in the zone', () => {
    expect(utcToZoned('2026-07-01T22:30:00Z', 'Europe/Berlin')).toEqual({ date: '2026-07-02', time: '00:30' });
    expect(utcToZoned('2026-07-01T22:30:00Z', 'America/Los_Angeles')).toEqual({ date: '2026-07-01', time: '15:30' });
  });

  it('reports the offset in milliseconds', () => {
    expect(offsetAt(Date.UTC(2026, 0, 1), 'America/New_York')).toBe(-5 * 3600_000);
    expect(offsetAt(Date.UTC(2026, 6, 1), 'America/New_York')).toBe(-4 * 3600_000);
  });
});

describe('calendar dates', () => {
  it('adds days across months, years and leap days', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(daysBetween('2026-01-01', '2026-12-31')).toBe(364);
  });

  it('finds the Monday of a week', () => {
    expect(weekdayMonday0('2026-11-25')).toBe(2); // a Wednesday
    expect(startOfWeek('2026-11-25')).toBe('2026-11-23');
    expect(startOfWeek('2026-11-29')).toBe('2026-11-23');
    expect(startOfWeek('2026-11-30')).toBe('2026-11-30');
  });

  it('validates wall clocks', () => {
    expect(parseWallClock('2028-02-29', '23:59')).not.toBeNull();
    expect(parseWallClock('2027-02-29', '10:00')).toBeNull();
    expect(parseWallClock('2027-03-01', '7:05')).toMatchObject({ hour: 7, minute: 5 });
    expect(parseWallClock('2027-03-01', '7:5')).toBeNull();
  });
});
