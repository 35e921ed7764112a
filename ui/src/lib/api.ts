// Typed wrappers over the shell's IPC commands. Every call rejects with `{code, message}`;
// anything else that rejects (a missing command, a crashed backend) is turned into the
// same shape so the UI can always show a sentence.

import { invoke as tauriInvoke } from '@tauri-apps/api/core';
import { listen as tauriListen } from '@tauri-apps/api/event';
import type { AppError } from './bindings/AppError';
import type { Appointment } from './bindings/Appointment';
import type { AppointmentInput } from './bindings/AppointmentInput';
import type { AppointmentPage } from './bindings/AppointmentPage';
import type { AppStatus } from './bindings/AppStatus';
import type { CalendarChangeChoice } from './bindings/CalendarChangeChoice';
import type { CalendarChangePreview } from './bindings/CalendarChangePreview';
import type { ListQuery } from './bindings/ListQuery';
import type { Occurrence } from './bindings/Occurrence';
import type { OccurrenceScope } from './bindings/OccurrenceScope';
import type { HeldChoice } from './bindings/HeldChoice';
import type { HeldDeletes } from './bindings/HeldDeletes';
import type { Status } from './bindings/Status';
import type { ActivityEntry } from './bindings/ActivityEntry';
import type { TransferItem } from './bindings/TransferItem';
import type { BackfillRequest } from './bindings/BackfillRequest';
import type { BackfillPreview } from './bindings/BackfillPreview';
import type { BackfillProgress } from './bindings/BackfillProgress';
import type { CalendarChoice } from './bindings/CalendarChoice';
import type { AboutInfo } from './bindings/AboutInfo';
import type { ConnectWaiting } from './bindings/ConnectWaiting';
import type { DisconnectReport } from './bindings/DisconnectReport';
import type { SyncReport } from './bindings/SyncReport';
import type { SyncSettings } from './bindings/SyncSettings';
import type { BookingRequest } from './bindings/BookingRequest';
import type { BusyTimes } from './bindings/BusyTimes';

type InvokeFn = <T>(cmd: string, args?: Record<string, unknown>) => Promise<T>;

// The in-browser fake backend exists only in `--mode mock` builds; in every other build
// this condition is the constant `false` and the fake is not part of the bundle.
const invokeImpl: Promise<InvokeFn> =
  import.meta.env.MODE === 'mock'
    ? import('./mock/fake').then((m) => m.mockInvoke as InvokeFn)
    : Promise.resolve(tauriInvoke as InvokeFn);

/** Events the shell pushes, with their payloads. */
export interface EventPayloads {
  'status-changed': AppStatus;
  'appointments-changed': null;
  'connect-waiting': ConnectWaiting;
  'backfill-progress': BackfillProgress;
}
export type EventName = keyof EventPayloads;
type ListenFn = <K extends EventName>(name: K, handler: (payload: EventPayloads[K]) => void) => Promise<() => void>;

const listenImpl: Promise<ListenFn> =
  import.meta.env.MODE === 'mock'
    ? import('./mock/fake').then((m) => m.mockListen as ListenFn)
    : Promise.resolve(((name, handler) => tauriListen(name, (e) => handler(e.payload as never))) as ListenFn);

export function toAppError(e: unknown): AppError {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as { message: unknown }).message === 'string') {
    const code = (e as { code?: unknown }).code;
    return {
      code: typeof code === 'string' ? (code as AppError['code']) : 'internal',
      message: (e as { message: string }).message,
    };
  }
  if (typeof e === 'string' && e.length > 0) return { code: 'internal', message: e };
  return { code: 'internal', message: 'Something went wrong and Bookline could not finish the action.' };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  const invoke = await invokeImpl;
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toAppError(e);
  }
}

