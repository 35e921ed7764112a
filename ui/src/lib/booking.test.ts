import { describe, expect, it } from 'vitest';
import {
  ageText,
  blockTimeText,
  bookingFromOccurrence,
  busyDay,
  explainBookingDefaults,
  busyNote,
  inviteBlockedReason,
  isMeetUrl,
  looksLikeEmail,
  meetLink,
  meetWaitingText,
  overlapping,
  overlapWarning,
  reminderText,
  REMINDER_CHOICES,
  responseBadge,
  timingSpan,
} from './booking';
import type { BusyBlock } from './bindings/BusyBlock';

const work = (start: string, end: string, name = 'Work'): BusyBlock => ({ start, end, calendar_id: 'work@example.com', calendar_name: name });
const ms = (s: string) => Date.parse(s);

describe('overlapping', () => {
  const blocks = [work('2026-12-03T10:00:00Z', '2026-12-03T11:00:00Z'), work('2026-12-03T14:00:00Z', '2026-12-03T15:00:00Z', 'Family')];

  it('finds the block a 10:30 slot falls into', () => {
    expect(overlapping(blocks, [ms('2026-12-03T10:30:00Z'), ms('2026-12-03T11:00:00Z')])).toEqual([blocks[0]]);
  });

  it('does not count slots that only touch a block', () => {
    expect(overlapping(blocks, [ms('2026-12-03T11:00:00Z'), ms('2026-12-03T12:00:00Z')])).toEqual([]);
    expect(overlapping(blocks, [ms('2026-12-03T09:00:00Z'), ms('2026-12-03T10:00:00Z')])).toEqual([]);
  });

  it('finds every block a long slot covers, and nothing for an empty slot', () => {
    expect(overlapping(blocks, [ms('2026-12-03T09:00:00Z'), ms('2026-12-03T16:00:00Z')])).toEqual(blocks);
    expect(overlapping(blocks, [ms('2026-12-03T10:30:00Z'), ms('2026-12-03T10:30:00Z')])).toEqual([]);
  });

  it('treats an all-day appointment as its whole local day', () => {
    const span = timingSpan({ kind: 'all_day', start: '2026-12-03', end: '2026-12-04' }, 'Europe/Berlin');
    expect(span).toEqual([ms('2026-12-02T23:00:00Z'), ms('2026-12-03T23:00:00Z')]);
    expect(overlapping(blocks, span!)).toEqual(blocks);
    const dayBefore = timingSpan({ kind: 'all_day', start: '2026-12-02', end: '2026-12-03' }, 'Europe/Berlin');
    expect(overlapping(blocks, dayBefore!)).toEqual([]);
  });

  it('reads timed spans as instants', () => {
    expect(timingSpan({ kind: 'timed', start: '2026-12-03T10:30:00Z', end: '2026-12-03T11:30:00Z' }, 'UTC')).toEqual([
      ms('2026-12-03T10:30:00Z'),
      ms('2026-12-03T11:30:00Z'),
    ]);
    expect(timingSpan({ kind: 'timed', start: 'not a time', end: '2026-12-03T11:30:00Z' }, 'UTC')).toBeNull();
  });
});

describe('overlapWarning', () => {
  it('names the block on the wall clock of the dialog zone, with its calendar', () => {
    expect(overlapWarning([work('2026-12-03T10:00:00Z', '2026-12-03T11:00:00Z')], 'UTC')).toBe('Overlaps Busy 10:00–11:00 in Work.');
    expect(overlapWarning([work('2026-12-03T10:00:00Z', '2026-12-03T11:00:00Z')], 'Europe/Berlin')).toBe('Overlaps Busy 11:00–12:00 in Work.');
  });

  it('lists several blocks and says nothing without any', () => {
    const text = overlapWarning([work('2026-12-03T10:00:00Z', '2026-12-03T11:00:00Z'), work('2026-12-03T11:30:00Z', '2026-12-03T12:00:00Z', 'Family')], 'UTC');
    expect(text).toBe('Overlaps Busy 10:00–11:00 in Work and Busy 11:30–12:00 in Family.');
    expect(overlapWarning([], 'UTC')).toBeNull();
  });

  it('writes a block to midnight as 24:00 and a longer one with its end date', () => {
    expect(blockTimeText(work('2026-12-03T22:00:00Z', '2026-12-04T00:00:00Z'), 'UTC')).toBe('22:00–24:00');
    expect(blockTimeText(work('2026-12-03T22:00:00Z', '2026-12-04T02:00:00Z'), 'UTC')).toBe('22:00–2026-12-04 02:00');
  });
});

