// The window learns the app's status two ways: `status-changed` events, pushed in order
// for every change, and answers to calls it makes (app_status, pause/resume). An answer
// can be overtaken: computed while a pass runs ("Syncing"), it may arrive after the
// event that says the pass ended, and showing it then would leave "Syncing…" on screen
// until the next change. So an answer is shown only if nothing was shown since it was
// asked for; when something was, the events already carry a state at least as new.

export class StatusOrder {
  private shown = 0;

  /** Call when a status is shown (from an event or an accepted answer). */
  showed(): void {
    this.shown += 1;
  }

  /** Call when asking for a status; pass the ticket to `fresh` with the answer. */
  ask(): number {
    return this.shown;
  }

  /** Whether the answer to the call made with `ticket` is still the newest known. */
  fresh(ticket: number): boolean {
    return ticket === this.shown;
  }
}
