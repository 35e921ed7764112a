// Types of the Google connection, sync, backfill and activity commands, written by hand
// from the IPC contract (IPC-CONTRACT.md) until the shell exports them as generated
// bindings. Field names are exactly what serde produces (snake_case).

/** The seed's options A, B, C. */
export type Direction = 'both' | 'google-to-crm' | 'crm-to-google';

/** The `connect-waiting` event: the URL was opened in the system browser. */
export interface ConnectWaiting {
  auth_url: string;
}

export interface DisconnectReport {
  /** False when Google could not be reached: removal went on anyway. */
  revoked: boolean;
  /** The sentence to show when `revoked` is false. */
  revoke_error: string | null;
  /** Google-originated appointments removed from Bookline. */
  removed_appointments: number;
  /** Appointments kept (CRM ones always; Google ones when keepImported). */
  kept_appointments: number;
}

export interface CalendarChoice {
  id: string;
  summary: string;
  primary: boolean;
  writable: boolean;
}

export interface SyncSettings {
  direction: Direction;
  calendar_id: string;
  /** Default 60, at least 15. */
  poll_interval_secs: number;
  /** e.g. "{title}" or "{title} — {lead_name}". */
  title_template: string;
  include_lead_name: boolean;
  include_lead_email: boolean;
  include_lead_phone: boolean;
  start_at_login: boolean;
}

export interface SyncReport {
  created_in_google: number;
  updated_in_google: number;
  deleted_in_google: number;
  created_in_crm: number;
  updated_in_crm: number;
  deleted_in_crm: number;
  conflicts: number;
  errors: string[];
  /** Deletions still held for the user's decision after the pass. */
  held_deletes: number;
}

export interface BackfillPreview {
  create_in_google: number;
  create_in_crm: number;
  already_linked: number;
  /** Equal on both sides (same start, end, title): will be linked, not copied. */
  matched_equal: number;
  cannot_transfer: { reason: string; count: number }[];
  /** The sentence shown to the user. */
  match_rule: string;
}

export type BackfillState = 'running' | 'finished' | 'cancelled' | 'failed';

/** The `backfill-progress` event, and what `backfill_status` answers for an unfinished job. */
export interface BackfillProgress {
  state: BackfillState;
  total: number;
  done: number;
  created_in_google: number;
  created_in_crm: number;
  linked: number;
  failed: number;
  eta_secs: number | null;
  message: string | null;
}

/** `since` / `until` are 'YYYY-MM-DD' or null. */
export interface BackfillArgs {
  direction: Direction;
  since: string | null;
  until: string | null;
}

export type ActivityKind = 'created' | 'updated' | 'deleted' | 'conflict' | 'error' | 'linked' | 'info';

export interface ActivityEntry {
  id: number;
  /** RFC 3339. */
  at: string;
  kind: ActivityKind;
  side: 'google' | 'crm' | null;
  appointment_id: string | null;
  /** One sentence. */
  summary: string;
  detail: string | null;
}
