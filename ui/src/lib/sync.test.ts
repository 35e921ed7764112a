import { describe, expect, it } from 'vitest';
import {
  ago,
  connectErrorText,
  countdown,
  DIRECTIONS,
  explainSettingsChange,
  formatEta,
  leadBlock,
  nothingToDo,
  parseTemplate,
  previewLines,
  progressPercent,
  renderTitle,
  summaryLines,
  syncLine,
  syncProblem,
} from './sync';
import type { BackfillPreview } from './bindings/BackfillPreview';
import type { CalendarChoice } from './bindings/CalendarChoice';
import type { SyncSettings } from './bindings/SyncSettings';
import type { AppStatus } from './bindings/AppStatus';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const ann = { name: 'Ann Smith', email: 'ann@example.com', phone: '+49 30 1234' };
const nobody = { name: '', email: '', phone: '' };

function status(over: Partial<AppStatus> = {}): AppStatus {
  return {
    connected: true,
    email: 'ana@example.com',
    demo: false,
    client_configured: true,
    needs_reconnect: false,
    connected_at: '2026-11-01T10:00:00Z',
    direction: 'both',
    calendar_id: 'primary',
    last_sync: '2026-11-25T11:55:00Z',
    pending: 0,
    sync: { state: 'idle', message: null },
    held_deletes: { crm: 0, google: 0, first: [] },
    parked: [],
    ...over,
  };
}

const settings: SyncSettings = {
  direction: 'both',
  calendar_id: 'primary',
  poll_interval_secs: 60,
  title_template: '{title}',
  include_lead_name: false,
  include_lead_email: false,
  include_lead_phone: false,
  start_at_login: false,
  meet_by_default: false,
  invite_lead_by_default: false,
  default_reminder_minutes: null,
};
const calendars: CalendarChoice[] = [
  { id: 'primary', summary: 'ana@example.com', primary: true, writable: true },
  { id: 'work', summary: 'Work', primary: false, writable: true },
];

describe('directions', () => {
  it('uses the seed wording in A/B/C order', () => {
    expect(DIRECTIONS.map((d) => `${d.letter} ${d.value}`)).toEqual(['A both', 'B google-to-crm', 'C crm-to-google']);
    expect(DIRECTIONS[1].label).toBe('Only sync events from Google Calendar to Bookline');
  });
});

describe('time words', () => {
  it('says how long ago', () => {
    expect(ago('2026-11-25T11:59:40Z', NOW)).toBe('just now');
    expect(ago('2026-11-25T11:55:00Z', NOW)).toBe('5 min ago');
    expect(ago('2026-11-25T09:00:00Z', NOW)).toBe('3 h ago');
    expect(ago('2026-11-24T10:00:00Z', NOW)).toBe('yesterday');
    expect(ago('garbage', NOW)).toBe('at an unknown time');
  });
  it('counts down the connect timeout', () => {
    expect(countdown(300_000)).toBe('5:00');
    expect(countdown(299_001)).toBe('5:00');
    expect(countdown(61_000)).toBe('1:01');
    expect(countdown(-5)).toBe('0:00');
  });
  it('formats the estimate of time left', () => {
    expect(formatEta(null)).toBe('estimating time left…');
    expect(formatEta(3)).toBe('a few seconds left');
    expect(formatEta(42)).toBe('about 40 seconds left');
    expect(formatEta(200)).toBe('about 3 min left');
    expect(formatEta(3600)).toBe('about 1 h left');
    expect(formatEta(5400)).toBe('about 1 h 30 min left');
    expect(formatEta(-1)).toBe('estimating time left…');
  });
  it('computes a bounded percentage', () => {
    expect(progressPercent({ done: 800, total: 2000 })).toBe(40);
    expect(progressPercent({ done: 0, total: 0 })).toBe(0);
    expect(progressPercent({ done: 5, total: 3 })).toBe(100);
  });
});

