// Types the shell defines by hand (not exported from bookline-core).

/** What `app_status` answers: whether a Google account is connected. */
export interface AppStatus {
  connected: boolean;
  email: string | null;
  demo: boolean;
}
