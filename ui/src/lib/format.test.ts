import { describe, expect, it } from 'vitest';
import { whenText } from './format';

describe('whenText', () => {
  const timed = { kind: 'timed', start: '2026-11-26T09:30:00Z', end: '2026-11-26T10:30:00Z' } as const;

  it('names no zone when the appointment is in the user zone', () => {
    const w = whenText(timed, 'Europe/Berlin', 'Europe/Berlin');
    expect(w.zone).toBeNull();
    expect(w.local).toBeNull();
    expect(w.time).toMatch(/10:30.*11:30/);
  });

  it('names the zone, and adds the user time only when the clocks differ', () => {
    expect(whenText(timed, 'Europe/Paris', 'Europe/Berlin')).toMatchObject({ zone: 'Europe/Paris', local: null });
    const w = whenText(timed, 'Europe/London', 'Europe/Berlin');
    expect(w.zone).toBe('Europe/London');
    expect(w.time).toMatch(/9:30.*10:30/);
    expect(w.local).toMatch(/10:30.*11:30/);
  });

  it('shows all-day spans by their dates with the inclusive last day', () => {
    const w = whenText({ kind: 'all_day', start: '2026-12-30', end: '2027-01-02' }, 'Asia/Tokyo', 'America/Denver');
    expect(w.time).toBe('All day');
    expect(w.zone).toBeNull();
    expect(w.date).toMatch(/30/);
    expect(w.date).toMatch(/1/);
    expect(w.date).toMatch(/2027/);
    expect(w.date).not.toMatch(/ 2 /);
  });
});