describe('sync line', () => {
  it('reads each state', () => {
    expect(syncLine(status(), NOW)).toEqual({ tone: 'ok', text: 'Synced 5 min ago' });
    expect(syncLine(status({ sync: { state: 'syncing', message: null } }), NOW).text).toBe('Syncing…');
    expect(syncLine(status({ sync: { state: 'paused', message: null } }), NOW).text).toBe('Sync paused — last synced 5 min ago');
    expect(syncLine(status({ sync: { state: 'offline', message: null }, last_sync: null }), NOW).text).toContain('not synced yet');
    expect(syncLine(status({ sync: { state: 'needs_decision', message: null } }), NOW)).toEqual({
      tone: 'warn',
      text: 'Deletions wait for your decision — last synced 5 min ago',
    });
    expect(syncLine(status({ sync: { state: 'error', message: 'Google answered 500.' } }), NOW)).toEqual({ tone: 'error', text: 'Sync error — last synced 5 min ago' });
    expect(syncLine(status({ needs_reconnect: true }), NOW)).toEqual({ tone: 'error', text: 'Needs reconnecting' });
    expect(syncLine(status({ last_sync: null }), NOW).text).toBe('Not synced yet');
  });
});

describe('sync problem', () => {
  it('gives the full sentence only when something needs the user', () => {
    expect(syncProblem(status())).toBeNull();
    expect(syncProblem(status({ sync: { state: 'error', message: 'Google answered 500.' } }))).toBe('Google answered 500.');
    expect(syncProblem(status({ needs_reconnect: true }))).toContain('Reconnect');
    expect(syncProblem(status({ connected: false, needs_reconnect: true }))).toBeNull();
  });
});

describe('connect errors', () => {
  it('explains each kind in words', () => {
    expect(connectErrorText({ code: 'cancelled', message: 'Cancelled.' }).title).toBe('Connecting was cancelled');
    expect(connectErrorText({ code: 'cancelled', message: 'Timed out after 5 minutes.' }).title).toBe('Google did not answer in time');
    expect(connectErrorText({ code: 'internal', message: 'Google said: access_denied' }).title).toBe('Access was not allowed');
    const conf = connectErrorText({ code: 'configuration', message: 'No Google OAuth client is configured.' });
    expect(conf.body).toContain('BOOKLINE_GOOGLE_CLIENT_ID');
    expect(conf.body).toContain('Use my own Google client…');
    expect(conf.body).toContain('bookline demo');
    expect(connectErrorText({ code: 'network', message: 'Connection refused.' }).body).toContain('Connection refused.');
  });
});

describe('settings changes', () => {
  it('says nothing when nothing changes', () => {
    expect(explainSettingsChange(settings, { ...settings }, calendars)).toEqual([]);
  });
  it('explains A to B', () => {
    const [first] = explainSettingsChange(settings, { ...settings, direction: 'google-to-crm' }, calendars);
    expect(first).toBe('New appointments will no longer be sent to Google; changes in Google will still come in.');
  });
  it('explains C to A', () => {
    const [first] = explainSettingsChange({ ...settings, direction: 'crm-to-google' }, settings, calendars);
    expect(first).toBe('New appointments will still be sent to Google; new events and changes in Google will come into Bookline from now on.');
  });
  it('says what widening sends over and what stays for the transfer', () => {
    const lines = explainSettingsChange({ ...settings, direction: 'google-to-crm' }, settings, calendars);
    expect(lines).toEqual([
      'New appointments you add in Bookline will be sent to Google from now on; changes in Google will still come in.',
      'Appointments made in Bookline since you connected that were not sent to Google go there on the next sync.',
      'Appointments from before you connected do not move — use Synchronize Google Calendar for those.',
    ]);
    const fromC = explainSettingsChange({ ...settings, direction: 'crm-to-google' }, settings, calendars);
    expect(fromC[1]).toBe('Events made in Google since you connected that did not come in come into Bookline on the next sync.');
  });
  it('explains B to C', () => {
    const [first] = explainSettingsChange({ ...settings, direction: 'google-to-crm' }, { ...settings, direction: 'crm-to-google' }, calendars);
    expect(first).toBe(
      'New appointments you add in Bookline will be sent to Google from now on; new events and changes in Google will no longer come into Bookline.',
    );
  });
  it('names both calendars on a calendar change', () => {
    const [line] = explainSettingsChange(settings, { ...settings, calendar_id: 'work' }, calendars);
    expect(line).toContain('with “Work” instead of your main calendar (“ana@example.com”)');
  });
  it('covers interval, privacy and login', () => {
    const lines = explainSettingsChange(settings, { ...settings, poll_interval_secs: 300, include_lead_name: true, start_at_login: true }, calendars);
    expect(lines).toEqual([
      'Bookline will check Google for changes every 5 minutes.',
      'Events Bookline writes to Google from now on use the new title and lead details; events already sent keep theirs until they change.',
      'Bookline will start in the tray when you log in.',
    ]);
  });

  it('says menu bar where the OS calls it that (macOS)', () => {
    const [line] = explainSettingsChange(settings, { ...settings, start_at_login: true }, calendars, 'menu bar');
    expect(line).toBe('Bookline will start in the menu bar when you log in.');
  });
});

