// Booking an appointment with its lead (issue #17): the Meet link, the lead's invitation
// and answer, and the user's busy times while choosing a slot. Pure functions only; the
// dialog and the list call them, vitest checks them.

import type { Timing } from './bindings/Timing';
import type { Booking } from './bindings/Booking';
import type { BusyBlock } from './bindings/BusyBlock';
import type { LeadResponse } from './bindings/LeadResponse';
import type { MeetState } from './bindings/MeetState';
import type { SyncSettings } from './bindings/SyncSettings';
import { addDays, utcToZoned, zonedToUtc } from './tz';

export type { Booking, BusyBlock, LeadResponse, MeetState };

/** What an appointment without anything booked shows (also the week view's fallback). */
export const NO_BOOKING: Booking = { meet: { state: 'none' }, invite_lead: false, invitation_sent: false, lead_response: null };

/**
 * The booking of an occurrence opened from the week view, which carries only the link and
 * the answer: an answer (even "no answer yet") means the lead was invited.
 */
export function bookingFromOccurrence(meetLink: string | null, response: LeadResponse | null): Booking {
  return {
    meet: meetLink ? { state: 'ready', link: meetLink } : { state: 'none' },
    invite_lead: response !== null,
    invitation_sent: response !== null,
    lead_response: response,
  };
}

/** The Meet link to show with Join and Copy, if Google has made one. */
export function meetLink(meet: MeetState): string | null {
  return meet.state === 'ready' ? meet.link : null;
}

/** The sentence beside a Meet that has no link (yet): why, and what happens next. */
export function meetWaitingText(meet: MeetState): string | null {
  switch (meet.state) {
    case 'waiting':
      return `Google Meet: ${meet.reason}`;
    case 'failed':
      return `Google Meet: ${meet.message}`;
    default:
      return null;
  }
}

/**
 * Join opens the link in the browser, so only Google's own Meet links are offered there: a
 * link is shown and copied as it is, but never opened unless it is https://meet.google.com/…
 */
