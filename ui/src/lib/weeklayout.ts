// Placing occurrences in the week grid: timed ones in day columns (clipped at midnight,
// side by side when they overlap), all-day ones in the strip above.

import type { Occurrence } from './bindings/Occurrence';
import { addDays, daysBetween, utcToZoned, zonedToUtc } from './tz';

export interface TimedBlock {
  occurrence: Occurrence;
  day: number; // 0..6
  /** Hours from the start of the day (wall clock in the user's zone). */
  top: number;
  bottom: number;
  lane: number;
  lanes: number;
  startMs: number;
  endMs: number;
}

export interface AllDayBar {
  occurrence: Occurrence;
  /** First and after-last column, 0..7. */
  from: number;
  to: number;
  row: number;
}

function hoursOf(ms: number, zone: string): number {
  const { time } = utcToZoned(new Date(ms), zone);
  const [h, m] = time.split(':').map(Number);
  return h + m / 60;
}

/** Assigns side-by-side lanes to overlapping blocks of one day. */
export function assignLanes<T extends { top: number; bottom: number; lane: number; lanes: number }>(blocks: T[]): T[] {
  const sorted = [...blocks].sort((a, b) => a.top - b.top || b.bottom - a.bottom);
  let cluster: T[] = [];
  let clusterEnd = -Infinity;
  let laneEnds: number[] = [];
  const flush = () => {
    const n = laneEnds.length;
    for (const b of cluster) b.lanes = n;
    cluster = [];
    laneEnds = [];
  };
  for (const b of sorted) {
    if (b.top >= clusterEnd) {
      flush();
      clusterEnd = -Infinity;
    }
    let lane = laneEnds.findIndex((end) => end <= b.top);
    if (lane === -1) {
      lane = laneEnds.length;
      laneEnds.push(b.bottom);
    } else {
      laneEnds[lane] = b.bottom;
    }
    b.lane = lane;
    cluster.push(b);
    clusterEnd = Math.max(clusterEnd, b.bottom);
  }
  flush();
  return sorted;
}

/** Minimum visual height of a block, in hours, so short meetings stay clickable. */
const MIN_HOURS = 0.4;

export function layoutWeek(occurrences: Occurrence[], weekStart: string, userZone: string): { timed: TimedBlock[][]; allDay: AllDayBar[] } {
  const timed: TimedBlock[][] = Array.from({ length: 7 }, () => []);
  const allDay: AllDayBar[] = [];
  const dayStarts: number[] = [];
  for (let d = 0; d <= 7; d++) {
    dayStarts.push(zonedToUtc(addDays(weekStart, d), '00:00', userZone)?.getTime() ?? NaN);
  }
  for (const o of occurrences) {
    if (o.timing.kind === 'all_day') {
      const from = Math.max(0, daysBetween(weekStart, o.timing.start));
      const to = Math.min(7, daysBetween(weekStart, o.timing.end));
      if (to > from) allDay.push({ occurrence: o, from, to, row: 0 });
      continue;
    }
    const s = Date.parse(o.timing.start);
    const e = Date.parse(o.timing.end);
    for (let d = 0; d < 7; d++) {
      const lo = dayStarts[d];
      const hi = dayStarts[d + 1];
      if (!(s < hi && e > lo)) continue;
      const cs = Math.max(s, lo);
      const ce = Math.min(e, hi);
      const top = hoursOf(cs, userZone);
      const bottom = Math.max(ce >= hi ? 24 : hoursOf(ce, userZone), Math.min(24, top + MIN_HOURS));
      timed[d].push({ occurrence: o, day: d, top, bottom, lane: 0, lanes: 1, startMs: s, endMs: e });
    }
  }
  // All-day bars: first free row in the strip.
  allDay.sort((a, b) => a.from - b.from || b.to - a.to);
  const rowEnds: number[] = [];
  for (const bar of allDay) {
    let row = rowEnds.findIndex((end) => end <= bar.from);
    if (row === -1) {
      row = rowEnds.length;
      rowEnds.push(bar.to);
    } else {
      rowEnds[row] = bar.to;
    }
    bar.row = row;
  }
  return { timed: timed.map((blocks) => assignLanes(blocks)), allDay };
}
