import { describe, expect, it } from 'vitest';
import { AskAhead, questionKey } from './askahead';

type Q = { period: string; offset: number; search: string | null };

describe('questionKey', () => {
  it('is the same whatever order the fields were written in', () => {
    expect(questionKey({ a: 1, b: { d: null, c: 'x' } })).toBe(questionKey({ b: { c: 'x', d: null }, a: 1 }));
    expect(questionKey({ a: 1 })).not.toBe(questionKey({ a: 2 }));
  });
});

describe('AskAhead', () => {
  const question: Q = { period: 'upcoming', offset: 0, search: null };

  it('hands the answer asked ahead to the first asker of the same question, once', async () => {
    let asked = 0;
    const ahead = new AskAhead<Q, string>(1000, () => 0);
    ahead.ask(question, async (q) => {
      asked += 1;
      return `page at ${q.offset}`;
    });
    const taken = ahead.take({ search: null, offset: 0, period: 'upcoming' });
    expect(taken).not.toBeNull();
    await expect(taken).resolves.toBe('page at 0');
    expect(ahead.take(question)).toBeNull();
    expect(asked).toBe(1);
  });

  it('does not hand out the answer to another question, and drops it', () => {
    const ahead = new AskAhead<Q, string>(1000, () => 0);
    ahead.ask(question, async () => 'upcoming');
    expect(ahead.take({ ...question, period: 'past' })).toBeNull();
    expect(ahead.take(question)).toBeNull();
  });

  it('does not hand out an answer older than its age limit', () => {
    let now = 0;
    const ahead = new AskAhead<Q, string>(1000, () => now);
    ahead.ask(question, async () => 'old');
    now = 1001;
    expect(ahead.take(question)).toBeNull();
  });

  it('keeps a failure for the taker, and reports nothing when nobody takes it', async () => {
    const ahead = new AskAhead<Q, string>(1000, () => 0);
    ahead.ask(question, () => Promise.reject({ code: 'internal', message: 'store closed' }));
    await expect(ahead.take(question)).rejects.toEqual({ code: 'internal', message: 'store closed' });
    // Asked and never taken: no unhandled rejection (vitest fails the run on one).
    ahead.ask(question, () => Promise.reject(new Error('nobody waits')));
    const thrower = new AskAhead<Q, string>(1000, () => 0);
    thrower.ask(question, () => {
      throw new Error('thrown, not rejected');
    });
    await expect(thrower.take(question)).rejects.toThrow('thrown, not rejected');
  });

  it('hands out nothing when nothing was asked', () => {
    expect(new AskAhead<Q, string>(1000).take(question)).toBeNull();
  });
});
