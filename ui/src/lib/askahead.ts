// One question asked before anybody needs its answer, handed to the first asker of the
// same question.
//
// The list's first page is asked for as the page's script starts, before Svelte mounts
// anything. Asked from the list's own effect, the question went out only once the whole
// window was mounted and every component's effects had run; asked ahead, it is on its
// way meanwhile, and its answer is usually in before the first frame, which then holds
// the rows. Reopening with 10,000 appointments (release, 15 opens each, same run):
// median 575 ms to the first list paint without, 509 ms with.

/** The same question whatever order its fields were written in. */
export function questionKey(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export class AskAhead<Q, A> {
  private pending: { key: string; answer: Promise<A>; askedAt: number } | null = null;

  /**
   * `maxAgeMs`: an answer older than this is not handed out; the asker asks afresh. It
   * bounds how stale a page can be if nothing takes it soon (a window that opens on
   * another page first).
   */
  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Asks `question` now. A failure is kept for the taker to see, not reported here. */
  ask(question: Q, fetch: (question: Q) => Promise<A>): void {
    let answer: Promise<A>;
    try {
      answer = fetch(question);
    } catch (e) {
      answer = Promise.reject(e);
    }
    // Nobody may ever take it: its rejection must not surface as unhandled.
    answer.catch(() => {});
    this.pending = { key: questionKey(question), answer, askedAt: this.now() };
  }

  /**
   * The answer asked ahead when `question` is the one asked and it is fresh enough;
   * otherwise null. An answer is handed out once: a second taker asks for itself.
   */
  take(question: Q): Promise<A> | null {
    const pending = this.pending;
    if (!pending) return null;
    this.pending = null;
    if (pending.key !== questionKey(question)) return null;
    if (this.now() - pending.askedAt > this.maxAgeMs) return null;
    return pending.answer;
  }
}
