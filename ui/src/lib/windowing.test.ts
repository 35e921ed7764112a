import { describe, expect, it } from 'vitest';
import { PageCache, pagesFor, visibleWindow } from './windowing';

describe('visibleWindow', () => {
  it('renders only the rows on screen plus overscan', () => {
    expect(visibleWindow(0, 560, 56, 10_000, 5)).toEqual({ start: 0, end: 15 });
    expect(visibleWindow(56 * 5000, 560, 56, 10_000, 5)).toEqual({ start: 4995, end: 5015 });
    expect(visibleWindow(56 * 9990, 560, 56, 10_000, 5)).toEqual({ start: 9985, end: 10_000 });
  });

  it('copes with empty lists and scroll positions past the end', () => {
    expect(visibleWindow(0, 500, 56, 0, 5)).toEqual({ start: 0, end: 0 });
    expect(visibleWindow(1e9, 500, 56, 3, 5)).toEqual({ start: 2, end: 3 });
  });
});

describe('pagesFor', () => {
  it('lists the pages that cover a window', () => {
    expect(pagesFor({ start: 0, end: 15 }, 100)).toEqual([0]);
    expect(pagesFor({ start: 95, end: 110 }, 100)).toEqual([0, 1]);
    expect(pagesFor({ start: 0, end: 0 }, 100)).toEqual([]);
  });
});

describe('PageCache', () => {
  it('keeps at most capacity pages, dropping the farthest', () => {
    const c = new PageCache<number>(3);
    c.set(0, [0], 0);
    c.set(1, [1], 1);
    c.set(2, [2], 2);
    c.set(10, [10], 10);
    expect(c.size).toBe(3);
    expect(c.has(0)).toBe(false);
    expect(c.has(10)).toBe(true);
    expect(c.row(1000, 100)).toEqual(10);
  });
});