describe('title template', () => {
  it('renders like the sync engine', () => {
    expect(renderTitle('{title} — {lead_name}', 'Call', ann)).toEqual({ ok: true, text: 'Call — Ann Smith' });
    expect(renderTitle('{title} — {lead_name}', 'Call', nobody)).toEqual({ ok: true, text: 'Call' });
    expect(renderTitle('[{lead_phone}] {title}', 'Call', ann)).toEqual({ ok: true, text: '[+49 30 1234] Call' });
    expect(renderTitle('{title} ({lead_email})', 'Call', ann)).toEqual({ ok: true, text: 'Call (ann@example.com)' });
    expect(renderTitle('Meeting: {title', 'x', ann)).toEqual({ ok: false, error: 'The title template must contain {title} exactly once.' });
  });
  it('refuses what the engine refuses', () => {
    expect(parseTemplate('{lead_name}').ok).toBe(false);
    expect(parseTemplate('{title}{title}').ok).toBe(false);
    const unknown = parseTemplate('{title} {x}');
    expect(unknown.ok === false && unknown.error.startsWith('{x} is not a placeholder')).toBe(true);
    expect(parseTemplate('{title} — {lead_email}').ok).toBe(true);
  });
  it('lists the lead lines that go into the description', () => {
    expect(leadBlock({ include_lead_name: true, include_lead_email: false, include_lead_phone: true }, ann)).toEqual(['Name: Ann Smith', 'Phone: +49 30 1234']);
    expect(leadBlock({ include_lead_name: true, include_lead_email: true, include_lead_phone: true }, nobody)).toEqual([]);
  });
});

describe('backfill words', () => {
  const preview: BackfillPreview = {
    create_in_google: 1200,
    create_in_crm: 1,
    already_linked: 30,
    matched_equal: 4,
    cannot_transfer: [{ reason: 'the calendar is read-only', count: 2 }],
    match_rule: 'Same start, end and title.',
  };
  it('shows only the sides the direction writes', () => {
    expect(previewLines(preview, 'both').map((l) => l.text)).toEqual([
      'Will create 1,200 appointments in Google',
      'Will bring 1 event into Bookline',
      '30 already linked — skipped',
      '4 equal on both sides — linked, not copied',
      '2 items cannot be transferred: the calendar is read-only',
    ]);
    expect(previewLines(preview, 'google-to-crm').map((l) => l.key)).toEqual(['crm', 'linked', 'equal', 'cannot-the calendar is read-only']);
  });
  it('knows when there is nothing to do', () => {
    const empty = { ...preview, create_in_google: 0, create_in_crm: 0, matched_equal: 0 };
    expect(nothingToDo(empty, 'both')).toBe(true);
    expect(nothingToDo({ ...empty, create_in_google: 3 }, 'google-to-crm')).toBe(true);
    expect(nothingToDo({ ...empty, create_in_google: 3 }, 'crm-to-google')).toBe(false);
  });
  it('summarises a finished run', () => {
    const base = { state: 'finished' as const, total: 10, done: 10, created_in_google: 0, created_in_crm: 0, linked: 0, failed: 0, eta_secs: null, message: null };
    expect(summaryLines(base)).toEqual(['Nothing needed to move: both sides already agree.']);
    expect(summaryLines({ ...base, created_in_google: 8, linked: 1, failed: 1 })).toEqual([
      '8 appointments created in Google',
      '1 linked (already equal on both sides)',
      '1 item could not be transferred — see Sync activity',
    ]);
  });
});
