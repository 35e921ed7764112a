// The list's first page, asked for ahead (see askahead.ts): main.ts asks before mounting,
// the list takes the answer for its first page.
import { api } from './api';
import { AskAhead } from './askahead';
import type { AppointmentPage } from './bindings/AppointmentPage';
import type { ListQuery } from './bindings/ListQuery';

/** Rows per `list_appointments` call of the list. */
export const LIST_PAGE_SIZE = 150;

/** What the list shows when the window opens: upcoming appointments, no filter. */
export const OPENING_LIST_QUERY: ListQuery = {
  search: null,
  status: null,
  origin: null,
  period: 'upcoming',
  offset: 0,
  limit: LIST_PAGE_SIZE,
};

/** Long enough for a window to mount; short enough that nobody sees an old page. */
const FIRST_PAGE_MAX_AGE_MS = 3000;

export const firstListPage = new AskAhead<ListQuery, AppointmentPage>(FIRST_PAGE_MAX_AGE_MS);

export function askFirstListPage(): void {
  firstListPage.ask(OPENING_LIST_QUERY, api.listAppointments);
}
