// The shapes of issue #17's booking types as the contract between the parts gives them
// (booking-contract.md §2.1), until the core's generated bindings replace this module:
// then each line becomes `export type { X } from './bindings/X'`.

import type { SyncSettings } from './bindings/SyncSettings';
import type { AppointmentRow } from './bindings/AppointmentRow';
import type { Occurrence } from './bindings/Occurrence';

/** A lead's answer to an invitation (Google's attendee `responseStatus`). */
export type LeadResponse = 'needsAction' | 'accepted' | 'declined' | 'tentative';

/** The Meet link of an appointment. */
export type MeetState = { state: 'none' } | { state: 'waiting'; reason: string } | { state: 'ready'; link: string } | { state: 'failed'; message: string };

/** What Bookline knows about booking an appointment with its lead. */
export type Booking = { meet: MeetState; invite_lead: boolean; invitation_sent: boolean; lead_response: LeadResponse | null };

/** What the user asks for when saving an appointment. */
export type BookingRequest = { meet: boolean; invite_lead: boolean; notify_lead: boolean };

export type BusyBlock = { start: string; end: string; calendar_id: string; calendar_name: string };

export type BusyTimes = { blocks: BusyBlock[]; fetched_at: string | null; stale: boolean; message: string | null };

export type BookingSettings = SyncSettings & { meet_by_default: boolean; invite_lead_by_default: boolean; default_reminder_minutes: number | null };

export type BookedRow = AppointmentRow & { booking: Booking };

export type BookedOccurrence = Occurrence & { meet_link: string | null; lead_response: LeadResponse | null };
