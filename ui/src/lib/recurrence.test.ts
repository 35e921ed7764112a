import { describe, expect, it } from 'vitest';
import { buildRecurrence, choiceForRule, describeRule, presetRule, splitRecurrence } from './recurrence';

describe('recurrence mapping', () => {
  it('maps presets to rules and back', () => {
    expect(presetRule('weekly', '')).toBe('FREQ=WEEKLY');
    expect(presetRule('none', 'FREQ=DAILY')).toBe('');
    expect(presetRule('custom', 'FREQ=WEEKLY;BYDAY=MO,WE')).toBe('FREQ=WEEKLY;BYDAY=MO,WE');
    expect(choiceForRule('FREQ=DAILY')).toBe('daily');
    expect(choiceForRule('RRULE:FREQ=MONTHLY')).toBe('monthly');
    expect(choiceForRule('FREQ=WEEKLY;COUNT=4')).toBe('custom');
    expect(choiceForRule('  ')).toBe('none');
  });

  it('keeps exception lines when the rule is edited', () => {
    const stored = { lines: ['RRULE:FREQ=WEEKLY', 'EXDATE;TZID=Europe/Berlin:20261202T090000'] };
    const { rule, otherLines } = splitRecurrence(stored);
    expect(rule).toBe('FREQ=WEEKLY');
    expect(buildRecurrence('FREQ=WEEKLY;COUNT=10', otherLines)).toEqual({
      lines: ['RRULE:FREQ=WEEKLY;COUNT=10', 'EXDATE;TZID=Europe/Berlin:20261202T090000'],
    });
  });

  it('accepts a pasted RRULE: prefix and treats an empty rule as no recurrence', () => {
    expect(buildRecurrence('RRULE:FREQ=DAILY;INTERVAL=2', [])).toEqual({ lines: ['RRULE:FREQ=DAILY;INTERVAL=2'] });
    expect(buildRecurrence('', ['EXDATE:20261202'])).toBeNull();
    expect(splitRecurrence(null)).toEqual({ rule: '', otherLines: [] });
  });

  it('describes rules in words', () => {
    expect(describeRule({ lines: ['RRULE:FREQ=DAILY'] })).toBe('Repeats daily');
    expect(describeRule({ lines: ['RRULE:FREQ=YEARLY'] })).toBe('Repeats (custom)');
    expect(describeRule(null)).toBeNull();
  });
});
