// The dialog's "Repeat" choice and the RRULE text field, mapped to and from the
// `Recurrence` lines the store keeps verbatim (RRULE plus any EXDATE/RDATE lines).

import type { Recurrence } from './bindings/Recurrence';

export type RepeatChoice = 'none' | 'daily' | 'weekly' | 'monthly' | 'custom';

const PRESETS: Record<Exclude<RepeatChoice, 'none' | 'custom'>, string> = {
  daily: 'FREQ=DAILY',
  weekly: 'FREQ=WEEKLY',
  monthly: 'FREQ=MONTHLY',
};

/** The rule text a preset stands for ('' for none; custom keeps what the user typed). */
export function presetRule(choice: RepeatChoice, current: string): string {
  if (choice === 'none') return '';
  if (choice === 'custom') return current;
  return PRESETS[choice];
}

/** Which preset a rule text is, or 'custom'. */
export function choiceForRule(rule: string): RepeatChoice {
  const r = stripPrefix(rule).trim().toUpperCase();
  if (r === '') return 'none';
  for (const [choice, text] of Object.entries(PRESETS)) {
    if (r === text) return choice as RepeatChoice;
  }
  return 'custom';
}

function stripPrefix(rule: string): string {
  return rule.trim().replace(/^RRULE:/i, '');
}

/** Splits stored lines into the editable RRULE and the lines kept as they are. */
export function splitRecurrence(rec: Recurrence | null): { rule: string; otherLines: string[] } {
  if (!rec) return { rule: '', otherLines: [] };
  let rule = '';
  const otherLines: string[] = [];
  for (const line of rec.lines) {
    if (rule === '' && /^RRULE:/i.test(line)) rule = stripPrefix(line);
    else otherLines.push(line);
  }
  return { rule, otherLines };
}

/**
 * The recurrence to save. Lines other than the RRULE (exceptions) are passed through
 * unchanged; without a rule they have nothing to apply to and are dropped.
 */
export function buildRecurrence(rule: string, otherLines: string[]): Recurrence | null {
  const r = stripPrefix(rule);
  if (r === '') return null;
  return { lines: [`RRULE:${r}`, ...otherLines] };
}

/** A short phrase for a rule, for list rows and week-view tooltips. */
export function describeRule(rec: Recurrence | null): string | null {
  const { rule } = splitRecurrence(rec);
  if (!rule) return null;
  switch (choiceForRule(rule)) {
    case 'daily':
      return 'Repeats daily';
    case 'weekly':
      return 'Repeats weekly';
    case 'monthly':
      return 'Repeats monthly';
    default:
      return 'Repeats (custom)';
  }
}
