// Words for the Google side of the app: direction labels in the seed's wording, the sync
// state line, connect errors, what a settings change means, the title-template preview,
// the backfill preview sentences and time estimates. Pure functions, unit tested.

import type { AppError } from './bindings/AppError';
import type { Lead } from './bindings/Lead';
import type { BackfillPreview } from './bindings/BackfillPreview';
import type { BackfillProgress } from './bindings/BackfillProgress';
import type { CalendarChoice } from './bindings/CalendarChoice';
import type { Direction } from './bindings/Direction';
import type { SyncSettings } from './bindings/SyncSettings';
import type { AppStatus } from './bindings/AppStatus';

export interface DirectionOption {
  value: Direction;
  letter: 'A' | 'B' | 'C';
  label: string;
}

/** The seed's three options, with Bookline in place of LeadBooker CRM. */
export const DIRECTIONS: DirectionOption[] = [
  { value: 'both', letter: 'A', label: 'Sync all events between Google Calendar and Bookline' },
  { value: 'google-to-crm', letter: 'B', label: 'Only sync events from Google Calendar to Bookline' },
  { value: 'crm-to-google', letter: 'C', label: 'Only sync events from Bookline to Google Calendar' },
];

export const writesToGoogle = (d: Direction): boolean => d !== 'google-to-crm';
export const writesToCrm = (d: Direction): boolean => d !== 'crm-to-google';

const numberFormat = new Intl.NumberFormat('en-US');
export const num = (n: number): string => numberFormat.format(n);