describe('ageText and busyNote', () => {
  const now = ms('2026-12-03T12:00:00Z');

  it('says how old an answer is in words', () => {
    expect(ageText('2026-12-03T11:59:30Z', now)).toBe('just now');
    expect(ageText('2026-12-03T11:59:00Z', now)).toBe('1 minute ago');
    expect(ageText('2026-12-03T11:48:00Z', now)).toBe('12 minutes ago');
    expect(ageText('2026-12-03T11:00:00Z', now)).toBe('1 hour ago');
    expect(ageText('2026-12-03T09:10:00Z', now)).toBe('2 hours ago');
    expect(ageText('2026-12-01T11:00:00Z', now)).toBe('2 days ago');
    expect(ageText('garbage', now)).toBe('an unknown time ago');
  });

  it('never says "in the future" for a clock that is slightly behind', () => {
    expect(ageText('2026-12-03T12:00:05Z', now)).toBe('just now');
  });

  it('counts the age of an old answer now, and otherwise shows the core sentence', () => {
    expect(busyNote({ stale: true, fetched_at: '2026-12-03T11:48:00Z', message: 'Offline: busy times from 3 minutes ago.' }, now)).toBe(
      'Offline: busy times from 12 minutes ago.',
    );
    expect(busyNote({ stale: false, fetched_at: null, message: 'Not connected to Google.' }, now)).toBe('Not connected to Google.');
    expect(busyNote({ stale: false, fetched_at: '2026-12-03T11:59:00Z', message: null }, now)).toBeNull();
  });
});

describe('responseBadge', () => {
  it('has no badge while the lead is not invited', () => {
    expect(responseBadge(null, 'Ada')).toBeNull();
  });

  it('words every answer, and declined is the raised tone', () => {
    expect(responseBadge('accepted', 'Ada Lovelace')).toEqual({ text: 'Accepted', tone: 'accepted', title: 'Ada Lovelace accepted the invitation.' });
    expect(responseBadge('declined', 'Ada')).toMatchObject({ text: 'Declined', tone: 'declined' });
    expect(responseBadge('tentative', 'Ada')).toMatchObject({ text: 'Maybe', tone: 'tentative' });
    expect(responseBadge('needsAction', '')).toEqual({ text: 'Invited', tone: 'waiting', title: 'The lead is invited and has not answered yet.' });
  });
});

describe('the invitation checkbox', () => {
  it('is blocked with a reason for an empty or invalid email', () => {
    expect(inviteBlockedReason('')).toBe("Add the lead's email address to invite them.");
    expect(inviteBlockedReason('  ')).toBe("Add the lead's email address to invite them.");
    expect(inviteBlockedReason('ada@')).toBe('Bookline can\'t invite the lead: "ada@" is not an email address.');
    expect(inviteBlockedReason(' ada@example.com ')).toBeNull();
  });

  it('accepts ordinary addresses and refuses lookalikes', () => {
    for (const ok of ['ada@example.com', 'a.b+c@mail.example.co.uk']) expect(looksLikeEmail(ok), ok).toBe(true);
    for (const bad of ['ada', 'ada@example', '@example.com', 'ada @example.com', 'ada@@example.com', 'ada@example..com']) expect(looksLikeEmail(bad), bad).toBe(false);
  });
});