export function isMeetUrl(link: string): boolean {
  try {
    const url = new URL(link);
    return url.protocol === 'https:' && url.hostname === 'meet.google.com' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

export interface ResponseBadge {
  text: string;
  /** The CSS tone: declined is the one the list raises. */
  tone: 'accepted' | 'declined' | 'tentative' | 'waiting';
  /** The full sentence for the tooltip and screen readers. */
  title: string;
}

/** The lead's answer as a badge; null when the lead was not invited. */
export function responseBadge(response: LeadResponse | null, leadName: string): ResponseBadge | null {
  const who = leadName.trim() || 'The lead';
  switch (response) {
    case null:
      return null;
    case 'accepted':
      return { text: 'Accepted', tone: 'accepted', title: `${who} accepted the invitation.` };
    case 'declined':
      return { text: 'Declined', tone: 'declined', title: `${who} declined the invitation.` };
    case 'tentative':
      return { text: 'Maybe', tone: 'tentative', title: `${who} answered "maybe".` };
    case 'needsAction':
      return { text: 'Invited', tone: 'waiting', title: `${who} is invited and has not answered yet.` };
  }
}

/**
 * Why "Send the lead an invitation" can't be ticked, or null when it can. The core refuses
 * the same on save; this only says it before the user tries.
 */
export function inviteBlockedReason(leadEmail: string): string | null {
  const email = leadEmail.trim();
  if (email === '') return "Add the lead's email address to invite them.";
  if (!looksLikeEmail(email)) return `Bookline can't invite the lead: "${email}" is not an email address.`;
  return null;
}

/** One @, something before it, a dotted domain after it, no spaces. */
export function looksLikeEmail(s: string): boolean {
  return /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(s);
}

/** The span an appointment occupies, in epoch ms (all-day: local midnights in its zone). */
export function timingSpan(timing: Timing, timeZone: string): [number, number] | null {
  if (timing.kind === 'timed') {
    const start = Date.parse(timing.start);
    const end = Date.parse(timing.end);
    return Number.isNaN(start) || Number.isNaN(end) ? null : [start, end];
  }
  // All-day `end` is exclusive (the day after the last day).
  const start = zonedToUtc(timing.start, '00:00', timeZone);
  const end = zonedToUtc(timing.end, '00:00', timeZone);
  return start && end ? [start.getTime(), end.getTime()] : null;
}

/** The busy blocks that overlap [start, end): touching ends (10:00–11:00 and 11:00) don't. */
export function overlapping(blocks: BusyBlock[], span: [number, number]): BusyBlock[] {
  const [start, end] = span;
  if (!(end > start)) return [];
  return blocks.filter((b) => Date.parse(b.start) < end && Date.parse(b.end) > start);
}

/** "10:00–11:00" on the wall clock of `timeZone` (with the date when it runs past that day). */
export function blockTimeText(block: BusyBlock, timeZone: string): string {
  const s = utcToZoned(block.start, timeZone);
  const e = utcToZoned(block.end, timeZone);
  const endText = e.date === s.date ? e.time : e.time === '00:00' && e.date === addDays(s.date, 1) ? '24:00' : `${e.date} ${e.time}`;
  return `${s.time}–${endText}`;
}

/** The warning shown before saving: "Overlaps Busy 10:00–11:00 in Work." (one line per block). */
export function overlapWarning(blocks: BusyBlock[], timeZone: string): string | null {
  if (blocks.length === 0) return null;
  const parts = blocks.map((b) => `Busy ${blockTimeText(b, timeZone)} in ${b.calendar_name}`);
  return `Overlaps ${joinList(parts)}.`;
}

function joinList(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** How old an answer is, in words: "just now", "1 minute ago", "3 hours ago", "2 days ago". */
export function ageText(fetchedAt: string, now: number): string {
  const then = Date.parse(fetchedAt);
  if (Number.isNaN(then)) return 'an unknown time ago';
  const minutes = Math.floor(Math.max(0, now - then) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return plural(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return plural(hours, 'hour');
  return plural(Math.floor(hours / 24), 'day');
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

/**
 * The line under the busy blocks: for an old answer (offline) how old it is now — the
 * dialog may stay open for a while, so the age is counted here rather than taken from the
 * core's sentence, which was true when it was made — otherwise the core's own sentence
 * (not connected, reconnect to allow busy times), if any.
 */
export function busyNote(busy: { stale: boolean; fetched_at: string | null; message: string | null }, now: number): string | null {
  if (busy.stale && busy.fetched_at) {
    const age = ageText(busy.fetched_at, now);
    return age === 'just now' ? 'Offline: busy times from just now.' : `Offline: busy times from ${age}.`;
  }
  return busy.message;
}

/** The local day (YYYY-MM-DD) whose busy times the dialog shows: the day the appointment starts. */
export function busyDay(startDate: string): string | null {
  return /^\d{4}-\d{2}-\d{2}$/.test(startDate) ? startDate : null;
}

/** The reminder choices the settings offer (minutes before the start). */
export const REMINDER_CHOICES = [0, 5, 10, 15, 30, 60, 120, 1440, 2880, 10080];

/** "10 minutes before", "1 hour before", "1 day before", "At the start". */
export function reminderText(minutes: number): string {
  if (minutes === 0) return 'At the start';
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'} before`;
  if (minutes % 10080 === 0) return unit(minutes / 10080, 'week');
  if (minutes % 1440 === 0) return unit(minutes / 1440, 'day');
  if (minutes % 60 === 0) return unit(minutes / 60, 'hour');
  return unit(minutes, 'minute');
}

/** What a change of the booking defaults means, for the settings' "When you save" list. */
export function explainBookingDefaults(
  before: Pick<SyncSettings, 'meet_by_default' | 'invite_lead_by_default' | 'default_reminder_minutes'>,
  after: Pick<SyncSettings, 'meet_by_default' | 'invite_lead_by_default' | 'default_reminder_minutes'>,
): string[] {
  const out: string[] = [];
  if (before.meet_by_default !== after.meet_by_default) {
    out.push(after.meet_by_default ? 'New appointments start with “Add Google Meet” ticked.' : 'New appointments start without a Google Meet link.');
  }
  if (before.invite_lead_by_default !== after.invite_lead_by_default) {
    out.push(
      after.invite_lead_by_default
        ? '“Send the lead an invitation” starts ticked for new appointments; the dialog still says what Google will email before you save.'
        : '“Send the lead an invitation” starts unticked.',
    );
  }
  if (before.default_reminder_minutes !== after.default_reminder_minutes) {
    const m = after.default_reminder_minutes;
    out.push(
      m === null
        ? 'Events Bookline creates get your Google calendar’s default reminder.'
        : `Events Bookline creates get a reminder ${m === 0 ? 'at the start' : reminderText(m).replace(/ before$/, ' before they start')}; reminders set in Google are kept.`,
    );
  }
  return out;
}
