import { describe, expect, it } from 'vitest';
import { StatusOrder } from './statusorder';

describe('StatusOrder', () => {
  it('shows an answer when nothing came in while it was on its way', () => {
    const order = new StatusOrder();
    const ticket = order.ask();
    expect(order.fresh(ticket)).toBe(true);
  });

  it('drops an answer overtaken by an event (the held-deletes flake: Syncing shown after Idle)', () => {
    const order = new StatusOrder();
    // Keep them: the window asks for the status while the pass after it runs…
    const ticket = order.ask();
    // …the pass ends and its event is shown first…
    order.showed();
    // …then the answer computed during the pass arrives: it must not win.
    expect(order.fresh(ticket)).toBe(false);
  });

  it('tracks each call on its own', () => {
    const order = new StatusOrder();
    const first = order.ask();
    order.showed();
    const second = order.ask();
    expect(order.fresh(first)).toBe(false);
    expect(order.fresh(second)).toBe(true);
  });
});
