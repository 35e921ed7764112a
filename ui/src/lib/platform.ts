// What the OS calls the place of Bookline's status icon: "tray", or "menu bar" on macOS
// (the shell's platform::tray_word). "tray" until the shell has answered.

import { writable } from 'svelte/store';
import { api } from './api';

export const trayWord = writable('tray');

/** Asks the shell once, at start; on failure the UI keeps saying "tray". */
export async function loadTrayWord(): Promise<void> {
  try {
    trayWord.set(await api.trayWord());
  } catch {
    // Only a word in a sentence: not worth an error banner.
  }
}