describe('Meet', () => {
  it('offers Join only for https://meet.google.com links', () => {
    expect(isMeetUrl('https://meet.google.com/abc-defg-hij')).toBe(true);
    expect(isMeetUrl('http://meet.google.com/abc-defg-hij')).toBe(false);
    expect(isMeetUrl('https://meet.google.com.evil.example/abc')).toBe(false);
    expect(isMeetUrl('https://user@meet.google.com/abc')).toBe(false);
    expect(isMeetUrl('javascript:alert(1)')).toBe(false);
    expect(isMeetUrl('')).toBe(false);
  });

  it('has a link only when ready, and a sentence while waiting or failed', () => {
    expect(meetLink({ state: 'ready', link: 'https://meet.google.com/abc-defg-hij' })).toBe('https://meet.google.com/abc-defg-hij');
    expect(meetLink({ state: 'waiting', reason: 'Waits until Bookline is online.' })).toBeNull();
    expect(meetWaitingText({ state: 'waiting', reason: 'Waits until Bookline is online.' })).toBe('Google Meet: Waits until Bookline is online.');
    expect(meetWaitingText({ state: 'failed', message: 'Google could not create a Meet link; Bookline tries again.' })).toMatch(/tries again/);
    expect(meetWaitingText({ state: 'none' })).toBeNull();
    expect(meetWaitingText({ state: 'ready', link: 'https://meet.google.com/abc-defg-hij' })).toBeNull();
  });

  it('rebuilds an occurrence booking from the week view', () => {
    expect(bookingFromOccurrence('https://meet.google.com/abc-defg-hij', 'declined')).toEqual({
      meet: { state: 'ready', link: 'https://meet.google.com/abc-defg-hij' },
      invite_lead: true,
      invitation_sent: true,
      lead_response: 'declined',
    });
    expect(bookingFromOccurrence(null, null)).toEqual({ meet: { state: 'none' }, invite_lead: false, invitation_sent: false, lead_response: null });
  });
});

describe('busyDay', () => {
  it('is the start date when it is a whole date', () => {
    expect(busyDay('2026-12-03')).toBe('2026-12-03');
    expect(busyDay('2026-12')).toBeNull();
    expect(busyDay('')).toBeNull();
  });
});

describe('reminderText', () => {
  it('words minutes in the largest whole unit', () => {
    expect(reminderText(0)).toBe('At the start');
    expect(reminderText(1)).toBe('1 minute before');
    expect(reminderText(10)).toBe('10 minutes before');
    expect(reminderText(90)).toBe('90 minutes before');
    expect(reminderText(60)).toBe('1 hour before');
    expect(reminderText(120)).toBe('2 hours before');
    expect(reminderText(1440)).toBe('1 day before');
    expect(reminderText(10080)).toBe('1 week before');
    expect(reminderText(40320)).toBe('4 weeks before');
  });

  it('offers only choices Google accepts (0 to 4 weeks), in order', () => {
    expect(REMINDER_CHOICES.every((m) => m >= 0 && m <= 40320)).toBe(true);
    expect([...REMINDER_CHOICES].sort((a, b) => a - b)).toEqual(REMINDER_CHOICES);
  });
});

describe('explainBookingDefaults', () => {
  const base = { meet_by_default: false, invite_lead_by_default: false, default_reminder_minutes: null };

  it('says nothing when the defaults stay', () => {
    expect(explainBookingDefaults(base, { ...base })).toEqual([]);
  });

  it('explains each changed default', () => {
    expect(explainBookingDefaults(base, { meet_by_default: true, invite_lead_by_default: true, default_reminder_minutes: 10 })).toEqual([
      'New appointments start with “Add Google Meet” ticked.',
      '“Send the lead an invitation” starts ticked for new appointments; the dialog still says what Google will email before you save.',
      'Events Bookline creates get a reminder 10 minutes before they start; reminders set in Google are kept.',
    ]);
    expect(explainBookingDefaults({ ...base, default_reminder_minutes: 30 }, base)).toEqual(['Events Bookline creates get your Google calendar’s default reminder.']);
    expect(explainBookingDefaults(base, { ...base, default_reminder_minutes: 0 })).toEqual([
      'Events Bookline creates get a reminder at the start; reminders set in Google are kept.',
    ]);
  });
});
