// Pure arithmetic for the virtualized list: which rows are on screen and which pages of
// the paged query cover them.

export interface RowWindow {
  /** First row index rendered (inclusive). */
  start: number;
  /** Row index after the last one rendered (exclusive). */
  end: number;
}

export function visibleWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan: number,
): RowWindow {
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const last = Math.ceil((Math.max(0, scrollTop) + Math.max(0, viewportHeight)) / rowHeight);
  const start = Math.max(0, Math.min(total - 1, first - overscan));
  const end = Math.min(total, Math.max(start + 1, last + overscan));
  return { start, end };
}

/** Page numbers (of `pageSize` rows each) that contain rows `[start, end)`. */
export function pagesFor(win: RowWindow, pageSize: number): number[] {
  if (win.end <= win.start) return [];
  const first = Math.floor(win.start / pageSize);
  const last = Math.floor((win.end - 1) / pageSize);
  const pages: number[] = [];
  for (let p = first; p <= last; p++) pages.push(p);
  return pages;
}

/**
 * A cache of fetched pages keyed by page number, dropping the pages farthest from the
 * current position once it holds more than `capacity`, so memory stays bounded however far
 * the user scrolls.
 */
export class PageCache<T> {
  private pages = new Map<number, T[]>();
  constructor(private capacity: number) {}

  get(page: number): T[] | undefined {
    return this.pages.get(page);
  }

  has(page: number): boolean {
    return this.pages.has(page);
  }

  set(page: number, rows: T[], around: number): void {
    this.pages.set(page, rows);
    if (this.pages.size <= this.capacity) return;
    const byDistance = [...this.pages.keys()].sort((a, b) => Math.abs(b - around) - Math.abs(a - around));
    for (const p of byDistance) {
      if (this.pages.size <= this.capacity) break;
      if (p !== page) this.pages.delete(p);
    }
  }

  clear(): void {
    this.pages.clear();
  }

  get size(): number {
    return this.pages.size;
  }

  /** Row `index` if its page is loaded. */
  row(index: number, pageSize: number): T | undefined {
    const page = this.pages.get(Math.floor(index / pageSize));
    return page ? page[index % pageSize] : undefined;
  }
}