export const api = {
  listAppointments: (query: ListQuery) => call<AppointmentPage>('list_appointments', { query }),
  listShown: (total: number) => call<void>('list_shown', { total }),
  weekOccurrences: (from: string, to: string) => call<Occurrence[]>('week_occurrences', { from, to }),
  getAppointment: (id: string) => call<Appointment>('get_appointment', { id }),
  createAppointment: (input: AppointmentInput, booking: BookingRequest) => call<Appointment>('create_appointment', { input, booking }),
  updateAppointment: (id: string, input: AppointmentInput, booking: BookingRequest) => call<Appointment>('update_appointment', { id, input, booking }),
  /** The sentence saying what Google will email to whom if this is saved; null: nothing. `id`: the edited appointment. */
  invitationNotice: (input: AppointmentInput, booking: BookingRequest, id: string | null) =>
    call<string | null>('invitation_notice', { input, booking, id }),
  /** Google's busy blocks on a local day (`YYYY-MM-DD` in `timezone`), without the edited appointment's own event. */
  busyTimes: (day: string, timezone: string, otherCalendars: boolean, excludeAppointment: string | null) =>
    call<BusyTimes>('busy_times', { day, timezone, otherCalendars, excludeAppointment }),
  /** Opens a Google Meet link in the browser (the shell refuses anything else). */
  openMeetLink: (link: string) => call<void>('open_meet_link', { link }),
  setAppointmentStatus: (id: string, status: Status) => call<Appointment>('set_appointment_status', { id, status }),
  deleteAppointment: (id: string) => call<void>('delete_appointment', { id }),
  /** Edits one occurrence of a series, it and the ones after it, or the whole series. */
  editOccurrence: (seriesId: string, originalStart: string, input: AppointmentInput, scope: OccurrenceScope) =>
    call<Appointment>('edit_occurrence', { seriesId, originalStart, input, scope }),
  cancelOccurrence: (seriesId: string, originalStart: string, scope: OccurrenceScope) =>
    call<void>('cancel_occurrence', { seriesId, originalStart, scope }),
  deleteOccurrence: (seriesId: string, originalStart: string, scope: OccurrenceScope) =>
    call<void>('delete_occurrence', { seriesId, originalStart, scope }),
  appStatus: () => call<AppStatus>('app_status'),
  trayWord: () => call<string>('tray_word'),
  connectGoogle: () => call<AppStatus>('connect_google'),
  cancelConnect: () => call<void>('cancel_connect'),
  useGoogleClient: (json: string) => call<AppStatus>('use_google_client', { json }),
  about: () => call<AboutInfo>('about'),
  diagnostics: () => call<string>('diagnostics'),
  disconnectGoogle: (keepImported: boolean) => call<DisconnectReport>('disconnect_google', { keepImported }),
  listCalendars: () => call<CalendarChoice[]>('list_calendars'),
  getSyncSettings: () => call<SyncSettings>('get_sync_settings'),
  saveSyncSettings: (settings: SyncSettings, calendarChoice: CalendarChangeChoice | null = null) =>
    call<SyncSettings>('save_sync_settings', { settings, calendarChoice }),
  calendarChangePreview: (to: string) => call<CalendarChangePreview>('calendar_change_preview', { to }),
  syncNow: () => call<SyncReport>('sync_now'),
  heldDeletes: () => call<HeldDeletes>('held_deletes'),
  resolveHeldDeletes: (choice: HeldChoice) => call<SyncReport>('resolve_held_deletes', { choice }),
  pauseSync: () => call<AppStatus>('pause_sync'),
  resumeSync: () => call<AppStatus>('resume_sync'),
  backfillPreview: (args: BackfillRequest) => call<BackfillPreview>('backfill_preview', { ...args }),
  backfillStart: (args: BackfillRequest) => call<void>('backfill_start', { ...args }),
  backfillCancel: () => call<void>('backfill_cancel'),
  backfillStatus: () => call<BackfillProgress | null>('backfill_status'),
  activityLog: (limit: number, beforeId: number | null) => call<ActivityEntry[]>('activity_log', { limit, beforeId }),
  /** A transfer's items (opened from its entry in Sync activity), 200 at a time after `afterSeq`. */
  transferItems: (transferId: number, afterSeq: number | null) => call<TransferItem[]>('transfer_items', { transferId, afterSeq }),
};

/**
 * Subscribes to one of the shell's events; resolves to the function that unsubscribes.
 * A failure to subscribe (no shell) is reported to the caller as an AppError.
 */
export async function onEvent<K extends EventName>(name: K, handler: (payload: EventPayloads[K]) => void): Promise<() => void> {
  const listen = await listenImpl;
  try {
    return await listen(name, handler);
  } catch (e) {
    throw toAppError(e);
  }
}