/** "1 appointment", "2,000 appointments". */
export function plural(n: number, one: string, many: string): string {
  return `${num(n)} ${n === 1 ? one : many}`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago" — for the last sync. */
export function ago(iso: string, nowMs: number): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'at an unknown time';
  const secs = Math.max(0, Math.round((nowMs - t) / 1000));
  if (secs < 45) return 'just now';
  const mins = Math.round(secs / 60);
  if (mins < 60) return `${mins} min ago`;
  const hours = Math.round(mins / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

export type Tone = 'ok' | 'busy' | 'muted' | 'warn' | 'error';

/** What needs the user's attention, in full (shown in a bar under the header), or null. */
export function syncProblem(status: AppStatus): string | null {
  if (!status.connected) return null;
  if (status.needs_reconnect || status.sync.state === 'needs_reconnect') {
    return status.sync.message ?? 'Google no longer accepts Bookline’s access. Reconnect to resume syncing; nothing has been lost.';
  }
  if (status.sync.state === 'error') return status.sync.message ?? 'The last sync failed.';
  return null;
}

/** The short line next to "Connected as …" that says how sync stands. */
export function syncLine(status: AppStatus, nowMs: number): { tone: Tone; text: string } {
  if (status.needs_reconnect || status.sync.state === 'needs_reconnect') {
    return { tone: 'error', text: 'Needs reconnecting' };
  }
  const last = status.last_sync ? `last synced ${ago(status.last_sync, nowMs)}` : 'not synced yet';
  switch (status.sync.state) {
    case 'syncing':
      return { tone: 'busy', text: 'Syncing…' };
    case 'paused':
      return { tone: 'muted', text: `Sync paused — ${last}` };
    case 'offline':
      return { tone: 'warn', text: `Offline — will sync when the network is back (${last})` };
    case 'error':
      return { tone: 'error', text: `Sync error — ${last}` };
    case 'needs_decision':
      return { tone: 'warn', text: `Deletions wait for your decision — ${last}` };
    case 'idle':
      return status.last_sync ? { tone: 'ok', text: `Synced ${ago(status.last_sync, nowMs)}` } : { tone: 'muted', text: 'Not synced yet' };
  }
}

/** "4:59" for the connect timeout. */
export function countdown(msLeft: number): string {
  const s = Math.max(0, Math.ceil(msLeft / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** "about 3 min left" from the backend's estimate; null while it has none. */
export function formatEta(secs: number | null): string {
  if (secs === null || !Number.isFinite(secs) || secs < 0) return 'estimating time left…';
  if (secs < 10) return 'a few seconds left';
  if (secs < 60) return `about ${Math.round(secs / 5) * 5} seconds left`;
  const mins = Math.round(secs / 60);
  if (mins < 60) return `about ${mins} min left`;
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  return m === 0 ? `about ${h} h left` : `about ${h} h ${m} min left`;
}

export function progressPercent(p: Pick<BackfillProgress, 'done' | 'total'>): number {
  if (p.total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.floor((p.done / p.total) * 100)));
}

export interface ErrorText {
  title: string;
  body: string;
}

/** A connect failure in words; the backend's message is kept where it says more. */
export function connectErrorText(e: AppError): ErrorText {
  const msg = e.message.trim();
  switch (e.code) {
    case 'cancelled':
      return /time|expire|5 min/i.test(msg)
        ? { title: 'Google did not answer in time', body: 'Signing in was not finished within 5 minutes. Nothing changed — try again when you are ready.' }
        : { title: 'Connecting was cancelled', body: 'Nothing changed. You can connect whenever you like.' };
    case 'configuration':
      return {
        title: 'No Google sign-in is set up for Bookline',
        body: `${msg ? `${msg} ` : ''}Choose a Google Cloud “Desktop app” client's JSON file with Use my own Google client…, or set BOOKLINE_GOOGLE_CLIENT_ID and BOOKLINE_GOOGLE_CLIENT_SECRET (the README explains how) and restart Bookline, or try everything with the built-in emulator: bookline demo.`,
      };
    case 'network':
      return { title: 'Google could not be reached', body: `${msg} Check the internet connection and try again.` };
    case 'keyring':
      return { title: 'The system keyring is not available', body: `${msg} Bookline keeps your Google sign-in only in the keyring, so it cannot connect without one.` };
    default:
      if (/access[_ ]denied/i.test(msg)) {
        return { title: 'Access was not allowed', body: 'Google says access was denied. To connect, sign in again and allow Bookline to see and edit your calendar events.' };
      }
      return { title: 'Connecting did not work', body: msg };
  }
}

function calendarName(id: string, calendars: CalendarChoice[]): string {
  const c = calendars.find((x) => x.id === id);
  if (!c) return id === 'primary' ? 'your main calendar' : `“${id}”`;
  return c.primary ? `your main calendar (“${c.summary}”)` : `“${c.summary}”`;
}

/** What saving `after` over `before` will mean, one sentence per change (empty: nothing changes). */
export function explainSettingsChange(before: SyncSettings, after: SyncSettings, calendars: CalendarChoice[], trayWord = 'tray'): string[] {
  const out: string[] = [];
  if (before.direction !== after.direction) {
    const g = writesToGoogle(after.direction);
    const c = writesToCrm(after.direction);
    const wasG = writesToGoogle(before.direction);
    const wasC = writesToCrm(before.direction);
    const toGoogle = g === wasG ? (g ? 'New appointments will still be sent to Google' : 'New appointments will still stay in Bookline only') : g ? 'New appointments you add in Bookline will be sent to Google from now on' : 'New appointments will no longer be sent to Google';
    const toCrm = c === wasC ? (c ? 'changes in Google will still come in' : 'Google events will still not come in') : c ? 'new events and changes in Google will come into Bookline from now on' : 'new events and changes in Google will no longer come into Bookline';
    out.push(`${toGoogle}; ${toCrm}.`);
    // Widening leaves nothing behind: what was made since connecting and held back by the
    // narrower direction goes over on the next sync (the core queues it when saving).
    if (g && !wasG) out.push('Appointments made in Bookline since you connected that were not sent to Google go there on the next sync.');
    if (c && !wasC) out.push('Events made in Google since you connected that did not come in come into Bookline on the next sync.');
    out.push('Appointments from before you connected do not move — use Synchronize Google Calendar for those.');
  }
  if (before.calendar_id !== after.calendar_id) {
    out.push(
      `Bookline will sync with ${calendarName(after.calendar_id, calendars)} instead of ${calendarName(before.calendar_id, calendars)}. Older events in the new one come in only through Synchronize Google Calendar.`,
    );
  }
  if (before.poll_interval_secs !== after.poll_interval_secs) {
    out.push(`Bookline will check Google for changes every ${intervalText(after.poll_interval_secs)}.`);
  }
  const privacyChanged =
    before.title_template !== after.title_template ||
    before.include_lead_name !== after.include_lead_name ||
    before.include_lead_email !== after.include_lead_email ||
    before.include_lead_phone !== after.include_lead_phone;
  if (privacyChanged) {
    out.push('Events Bookline writes to Google from now on use the new title and lead details; events already sent keep theirs until they change.');
  }
  if (before.start_at_login !== after.start_at_login) {
    out.push(after.start_at_login ? `Bookline will start in the ${trayWord} when you log in.` : 'Bookline will no longer start when you log in.');
  }
  return out;
}

export function intervalText(secs: number): string {
  if (secs < 60) return `${secs} seconds`;
  if (secs % 60 === 0) return secs === 60 ? 'minute' : `${secs / 60} minutes`;
  return `${Math.floor(secs / 60)} min ${secs % 60} s`;
}

type Part = { kind: 'text'; text: string } | { kind: 'hole'; name: 'title' | 'lead_name' | 'lead_email' | 'lead_phone' };

const HOLES = ['title', 'lead_name', 'lead_email', 'lead_phone'] as const;

/** Parses a title template the way the sync engine does (privacy.rs): four placeholders, {title} exactly once. */
export function parseTemplate(template: string): { ok: true; parts: Part[] } | { ok: false; error: string } {
  const parts: Part[] = [];
  let literal = '';
  let rest = template;
  for (;;) {
    const open = rest.indexOf('{');
    if (open < 0) break;
    literal += rest.slice(0, open);
    const after = rest.slice(open + 1);
    const close = after.indexOf('}');
    if (close < 0) {
      literal += rest.slice(open);
      rest = '';
      break;
    }
    const name = after.slice(0, close);
    if (!(HOLES as readonly string[]).includes(name)) {
      return { ok: false, error: `{${name}} is not a placeholder Bookline knows — use {title}, {lead_name}, {lead_email} or {lead_phone}.` };
    }
    if (literal) parts.push({ kind: 'text', text: literal });
    literal = '';
    parts.push({ kind: 'hole', name: name as (typeof HOLES)[number] });
    rest = after.slice(close + 1);
  }
  literal += rest;
  if (literal) parts.push({ kind: 'text', text: literal });
  const titles = parts.filter((p) => p.kind === 'hole' && p.name === 'title').length;
  if (titles !== 1) return { ok: false, error: 'The title template must contain {title} exactly once.' };
  return { ok: true, parts };
}

const isSeparator = (p: Part | null): boolean => p !== null && p.kind === 'text' && /^[\s!-/:-@[-`{-~—–·•]*$/.test(p.text);

/** The Google event title for an appointment: empty lead fields drop out with their separator. */
export function renderTitle(template: string, title: string, lead: Lead): { ok: true; text: string } | { ok: false; error: string } {
  const parsed = parseTemplate(template);
  if (!parsed.ok) return parsed;
  const value = (name: 'lead_name' | 'lead_email' | 'lead_phone'): string => (name === 'lead_name' ? lead.name : name === 'lead_email' ? lead.email : lead.phone);
  const parts: (Part | null)[] = [...parsed.parts];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (!p || p.kind !== 'hole' || p.name === 'title' || value(p.name) !== '') continue;
    parts[i] = null;
    if (i > 0 && isSeparator(parts[i - 1])) parts[i - 1] = null;
    else if (i + 1 < parts.length && isSeparator(parts[i + 1])) parts[i + 1] = null;
  }
  let text = '';
  for (const p of parts) {
    if (!p) continue;
    text += p.kind === 'text' ? p.text : p.name === 'title' ? title : value(p.name);
  }
  return { ok: true, text };
}

/** The lead lines Bookline appends to the Google event's description. */
export function leadBlock(s: Pick<SyncSettings, 'include_lead_name' | 'include_lead_email' | 'include_lead_phone'>, lead: Lead): string[] {
  const lines: string[] = [];
  if (s.include_lead_name && lead.name.trim()) lines.push(`Name: ${lead.name}`);
  if (s.include_lead_phone && lead.phone.trim()) lines.push(`Phone: ${lead.phone}`);
  if (s.include_lead_email && lead.email.trim()) lines.push(`Email: ${lead.email}`);
  return lines;
}

export interface PreviewLine {
  key: string;
  text: string;
  tone: 'create' | 'skip' | 'link' | 'problem';
}

/** The backfill preview in sentences. */
export function previewLines(p: BackfillPreview, direction: Direction): PreviewLine[] {
  const out: PreviewLine[] = [];
  if (writesToGoogle(direction)) out.push({ key: 'google', tone: 'create', text: `Will create ${plural(p.create_in_google, 'appointment', 'appointments')} in Google` });
  if (writesToCrm(direction)) out.push({ key: 'crm', tone: 'create', text: `Will bring ${plural(p.create_in_crm, 'event', 'events')} into Bookline` });
  if (p.already_linked > 0) out.push({ key: 'linked', tone: 'skip', text: `${num(p.already_linked)} already linked — skipped` });
  if (p.matched_equal > 0) out.push({ key: 'equal', tone: 'link', text: `${num(p.matched_equal)} equal on both sides — linked, not copied` });
  for (const c of p.cannot_transfer) {
    if (c.count > 0) out.push({ key: `cannot-${c.reason}`, tone: 'problem', text: `${plural(c.count, 'item', 'items')} cannot be transferred: ${c.reason}` });
  }
  return out;
}

export function nothingToDo(p: BackfillPreview, direction: Direction): boolean {
  return (writesToGoogle(direction) ? p.create_in_google : 0) + (writesToCrm(direction) ? p.create_in_crm : 0) + p.matched_equal === 0;
}

/** The end-of-run summary in one sentence per count. */
export function summaryLines(p: BackfillProgress): string[] {
  const out: string[] = [];
  if (p.created_in_google > 0) out.push(`${plural(p.created_in_google, 'appointment', 'appointments')} created in Google`);
  if (p.created_in_crm > 0) out.push(`${plural(p.created_in_crm, 'event', 'events')} brought into Bookline`);
  if (p.linked > 0) out.push(`${num(p.linked)} linked (already equal on both sides)`);
  if (p.failed > 0) out.push(`${plural(p.failed, 'item', 'items')} could not be transferred — see Sync activity`);
  if (out.length === 0) out.push('Nothing needed to move: both sides already agree.');
  return out;
}
