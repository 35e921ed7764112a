import { describe, expect, it } from 'vitest';
import {
  choiceFromRecurrence,
  customRuleProblem,
  defaultRule,
  describeRecurrence,
  describeRepeatRule,
  formatRule,
  localeFirstDay,
  monthlyWeekdayFor,
  parseRule,
  seriesSentence,
  recurrenceFromChoice,
  sortWeekdays,
  weekdaysFrom,
  type Frequency,
  type MonthlyOn,
  type RepeatEnd,
  type RepeatRule,
  type RuleContext,
  type SentenceContext,
  type Weekday,
} from './recurrence';

const berlin: RuleContext = { timeZone: 'Europe/Berlin', allDay: false };
const berlinAllDay: RuleContext = { timeZone: 'Europe/Berlin', allDay: true };
const newYork: RuleContext = { timeZone: 'America/New_York', allDay: false };

// Every shape the editor can hold: each frequency × interval 1 and >1 × each end, with
// every weekly weekday set of one, two and all days, and every monthly mode.
function everyEditorState(): RepeatRule[] {
  const ends: RepeatEnd[] = [{ kind: 'never' }, { kind: 'count', count: 1 }, { kind: 'count', count: 12 }, { kind: 'until', date: '2027-03-31' }];
  const weekdaySets: Weekday[][] = [[], ['TU'], ['MO', 'WE'], ['SU'], ['MO', 'TU', 'WE', 'TH', 'FR'], ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']];
  const monthlies: MonthlyOn[] = [
    { kind: 'day', day: null },
    { kind: 'day', day: 1 },
    { kind: 'day', day: 31 },
    ...([1, 2, 3, 4, -1] as const).flatMap((nth) => (['MO', 'FR', 'SU'] as Weekday[]).map((weekday) => ({ kind: 'weekday', nth, weekday }) as MonthlyOn)),
  ];
  const out: RepeatRule[] = [];
  for (const freq of ['daily', 'weekly', 'monthly', 'yearly'] as Frequency[]) {
    for (const interval of [1, 2, 13]) {
      for (const end of ends) {
        if (freq === 'weekly') for (const weekdays of weekdaySets) out.push({ freq, interval, weekdays, monthly: null, end });
        else if (freq === 'monthly') for (const monthly of monthlies) out.push({ freq, interval, weekdays: [], monthly, end });
        else out.push({ freq, interval, weekdays: [], monthly: null, end });
      }
    }
  }
  return out;
}

describe('editor state <-> RRULE', () => {
  it('round-trips every editor state (state -> RRULE -> state), timed and all-day, in several zones', () => {
    const states = everyEditorState();
    expect(states.length).toBeGreaterThan(200);
    for (const ctx of [berlin, berlinAllDay, newYork, { timeZone: 'Pacific/Kiritimati', allDay: false }, { timeZone: 'Pacific/Pago_Pago', allDay: false }]) {
      for (const state of states) {
        const text = formatRule(state, ctx);
        expect(parseRule(text, ctx), `${text} in ${ctx.timeZone}`).toEqual(state);
        // And the stored form of the line reads back as the same editor choice.
        expect(choiceFromRecurrence({ lines: [`RRULE:${text}`] }, ctx)).toEqual({ kind: 'rule', rule: state });
      }
    }
  });

  it('writes the parts the way Google Calendar does', () => {
    expect(formatRule({ freq: 'weekly', interval: 1, weekdays: ['WE', 'MO'], monthly: null, end: { kind: 'count', count: 4 } }, berlin)).toBe(
      'FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4',
    );
    expect(formatRule({ freq: 'monthly', interval: 1, weekdays: [], monthly: { kind: 'weekday', nth: -1, weekday: 'FR' }, end: { kind: 'never' } }, berlin)).toBe(
      'FREQ=MONTHLY;BYDAY=-1FR',
    );
    expect(formatRule({ freq: 'daily', interval: 3, weekdays: [], monthly: null, end: { kind: 'never' } }, berlin)).toBe('FREQ=DAILY;INTERVAL=3');
  });

  it('writes UNTIL as the end of the last day in the series zone, in UTC; date-only for all-day series', () => {
    const rule: RepeatRule = { freq: 'weekly', interval: 2, weekdays: ['TU'], monthly: null, end: { kind: 'until', date: '2027-03-31' } };
    // 31 Mar 2027 is summer time in Berlin (UTC+2) and in New York (UTC-4).
    expect(formatRule(rule, berlin)).toBe('FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270331T215959Z');
    expect(formatRule(rule, newYork)).toBe('FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270401T035959Z');
    expect(formatRule(rule, berlinAllDay)).toBe('FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270331');
  });

  it('reads an UTC UNTIL as the date it is in the series zone', () => {
    // 03:59 UTC on 1 April is still 31 March in New York, already 1 April in Berlin.
    const text = 'FREQ=DAILY;UNTIL=20270401T035959Z';
    expect(parseRule(text, newYork)?.end).toEqual({ kind: 'until', date: '2027-03-31' });
    expect(parseRule(text, berlin)?.end).toEqual({ kind: 'until', date: '2027-04-01' });
    expect(parseRule('FREQ=DAILY;UNTIL=20270331', berlin)?.end).toEqual({ kind: 'until', date: '2027-03-31' });
    expect(parseRule('FREQ=DAILY;UNTIL=20270331T100000', berlin)?.end).toEqual({ kind: 'until', date: '2027-03-31' });
  });

  it('reads a rule with its parts in any order, in any case, with or without RRULE:', () => {
    expect(parseRule('RRULE:byday=WE,MO;freq=weekly;count=4', berlin)).toEqual({
      freq: 'weekly',
      interval: 1,
      weekdays: ['MO', 'WE'],
      monthly: null,
      end: { kind: 'count', count: 4 },
    });
  });

  it('leaves to "custom" every rule the editor cannot show', () => {
    for (const text of [
      'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1',
      'FREQ=DAILY;BYHOUR=9,17',
      'FREQ=WEEKLY;WKST=SU;INTERVAL=2;BYDAY=TU,TH',
      'FREQ=MONTHLY;BYMONTHDAY=-1',
      'FREQ=MONTHLY;BYDAY=2MO,4MO',
      'FREQ=MONTHLY;BYDAY=5FR',
      'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=14',
      'FREQ=YEARLY;BYDAY=1SU;BYMONTH=3',
      'FREQ=WEEKLY;BYDAY=1MO',
      'FREQ=DAILY;BYDAY=MO',
      'FREQ=HOURLY',
      'FREQ=DAILY;COUNT=3;UNTIL=20270101',
      'FREQ=DAILY;INTERVAL=0',
      'FREQ=DAILY;X-NAME=1',
      'FREQ=DAILY;FREQ=WEEKLY',
      'FREQ=WEEKLY;BYDAY=MO,MO',
      'INTERVAL=2',
      'nonsense',
    ]) {
      expect(parseRule(text, berlin), text).toBeNull();
    }
  });

  it('keeps rules it cannot show byte for byte through open and save', () => {
    const stored = [
      ['RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1'],
      ['RRULE:FREQ=DAILY;BYHOUR=9,17'],
      ['RRULE:FREQ=WEEKLY;BYDAY=MO', 'RRULE:FREQ=MONTHLY;BYMONTHDAY=1'],
      ['RRULE:FREQ=WEEKLY', 'RDATE;VALUE=DATE:20261224'],
      ['RRULE:FREQ=WEEKLY;BYSETPOS=1', 'EXDATE;TZID=Europe/Berlin:20261202T090000'],
      ['EXRULE:FREQ=YEARLY', 'RRULE:FREQ=DAILY'],
      ['RRULE:FREQ=DAILY;X-GOOGLE-THING=yes'],
    ];
    for (const lines of stored) {
      const rec = { lines };
      const choice = choiceFromRecurrence(rec, berlin);
      expect(choice.kind, lines.join('|')).toBe('custom');
      expect(recurrenceFromChoice(choice, rec, berlin)).toBe(rec);
      // Even a custom text re-typed with the same content comes back as the stored lines.
      if (choice.kind === 'custom') expect(recurrenceFromChoice({ kind: 'custom', text: `${choice.text}\n\n` }, rec, berlin)?.lines).toEqual(lines);
    }
  });

  it('keeps the stored text of a rule the editor shows while its state is unchanged', () => {
    // Google's order and an explicit INTERVAL=1 are not rewritten by opening and saving.
    const rec = { lines: ['RRULE:FREQ=WEEKLY;UNTIL=20270331T215959Z;INTERVAL=1;BYDAY=WE,MO'] };
    const choice = choiceFromRecurrence(rec, berlin);
    expect(choice.kind).toBe('rule');
    expect(recurrenceFromChoice(choice, rec, berlin)).toBe(rec);
    // A real change writes the canonical rule.
    if (choice.kind === 'rule') {
      const changed = { kind: 'rule' as const, rule: { ...choice.rule, interval: 2 } };
      expect(recurrenceFromChoice(changed, rec, berlin)).toEqual({ lines: ['RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270331T215959Z'] });
    }
  });

  it('shows a rule with EXDATE lines in the editor and keeps the lines when the rule changes', () => {
    const rec = { lines: ['RRULE:FREQ=WEEKLY;BYDAY=WE', 'EXDATE;TZID=Europe/Berlin:20261202T090000', 'EXDATE:20261216T080000Z'] };
    const choice = choiceFromRecurrence(rec, berlin);
    expect(choice).toEqual({ kind: 'rule', rule: { freq: 'weekly', interval: 1, weekdays: ['WE'], monthly: null, end: { kind: 'never' } } });
    expect(recurrenceFromChoice(choice, rec, berlin)).toBe(rec);
    if (choice.kind === 'rule') {
      expect(recurrenceFromChoice({ kind: 'rule', rule: { ...choice.rule, end: { kind: 'count', count: 5 } } }, rec, berlin)).toEqual({
        lines: ['RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=5', 'EXDATE;TZID=Europe/Berlin:20261202T090000', 'EXDATE:20261216T080000Z'],
      });
    }
  });

  it('turns a custom text into lines and none into no recurrence', () => {
    expect(recurrenceFromChoice({ kind: 'custom', text: 'FREQ=DAILY;BYHOUR=9\nEXDATE:20270101T090000Z\n' }, null, berlin)).toEqual({
      lines: ['RRULE:FREQ=DAILY;BYHOUR=9', 'EXDATE:20270101T090000Z'],
    });
    expect(recurrenceFromChoice({ kind: 'none' }, { lines: ['RRULE:FREQ=DAILY'] }, berlin)).toBeNull();
    expect(choiceFromRecurrence(null, berlin)).toEqual({ kind: 'none' });
  });
});

describe('custom rule check', () => {
  it('accepts real rules, including ones the editor cannot show', () => {
    expect(customRuleProblem('FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1')).toBeNull();
    expect(customRuleProblem('RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE;TZID=Europe/Berlin:20261202T090000')).toBeNull();
    expect(customRuleProblem('rrule:freq=daily;until=20271231T235959Z')).toBeNull();
  });

  it('says what is wrong', () => {
    expect(customRuleProblem('')).toMatch(/Type a rule/);
    expect(customRuleProblem('EXDATE:20270101')).toMatch(/needs an RRULE line/);
    expect(customRuleProblem('FREQ=FORTNIGHTLY')).toBe('"FORTNIGHTLY" is not a frequency; use DAILY, WEEKLY, MONTHLY or YEARLY.');
    expect(customRuleProblem('INTERVAL=2')).toBe('The rule needs FREQ, for example FREQ=WEEKLY.');
    expect(customRuleProblem('FREQ=DAILY;EVERY=2')).toMatch(/"EVERY" is not a part of a repeat rule/);
    expect(customRuleProblem('FREQ=DAILY;COUNT')).toBe('"COUNT" is not a NAME=VALUE part of a rule.');
    expect(customRuleProblem('FREQ=DAILY;COUNT=0')).toBe('COUNT must be a whole number of at least 1.');
    expect(customRuleProblem('FREQ=DAILY;COUNT=2;UNTIL=20270101')).toMatch(/not both/);
    expect(customRuleProblem('FREQ=DAILY;UNTIL=31.12.2027')).toMatch(/UNTIL must be a date/);
    expect(customRuleProblem('FREQ=WEEKLY;BYDAY=MONDAY')).toMatch(/not a list of weekdays/);
    expect(customRuleProblem('FREQ=WEEKLY;FREQ=DAILY')).toBe('FREQ appears twice in the rule.');
  });
});

describe('sentences', () => {
  const ctx = (over: Partial<SentenceContext> = {}): SentenceContext => ({
    timeZone: 'Europe/Berlin',
    allDay: false,
    startDate: '2027-02-14', // a Sunday
    firstDay: 1,
    ...over,
  });
  const say = (text: string, over: Partial<SentenceContext> = {}) => describeRecurrence({ lines: [`RRULE:${text}`] }, ctx(over));

  it.each([
    ['FREQ=DAILY', 'Daily'],
    ['FREQ=DAILY;INTERVAL=3', 'Every 3 days'],
    ['FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4', 'Weekly on Mon and Wed, 4 times'],
    ['FREQ=WEEKLY;BYDAY=FR,MO,WE', 'Weekly on Mon, Wed and Fri'],
    ['FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', 'Weekly on weekdays'],
    ['FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU', 'Weekly on every day'],
    ['FREQ=WEEKLY', 'Weekly on Sunday'],
    ['FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270331T215959Z', 'Every 2 weeks on Tuesday until 31 Mar 2027'],
    ['FREQ=MONTHLY;BYDAY=-1FR', 'Monthly on the last Friday'],
    ['FREQ=MONTHLY;BYDAY=2TU;COUNT=1', 'Monthly on the second Tuesday, once'],
    ['FREQ=MONTHLY;BYMONTHDAY=15', 'Monthly on day 15'],
    ['FREQ=MONTHLY', 'Monthly on day 14'],
    ['FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;COUNT=8', 'Every 3 months on day 1, 8 times'],
    ['FREQ=YEARLY', 'Annually on 14 Feb'],
    ['FREQ=YEARLY;INTERVAL=2;UNTIL=20350214', 'Every 2 years on 14 Feb until 14 Feb 2035'],
    ['FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', 'Custom: FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1'],
  ])('%s reads "%s"', (rule, sentence) => {
    expect(say(rule)).toBe(sentence);
  });

  it('says when a simple rule has exception or extra dates, and nothing without a rule', () => {
    expect(describeRecurrence({ lines: ['RRULE:FREQ=DAILY', 'EXDATE:20270301T090000Z'] }, ctx())).toBe('Daily, 1 date left out');
    expect(describeRecurrence({ lines: ['RRULE:FREQ=DAILY', 'EXDATE:20270301T090000Z', 'EXDATE:20270302T090000Z'] }, ctx())).toBe('Daily, 2 dates left out');
    expect(describeRecurrence({ lines: ['RRULE:FREQ=DAILY', 'RDATE:20270301T090000Z'] }, ctx())).toBe('Daily, with extra dates');
    expect(describeRecurrence(null, ctx())).toBeNull();
    expect(describeRecurrence({ lines: [] }, ctx())).toBeNull();
  });

  it('shows a UTC UNTIL as the date in the zone it is read in', () => {
    const rule = 'FREQ=DAILY;UNTIL=20270401T035959Z';
    expect(say(rule, { timeZone: 'America/New_York' })).toBe('Daily until 31 Mar 2027');
    expect(say(rule, { timeZone: 'Europe/Berlin' })).toBe('Daily until 1 Apr 2027');
    expect(say(rule, { timeZone: 'Asia/Tokyo' })).toBe('Daily until 1 Apr 2027');
    expect(say(rule, { timeZone: 'Pacific/Honolulu' })).toBe('Daily until 31 Mar 2027');
  });

  it('reads a series in the user zone: its UNTIL as the local date, a bare weekly rule on its own weekday', () => {
    // Starts Monday 09:00 in Tokyo = Sunday 20:00 in New York (UTC-4 in April).
    const timing = { kind: 'timed' as const, start: '2027-04-05T00:00:00Z', end: '2027-04-05T01:00:00Z' };
    const rec = { lines: ['RRULE:FREQ=WEEKLY;UNTIL=20270430T145959Z'] };
    expect(seriesSentence(rec, timing, 'Asia/Tokyo', 'Asia/Tokyo', 1)).toBe('Weekly on Monday until 30 Apr 2027');
    expect(seriesSentence(rec, timing, 'Asia/Tokyo', 'America/New_York', 1)).toBe('Weekly on Monday until 30 Apr 2027');
    const late = { lines: ['RRULE:FREQ=WEEKLY;UNTIL=20270430T235959Z'] };
    expect(seriesSentence(late, timing, 'Asia/Tokyo', 'Asia/Tokyo', 1)).toBe('Weekly on Monday until 1 May 2027');
    expect(seriesSentence(late, timing, 'Asia/Tokyo', 'America/New_York', 1)).toBe('Weekly on Monday until 30 Apr 2027');
    expect(seriesSentence({ lines: ['RRULE:FREQ=YEARLY;UNTIL=20300214'] }, { kind: 'all_day', start: '2027-02-14', end: '2027-02-15' }, 'UTC', 'Pacific/Honolulu', 1)).toBe(
      'Annually on 14 Feb until 14 Feb 2030',
    );
    expect(seriesSentence(null, timing, 'UTC', 'UTC', 1)).toBeNull();
  });

  it('orders weekdays from the first day of the week', () => {
    const rule = 'FREQ=WEEKLY;BYDAY=SU,MO,SA';
    expect(say(rule, { firstDay: 1 })).toBe('Weekly on Mon, Sat and Sun');
    expect(say(rule, { firstDay: 7 })).toBe('Weekly on Sun, Mon and Sat');
    expect(say(rule, { firstDay: 6 })).toBe('Weekly on Sat, Sun and Mon');
  });

  it('describes editor states directly', () => {
    const rule: RepeatRule = { ...defaultRule('weekly', '2027-02-16'), weekdays: ['TU', 'TH'], end: { kind: 'count', count: 10 } };
    expect(describeRepeatRule(rule, ctx())).toBe('Weekly on Tue and Thu, 10 times');
  });
});

describe('weekdays and defaults', () => {
  it('lists the week from its first day (Monday-first and Sunday-first)', () => {
    expect(weekdaysFrom(1)).toEqual(['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']);
    expect(weekdaysFrom(7)).toEqual(['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA']);
    expect(sortWeekdays(['SU', 'WE', 'MO'], 7)).toEqual(['SU', 'MO', 'WE']);
    expect(sortWeekdays(['SU', 'WE', 'MO'], 1)).toEqual(['MO', 'WE', 'SU']);
  });

  it('takes the first day of the week from the locale, Monday when unknown', () => {
    const loc = new Intl.Locale('en-US') as Intl.Locale & { weekInfo?: unknown; getWeekInfo?: unknown };
    const knowsWeekInfo = typeof loc.getWeekInfo === 'function' || loc.weekInfo !== undefined;
    expect(localeFirstDay('en-US')).toBe(knowsWeekInfo ? 7 : 1);
    expect(localeFirstDay('de-DE')).toBe(1);
    expect(localeFirstDay('not a locale!')).toBe(1);
  });

  it('seeds new rules from the start date', () => {
    expect(defaultRule('weekly', '2027-02-16')).toEqual({ freq: 'weekly', interval: 1, weekdays: ['TU'], monthly: null, end: { kind: 'never' } });
    expect(defaultRule('monthly', '2027-02-16').monthly).toEqual({ kind: 'day', day: 16 });
    expect(monthlyWeekdayFor('2027-02-16')).toEqual({ kind: 'weekday', nth: 3, weekday: 'TU' });
    expect(monthlyWeekdayFor('2027-03-29')).toEqual({ kind: 'weekday', nth: -1, weekday: 'MO' });
  });
});
