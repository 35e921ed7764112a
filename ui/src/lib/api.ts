// Typed wrappers over the shell's IPC commands. Every call rejects with `{code, message}`;
// anything else that rejects (a missing command, a crashed backend) is turned into the
// same shape so the UI can always show a sentence.

import { invoke as tauriInvoke } from '@tauri-apps/api/core';
import type { AppError } from './bindings/AppError';
import type { Appointment } from './bindings/Appointment';
import type { AppointmentInput } from './bindings/AppointmentInput';
import type { AppointmentPage } from './bindings/AppointmentPage';
import type { ListQuery } from './bindings/ListQuery';
import type { Occurrence } from './bindings/Occurrence';
import type { Status } from './bindings/Status';
import type { AppStatus } from './types';

type InvokeFn = <T>(cmd: string, args?: Record<string, unknown>) => Promise<T>;

// The in-browser fake backend exists only in `--mode mock` builds; in every other build
// this condition is the constant `false` and the fake is not part of the bundle.
const invokeImpl: Promise<InvokeFn> =
  import.meta.env.MODE === 'mock'
    ? import('./mock/fake').then((m) => m.mockInvoke as InvokeFn)
    : Promise.resolve(tauriInvoke as InvokeFn);

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
  weekOccurrences: (from: string, to: string) => call<Occurrence[]>('week_occurrences', { from, to }),
  getAppointment: (id: string) => call<Appointment>('get_appointment', { id }),
  createAppointment: (input: AppointmentInput) => call<Appointment>('create_appointment', { input }),
  updateAppointment: (id: string, input: AppointmentInput) => call<Appointment>('update_appointment', { id, input }),
  setAppointmentStatus: (id: string, status: Status) => call<Appointment>('set_appointment_status', { id, status }),
  deleteAppointment: (id: string) => call<void>('delete_appointment', { id }),
  appStatus: () => call<AppStatus>('app_status'),
};
