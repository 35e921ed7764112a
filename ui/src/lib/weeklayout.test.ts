import { describe, expect, it } from 'vitest';
import type { Occurrence } from './bindings/Occurrence';
import { assignLanes, layoutWeek } from './weeklayout';

function occ(id: string, timing: Occurrence['timing']): Occurrence {
  return { appointment_id: id, series_id: null,
    original_start: null, title: id, timing, timezone: 'UTC', status: 'booked', origin: 'crm', meet_link: null, lead_response: null };
}

describe('assignLanes', () => {
  it('puts overlapping blocks side by side and separate clusters full width', () => {
    const blocks = [
      { id: 'a', top: 9, bottom: 10, lane: 0, lanes: 1 },
      { id: 'b', top: 9.5, bottom: 11, lane: 0, lanes: 1 },
      { id: 'c', top: 10, bottom: 10.5, lane: 0, lanes: 1 },
      { id: 'd', top: 14, bottom: 15, lane: 0, lanes: 1 },
    ];
    const out = Object.fromEntries(assignLanes(blocks).map((b) => [b.id, [b.lane, b.lanes]]));
    expect(out).toEqual({ a: [0, 2], b: [1, 2], c: [0, 2], d: [0, 1] });
  });
});

describe('layoutWeek', () => {
  it('places timed occurrences in the user zone and splits them at midnight', () => {
    const week = '2026-11-23';
    const { timed } = layoutWeek(
      [
        occ('morning', { kind: 'timed', start: '2026-11-24T08:00:00Z', end: '2026-11-24T09:30:00Z' }),
        occ('overnight', { kind: 'timed', start: '2026-11-25T22:00:00Z', end: '2026-11-26T02:00:00Z' }),
      ],
      week,
      'Europe/Berlin',
    );
    expect(timed[1].map((b) => [b.occurrence.appointment_id, b.top, b.bottom])).toEqual([['morning', 9, 10.5]]);
    expect(timed[2].map((b) => [b.top, b.bottom])).toEqual([[23, 24]]);
    expect(timed[3].map((b) => [b.top, b.bottom])).toEqual([[0, 3]]);
  });

  it('clips all-day spans to the week and stacks overlapping ones', () => {
    const { allDay } = layoutWeek(
      [
        occ('trip', { kind: 'all_day', start: '2026-11-20', end: '2026-11-25' }),
        occ('fair', { kind: 'all_day', start: '2026-11-24', end: '2026-11-26' }),
        occ('next', { kind: 'all_day', start: '2026-11-30', end: '2026-12-01' }),
      ],
      '2026-11-23',
      'UTC',
    );
    expect(allDay.map((b) => [b.occurrence.appointment_id, b.from, b.to, b.row])).toEqual([
      ['trip', 0, 2, 0],
      ['fair', 1, 3, 1],
    ]);
  });
});
