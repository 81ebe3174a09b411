// Curfew / exclusion schedules: weekly local windows, DST-correct instants, except periods,
// and the per-fix cache. Worked examples first, then property tests against a brute-force
// reference that reads the local wall clock through Intl and checks the windows directly.
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import {
  type ActiveInterval,
  CompiledSchedule,
  isValidTimeZone,
  localToUtcMs,
  ScheduleError,
  type ScheduleSpec,
  type Weekday,
} from '../../src/engine/schedule.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const ALL_DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const at = (iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`bad test instant ${iso}`);
  return t;
};
const span = (from: string, to: string): ActiveInterval => ({ startMs: at(from), endMs: at(to) });
const hours = (iv: ActiveInterval | null): number => (iv === null ? NaN : (iv.endMs - iv.startMs) / HOUR);
const nightly = (start = '19:00', end = '07:00', except?: ScheduleSpec['except']): ScheduleSpec => ({
  windows: [{ days: ALL_DAYS, start, end }],
  ...(except === undefined ? {} : { except }),
});
const london = (spec: ScheduleSpec): CompiledSchedule => new CompiledSchedule(spec, 'Europe/London');

describe('a nightly 19:00–07:00 curfew in Europe/London', () => {
  const s = london(nightly());

  it('runs 19:00Z–07:00Z on a winter (GMT) night', () => {
    expect(s.intervalAt(at('2026-11-23T22:00:00Z'))).toEqual(span('2026-11-23T19:00:00Z', '2026-11-24T07:00:00Z'));
  });

  it('runs 18:00Z–06:00Z on a summer (BST) night', () => {
    expect(s.intervalAt(at('2026-07-15T23:30:00Z'))).toEqual(span('2026-07-15T18:00:00Z', '2026-07-16T06:00:00Z'));
  });

  it('lasts 13 hours on the night the clocks go back (Sat 2026-10-24 into Sun 2026-10-25)', () => {
    const iv = s.intervalAt(at('2026-10-25T01:30:00Z'));
    expect(iv).toEqual(span('2026-10-24T18:00:00Z', '2026-10-25T07:00:00Z'));
    expect(hours(iv)).toBe(13);
  });

  it('lasts 11 hours on the night the clocks go forward (Sat 2026-03-28 into Sun 2026-03-29)', () => {
    const iv = s.intervalAt(at('2026-03-29T01:30:00Z'));
    expect(iv).toEqual(span('2026-03-28T19:00:00Z', '2026-03-29T06:00:00Z'));
    expect(hours(iv)).toBe(11);
  });

  it('is inactive during the day', () => {
    expect(s.intervalAt(at('2026-11-24T12:00:00Z'))).toBeNull();
    expect(s.isActive(at('2026-07-16T06:00:00Z'))).toBe(false);
  });
});

describe('wall times in the clock-change hours', () => {
  it('maps a non-existent time to the instant the clocks reach it after the gap, and a repeated one to its first occurrence', () => {
    const cases: [string, number, number, number, number, number, string][] = [
      ['Europe/London', 2026, 3, 29, 1, 30, '2026-03-29T01:30:00Z'], // gap: 02:30 BST
      ['Europe/London', 2026, 3, 29, 2, 0, '2026-03-29T01:00:00Z'], // just after the gap
      ['Europe/London', 2026, 3, 29, 0, 59, '2026-03-29T00:59:00Z'], // just before it
      ['Europe/London', 2026, 10, 25, 1, 30, '2026-10-25T00:30:00Z'], // overlap: first (BST) occurrence
      ['Europe/London', 2026, 10, 25, 2, 0, '2026-10-25T02:00:00Z'],
      ['Europe/London', 2026, 12, 31, 24, 0, '2027-01-01T00:00:00Z'], // 24:00 is the next midnight
      ['America/New_York', 2026, 3, 8, 2, 30, '2026-03-08T07:30:00Z'], // gap: 03:30 EDT
      ['America/New_York', 2026, 11, 1, 1, 30, '2026-11-01T05:30:00Z'], // overlap: 01:30 EDT
      ['Australia/Sydney', 2026, 10, 4, 2, 30, '2026-10-03T16:30:00Z'], // gap: 03:30 AEDT
      ['Australia/Sydney', 2026, 4, 5, 2, 30, '2026-04-04T15:30:00Z'], // overlap: 02:30 AEDT
      ['Asia/Kolkata', 2026, 1, 1, 0, 0, '2025-12-31T18:30:00Z'],
    ];
    for (const [tz, y, m, d, hh, mm, want] of cases) {
      expect(new Date(localToUtcMs(tz, y, m, d, hh, mm)).toISOString(), `${tz} ${y}-${m}-${d} ${hh}:${mm}`)
        .toBe(new Date(at(want)).toISOString());
    }
  });

  it('refuses local times that are not calendar dates or times of day', () => {
    expect(() => localToUtcMs('Europe/London', 2026, 2, 29, 12, 0)).toThrow(RangeError);
    expect(() => localToUtcMs('Europe/London', 2026, 13, 1, 12, 0)).toThrow(RangeError);
    expect(() => localToUtcMs('Europe/London', 2026, 1, 1, 24, 30)).toThrow(RangeError);
    expect(() => localToUtcMs('Nowhere/Special', 2026, 1, 1, 0, 0)).toThrow(/not a known IANA time zone/);
  });

  it('gives a 01:00–03:00 window one hour on the spring-forward night', () => {
    const s = london({ windows: [{ days: ['sun'], start: '01:00', end: '03:00' }] });
    const iv = s.intervalAt(at('2026-03-29T01:30:00Z'));
    expect(iv).toEqual(span('2026-03-29T01:00:00Z', '2026-03-29T02:00:00Z'));
    expect(s.isActive(at('2026-03-29T00:59:59Z'))).toBe(false);
  });

  it('gives a 01:00–03:00 window three hours on the fall-back night, from the first 01:00', () => {
    const s = london({ windows: [{ days: ['sun'], start: '01:00', end: '03:00' }] });
    const iv = s.intervalAt(at('2026-10-25T00:00:00Z'));
    expect(iv).toEqual(span('2026-10-25T00:00:00Z', '2026-10-25T03:00:00Z'));
    expect(s.isActive(at('2026-10-24T23:59:59Z'))).toBe(false);
  });

  it('shifts a window lying wholly in the spring gap past it (01:15–01:45 runs 02:15–02:45 BST)', () => {
    const s = london({ windows: [{ days: ['sun'], start: '01:15', end: '01:45' }] });
    expect(s.nextIntervalAfter(at('2026-03-28T12:00:00Z'))).toEqual(span('2026-03-29T01:15:00Z', '2026-03-29T01:45:00Z'));
  });

  it('puts a window lying wholly in the autumn overlap at its first occurrence (BST)', () => {
    const s = london({ windows: [{ days: ['sun'], start: '01:15', end: '01:45' }] });
    expect(s.nextIntervalAfter(at('2026-10-24T12:00:00Z'))).toEqual(span('2026-10-25T00:15:00Z', '2026-10-25T00:45:00Z'));
    expect(s.isActive(at('2026-10-25T01:30:00Z'))).toBe(false); // the second 01:30 (GMT)
  });

  it('skips a night whose window maps to nothing (01:59–02:00 when 01:59 does not exist)', () => {
    const s = london({ windows: [{ days: ['sun'], start: '01:59', end: '02:00' }] });
    expect(s.nextIntervalAfter(at('2026-03-28T12:00:00Z'))).toEqual(span('2026-04-05T00:59:00Z', '2026-04-05T01:00:00Z'));
  });
});

describe('windows on some weekdays only', () => {
  // Fri and Sat nights, 20:00–06:00, in November (GMT): Fri 2026-11-20, Sat 2026-11-21.
  const s = london({ windows: [{ days: ['fri', 'sat'], start: '20:00', end: '06:00' }] });

  it.each([
    ['Thu 22:00', false, '2026-11-19T22:00:00Z'],
    ['Fri 19:59', false, '2026-11-20T19:59:00Z'],
    ['Fri 20:00', true, '2026-11-20T20:00:00Z'],
    ['Sat 05:59 (tail of Friday)', true, '2026-11-21T05:59:00Z'],
    ['Sat 12:00', false, '2026-11-21T12:00:00Z'],
    ['Sat 23:00', true, '2026-11-21T23:00:00Z'],
    ['Sun 05:00 (tail of Saturday)', true, '2026-11-22T05:00:00Z'],
    ['Sun 06:00', false, '2026-11-22T06:00:00Z'],
    ['Sun 21:00 (no Sunday window)', false, '2026-11-22T21:00:00Z'],
    ['Mon 03:00 (no Sunday-night tail)', false, '2026-11-23T03:00:00Z'],
  ])('at %s it is active: %s', (_name, want, iso) => {
    expect(s.isActive(at(iso))).toBe(want);
  });

  it('reports the Sunday-morning tail as part of the interval that started on Saturday', () => {
    expect(s.intervalAt(at('2026-11-22T05:30:00Z'))).toEqual(span('2026-11-21T20:00:00Z', '2026-11-22T06:00:00Z'));
  });
});

describe('except periods', () => {
  const night = (except: ScheduleSpec['except']) => london(nightly('19:00', '07:00', except));

  it('moves the start of a night to the end of an except covering it', () => {
    const s = night([{ from: '2026-11-23T18:00:00Z', to: '2026-11-23T20:00:00Z' }]);
    expect(s.isActive(at('2026-11-23T19:30:00Z'))).toBe(false);
    expect(s.intervalAt(at('2026-11-23T21:00:00Z'))).toEqual(span('2026-11-23T20:00:00Z', '2026-11-24T07:00:00Z'));
    expect(s.nextIntervalAfter(at('2026-11-23T12:00:00Z'))).toEqual(span('2026-11-23T20:00:00Z', '2026-11-24T07:00:00Z'));
  });

  it('splits a night around an except in the middle', () => {
    const s = night([{ from: '2026-11-23T23:00:00Z', to: '2026-11-24T01:00:00Z' }]);
    expect(s.intervalAt(at('2026-11-23T22:00:00Z'))).toEqual(span('2026-11-23T19:00:00Z', '2026-11-23T23:00:00Z'));
    expect(s.intervalAt(at('2026-11-24T00:00:00Z'))).toBeNull();
    expect(s.intervalAt(at('2026-11-24T01:00:00Z'))).toEqual(span('2026-11-24T01:00:00Z', '2026-11-24T07:00:00Z'));
  });

  it('cuts the end of a night', () => {
    const s = night([{ from: '2026-11-24T05:00:00Z', to: '2026-11-24T09:00:00Z' }]);
    expect(s.intervalAt(at('2026-11-24T04:00:00Z'))).toEqual(span('2026-11-23T19:00:00Z', '2026-11-24T05:00:00Z'));
  });

  it('suspends a whole night', () => {
    const s = night([{ from: '2026-11-23T12:00:00Z', to: '2026-11-24T12:00:00Z' }]);
    expect(s.isActive(at('2026-11-23T22:00:00Z'))).toBe(false);
    expect(s.nextIntervalAfter(at('2026-11-23T12:00:00Z'))).toEqual(span('2026-11-24T19:00:00Z', '2026-11-25T07:00:00Z'));
  });

  it('accepts offsets and epoch milliseconds, and merges overlapping excepts', () => {
    const s = night([
      { from: '2026-11-23T20:00:00+01:00', to: at('2026-11-23T20:00:00Z') }, // 19:00Z–20:00Z
      { from: at('2026-11-23T19:30:00Z'), to: '2026-11-23T16:30:00-04:00' }, // 19:30Z–20:30Z
    ]);
    expect(s.intervalAt(at('2026-11-23T22:00:00Z'))).toEqual(span('2026-11-23T20:30:00Z', '2026-11-24T07:00:00Z'));
  });

  it('leaves the contract example (a daytime Christmas except) without effect on the nights', () => {
    const s = night([{ from: '2026-12-25T10:00:00Z', to: '2026-12-25T16:00:00Z' }]);
    expect(s.intervalAt(at('2026-12-25T06:00:00Z'))).toEqual(span('2026-12-24T19:00:00Z', '2026-12-25T07:00:00Z'));
  });
});

describe('overlapping, touching and long windows', () => {
  it('merges overlapping windows into one interval', () => {
    const s = london({
      windows: [
        { days: ALL_DAYS, start: '19:00', end: '23:00' },
        { days: ALL_DAYS, start: '22:00', end: '07:00' },
      ],
    });
    expect(s.intervalAt(at('2026-11-23T19:30:00Z'))).toEqual(span('2026-11-23T19:00:00Z', '2026-11-24T07:00:00Z'));
  });

  it('merges touching windows into one interval', () => {
    const s = london({
      windows: [
        { days: ['mon'], start: '19:00', end: '23:00' },
        { days: ['mon'], start: '23:00', end: '07:00' },
      ],
    });
    expect(s.intervalAt(at('2026-11-23T23:00:00Z'))).toEqual(span('2026-11-23T19:00:00Z', '2026-11-24T07:00:00Z'));
  });

  it('runs a 24-hour window (start = end) for 25 hours when the clocks go back inside it', () => {
    const s = london({ windows: [{ days: ['sat'], start: '12:00', end: '12:00' }] });
    const iv = s.intervalAt(at('2026-10-24T12:00:00Z'));
    expect(iv).toEqual(span('2026-10-24T11:00:00Z', '2026-10-25T12:00:00Z'));
    expect(hours(iv)).toBe(25);
  });

  it('joins 24-hour windows on consecutive days into one interval', () => {
    const s = london({ windows: [{ days: ['fri', 'sat'], start: '12:00', end: '12:00' }] });
    expect(s.intervalAt(at('2026-11-21T12:00:00Z'))).toEqual(span('2026-11-20T12:00:00Z', '2026-11-22T12:00:00Z'));
  });

  it('reads an end of 24:00 as midnight at the end of the day', () => {
    const s = london({ windows: [{ days: ['sat'], start: '00:00', end: '24:00' }] });
    expect(s.intervalAt(at('2026-11-21T23:59:59Z'))).toEqual(span('2026-11-21T00:00:00Z', '2026-11-22T00:00:00Z'));
  });

  it('is always active, with unbounded ends, when the windows cover the whole week', () => {
    const s = london({
      windows: [
        { days: ALL_DAYS, start: '07:00', end: '19:00' },
        { days: ALL_DAYS, start: '19:00', end: '07:00' },
      ],
      except: [{ from: '2026-12-25T10:00:00Z', to: '2026-12-25T16:00:00Z' }],
    });
    expect(s.intervalAt(at('2026-03-29T01:30:00Z'))).toEqual({ startMs: -Infinity, endMs: at('2026-12-25T10:00:00Z') });
    expect(s.intervalAt(at('2026-12-25T12:00:00Z'))).toBeNull();
    expect(s.intervalAt(at('2030-01-01T00:00:00Z'))).toEqual({ startMs: at('2026-12-25T16:00:00Z'), endMs: Infinity });
    expect(s.nextIntervalAfter(at('2026-12-01T00:00:00Z'))).toEqual({ startMs: at('2026-12-25T16:00:00Z'), endMs: Infinity });
    expect(s.nextIntervalAfter(at('2026-12-25T17:00:00Z'))).toBeNull();
  });
});

describe('other time zones', () => {
  it('follows America/New_York across 2026-03-08 (11 h) and 2026-11-01 (13 h)', () => {
    const s = new CompiledSchedule(nightly(), 'America/New_York');
    expect(s.intervalAt(at('2026-03-08T06:00:00Z'))).toEqual(span('2026-03-08T00:00:00Z', '2026-03-08T11:00:00Z'));
    expect(s.intervalAt(at('2026-11-01T06:00:00Z'))).toEqual(span('2026-10-31T23:00:00Z', '2026-11-01T12:00:00Z'));
    expect(s.intervalAt(at('2026-07-01T03:00:00Z'))).toEqual(span('2026-06-30T23:00:00Z', '2026-07-01T11:00:00Z'));
  });

  it('follows Australia/Sydney, whose summer time ends in April (13 h) and starts in October (11 h)', () => {
    const s = new CompiledSchedule(nightly(), 'Australia/Sydney');
    expect(s.intervalAt(at('2026-04-04T15:00:00Z'))).toEqual(span('2026-04-04T08:00:00Z', '2026-04-04T21:00:00Z'));
    expect(s.intervalAt(at('2026-10-03T15:00:00Z'))).toEqual(span('2026-10-03T09:00:00Z', '2026-10-03T20:00:00Z'));
    // July is winter there: AEST, UTC+10
    expect(s.intervalAt(at('2026-07-15T12:00:00Z'))).toEqual(span('2026-07-15T09:00:00Z', '2026-07-15T21:00:00Z'));
  });

  it('defaults to Europe/London', () => {
    expect(new CompiledSchedule(nightly()).intervalAt(at('2026-07-15T23:30:00Z')))
      .toEqual(span('2026-07-15T18:00:00Z', '2026-07-16T06:00:00Z'));
  });
});

describe('interval boundaries are half-open', () => {
  const s = london(nightly());
  const start = at('2026-11-23T19:00:00Z');
  const end = at('2026-11-24T07:00:00Z');
  it.each([
    ['one ms before the start', start - 1, false],
    ['at the start', start, true],
    ['one ms before the end', end - 1, true],
    ['at the end', end, false],
  ])('%s', (_name, t, want) => {
    expect(s.isActive(t)).toBe(want);
    expect(london(nightly()).isActive(t)).toBe(want); // and from a cold cache
  });
});

describe('nextIntervalAfter', () => {
  const s = london({ windows: [{ days: ['fri', 'sat'], start: '20:00', end: '06:00' }] });

  it('walks a week of Friday and Saturday nights', () => {
    expect(s.nextIntervalAfter(at('2026-11-16T12:00:00Z'))).toEqual(span('2026-11-20T20:00:00Z', '2026-11-21T06:00:00Z'));
    expect(s.nextIntervalAfter(at('2026-11-20T20:00:00Z'))).toEqual(span('2026-11-21T20:00:00Z', '2026-11-22T06:00:00Z'));
    expect(s.nextIntervalAfter(at('2026-11-21T23:00:00Z'))).toEqual(span('2026-11-27T20:00:00Z', '2026-11-28T06:00:00Z'));
    expect(s.nextIntervalAfter(at('2026-11-20T19:59:59.999Z'))).toEqual(span('2026-11-20T20:00:00Z', '2026-11-21T06:00:00Z'));
  });

  it('looks past a long except', () => {
    const long = london(nightly('19:00', '07:00', [{ from: '2026-11-01T00:00:00Z', to: '2027-01-15T12:00:00Z' }]));
    expect(long.nextIntervalAfter(at('2026-11-02T00:00:00Z'))).toEqual(span('2027-01-15T19:00:00Z', '2027-01-16T07:00:00Z'));
  });

  it('starts a window that begins inside an except at the end of the except', () => {
    const cut = london(nightly('19:00', '07:00', [{ from: '2026-11-23T12:00:00Z', to: '2026-11-24T03:00:00Z' }]));
    expect(cut.nextIntervalAfter(at('2026-11-23T12:00:00Z'))).toEqual(span('2026-11-24T03:00:00Z', '2026-11-24T07:00:00Z'));
  });

  it('answers null when nothing starts within 400 days', () => {
    const never = london(nightly('19:00', '07:00', [{ from: '2026-01-01T00:00:00Z', to: '2028-01-01T00:00:00Z' }]));
    expect(never.nextIntervalAfter(at('2026-06-01T00:00:00Z'))).toBeNull();
    // the night of 31 December resumes when the except ends at midnight
    expect(never.nextIntervalAfter(at('2027-06-01T00:00:00Z'))).toEqual(span('2028-01-01T00:00:00Z', '2028-01-01T07:00:00Z'));
  });
});

describe('validation', () => {
  const win = { days: ['mon'] as Weekday[], start: '19:00', end: '07:00' };
  const bad = (spec: unknown, tz = 'Europe/London'): ScheduleError => {
    try {
      new CompiledSchedule(spec as ScheduleSpec, tz);
    } catch (e) {
      expect(e).toBeInstanceOf(ScheduleError);
      return e as ScheduleError;
    }
    throw new Error('expected a ScheduleError');
  };

  it.each([
    ['an unknown time zone', { windows: [win] }, 'Mars/Olympus_Mons', 'time zone "Mars/Olympus_Mons" is not a known IANA time zone'],
    ['an empty time zone', { windows: [win] }, '', 'time zone "" is not a known IANA time zone'],
    ['no windows', { windows: [] }, undefined, 'windows is empty'],
    ['windows not an array', { windows: 'nightly' }, undefined, 'windows "nightly" is not an array'],
    ['a capitalised day', { windows: [win, { ...win, days: ['fri', 'Sat'] }] }, undefined, 'windows[1].days[1] "Sat" is not a weekday'],
    ['no days', { windows: [{ ...win, days: [] }] }, undefined, 'windows[0].days [] is not a non-empty array of weekdays'],
    ['hour 25', { windows: [win, { ...win, start: '25:00' }] }, undefined, 'windows[1].start "25:00" is not a time of day (HH:MM)'],
    ['a one-digit hour', { windows: [{ ...win, start: '7:00' }] }, undefined, 'windows[0].start "7:00" is not a time of day'],
    ['a start of 24:00', { windows: [{ ...win, start: '24:00' }] }, undefined, 'windows[0].start "24:00" is not a time of day'],
    ['an end past 24:00', { windows: [{ ...win, end: '24:01' }] }, undefined, 'windows[0].end "24:01" is not a time of day'],
    ['a missing end', { windows: [{ days: ['mon'], start: '19:00' }] }, undefined, 'windows[0].end (missing) is not a time of day'],
    ['except not an array', { windows: [win], except: {} }, undefined, 'except {} is not an array'],
    ['an impossible date', { windows: [win], except: [{ from: '2026-02-30T00:00:00Z', to: '2026-03-02T00:00:00Z' }] }, undefined,
      'except[0].from "2026-02-30T00:00:00Z" is not an RFC 3339 date-time'],
    ['a date without a zone', { windows: [win], except: [{ from: '2026-12-25T10:00:00', to: '2026-12-25T16:00:00Z' }] }, undefined,
      'except[0].from "2026-12-25T10:00:00" is not an RFC 3339 date-time'],
    ['a non-finite number', { windows: [win], except: [{ from: 0, to: Number.POSITIVE_INFINITY }] }, undefined,
      'except[0].to Infinity is not an RFC 3339 date-time'],
    ['from after to', { windows: [win], except: [{ from: '2026-12-25T16:00:00Z', to: '2026-12-25T10:00:00Z' }] }, undefined,
      'except[0].from "2026-12-25T16:00:00Z" is not before except[0].to "2026-12-25T10:00:00Z"'],
    ['from equal to to', { windows: [win], except: [{ from: 5, to: 5 }] }, undefined, 'except[0].from 5 is not before except[0].to 5'],
  ])('refuses %s, naming the field', (_name, spec, tz, message) => {
    const e = bad(spec, tz);
    expect(e.code).toBe('SCHEDULE_INVALID');
    expect(e.message).toContain(message);
  });

  it('knows which time zones exist', () => {
    expect(isValidTimeZone('Europe/London')).toBe(true);
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('Europe/Londres')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });
});

describe('the per-fix cache', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns the same interval object for every fix in a night', () => {
    const s = london(nightly());
    const first = s.intervalAt(at('2026-11-23T19:00:00Z'));
    for (let t = at('2026-11-23T19:00:00Z'); t < at('2026-11-24T07:00:00Z'); t += 10_000) {
      expect(s.intervalAt(t) === first).toBe(true);
    }
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('consults Intl only the first time a zone meets a date', () => {
    // Europe/Dublin appears in no other test, so its memo starts empty here.
    const spy = vi.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
    const walk = (s: CompiledSchedule): number => {
      let active = 0;
      for (let t = at('2027-01-04T00:00:00Z'); t < at('2027-02-01T00:00:00Z'); t += 5 * MIN) if (s.isActive(t)) active++;
      return active;
    };
    const cold = walk(new CompiledSchedule(nightly(), 'Europe/Dublin'));
    const coldCalls = spy.mock.calls.length;
    const warm = walk(new CompiledSchedule(nightly(), 'Europe/Dublin'));
    expect(warm).toBe(cold);
    expect(coldCalls).toBeGreaterThan(0);
    expect(spy.mock.calls.length).toBe(coldCalls);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests

const ZONES = [
  'Europe/London', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'Pacific/Auckland',
  'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Sao_Paulo', 'Asia/Kathmandu', 'Europe/Dublin',
] as const;
const T0 = Date.UTC(2025, 5, 1);
const T1 = Date.UTC(2027, 5, 1);

/** Reference: the local wall clock at t read through Intl, independently of the module. */
const refFormats = new Map<string, Intl.DateTimeFormat>();
function refWall(tz: string, t: number): { weekday: number; msOfDay: number; offsetMs: number } {
  let f = refFormats.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz, hourCycle: 'h23', weekday: 'short',
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    refFormats.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(t)) p[part.type] = part.value;
  const hour = Number(p.hour) % 24;
  const msOfDay = ((hour * 60 + Number(p.minute)) * 60 + Number(p.second)) * 1000 + (((t % 1000) + 1000) % 1000);
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(p.weekday);
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day)) + msOfDay;
  return { weekday, msOfDay, offsetMs: wall - t };
}

/** Within 3 hours of a change of UTC offset, where the gap/overlap rules (not the wall clock) decide. */
function nearOffsetChange(tz: string, t: number): boolean {
  return refWall(tz, t - 3 * HOUR).offsetMs !== refWall(tz, t + 3 * HOUR).offsetMs;
}

function excepted(spec: ScheduleSpec, t: number): boolean {
  for (const x of spec.except ?? []) {
    const from = typeof x.from === 'number' ? x.from : Date.parse(x.from);
    const to = typeof x.to === 'number' ? x.to : Date.parse(x.to);
    if (from <= t && t < to) return true;
  }
  return false;
}

function refActive(spec: ScheduleSpec, tz: string, t: number): boolean {
  if (excepted(spec, t)) return false;
  const { weekday, msOfDay } = refWall(tz, t);
  const mins = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
  for (const w of spec.windows) {
    const start = mins(w.start) * MIN;
    let end = mins(w.end) * MIN;
    if (end <= start) end += DAY;
    // a window that started today, or yesterday and runs past midnight
    for (let back = 0; back <= 1; back++) {
      const day = ALL_DAYS[(weekday - back + 7) % 7];
      const x = msOfDay + back * DAY;
      if (w.days.includes(day) && start <= x && x < end) return true;
    }
  }
  return false;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const clockArb = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 0, 15, 30, 45, 59))
  .map(([h, m]) => `${pad(h)}:${pad(m)}`);
const windowArb = fc
  .tuple(fc.subarray(ALL_DAYS, { minLength: 1 }), clockArb, clockArb, fc.integer({ min: 0, max: 9 }))
  .map(([days, start, end, k]) => ({ days, start, end: k === 0 ? start : k === 1 ? '24:00' : end }));
/** Excepts on whole minutes, as epoch ms or RFC 3339 strings. */
const exceptArb = fc
  .tuple(
    fc.integer({ min: 0, max: Math.floor((T1 - T0) / MIN) }),
    fc.integer({ min: 1, max: 10 * 24 * 60 }),
    fc.boolean(),
  )
  .map(([startMin, lenMin, asString]) => {
    const from = T0 + startMin * MIN;
    const to = from + lenMin * MIN;
    return asString ? { from: new Date(from).toISOString(), to: new Date(to).toISOString() } : { from, to };
  });
const specArb: fc.Arbitrary<ScheduleSpec> = fc.record({
  windows: fc.array(windowArb, { minLength: 1, maxLength: 3 }),
  except: fc.array(exceptArb, { maxLength: 3 }),
});
/** Instants: uniform over two years, and some within a minute of a window boundary. */
function instantsArb(spec: ScheduleSpec, tz: string): fc.Arbitrary<number[]> {
  const uniform = fc
    .tuple(fc.integer({ min: 0, max: Math.floor((T1 - T0) / MIN) }), fc.integer({ min: 0, max: MIN - 1 }))
    .map(([m, ms]) => T0 + m * MIN + ms);
  const edges = spec.windows.flatMap((w) => [w.start, w.end]);
  const nearEdge = fc
    .tuple(fc.integer({ min: 0, max: Math.floor((T1 - T0) / DAY) }), fc.constantFrom(...edges), fc.constantFrom(-MIN, -1, 0, 1, MIN - 1))
    .map(([day, hhmm, delta]) => {
      const wall = T0 + day * DAY + (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * MIN;
      return wall - refWall(tz, wall).offsetMs + delta;
    });
  return fc.array(fc.oneof(uniform, nearEdge), { minLength: 10, maxLength: 60 });
}
const caseArb = fc
  .tuple(fc.constantFrom(...ZONES), specArb)
  .chain(([tz, spec]) => fc.tuple(fc.constant(tz), fc.constant(spec), instantsArb(spec, tz)));

describe('properties', () => {
  it('agrees with a wall-clock reference away from clock changes', () => {
    fc.assert(
      fc.property(caseArb, ([tz, spec, ts]) => {
        const s = new CompiledSchedule(spec, tz);
        for (const t of ts) {
          if (nearOffsetChange(tz, t)) continue;
          if (s.isActive(t) !== refActive(spec, tz, t)) {
            throw new Error(`${tz} at ${new Date(t).toISOString()}: got ${s.isActive(t)}`);
          }
        }
      }),
      { seed: 20261025, numRuns: 300 },
    );
  });

  it('answers the same for increasing, random-order and cold-cache queries', () => {
    fc.assert(
      fc.property(caseArb, ([tz, spec, ts]) => {
        const sorted = [...ts].sort((a, b) => a - b);
        const inOrder = new CompiledSchedule(spec, tz);
        const shuffled = new CompiledSchedule(spec, tz);
        const byOrder = new Map(sorted.map((t) => [t, inOrder.intervalAt(t)]));
        for (const t of ts) {
          const cold = new CompiledSchedule(spec, tz).intervalAt(t);
          expect(shuffled.intervalAt(t)).toEqual(cold);
          expect(byOrder.get(t)).toEqual(cold);
          if (cold !== null) {
            expect(cold.startMs <= t && t < cold.endMs).toBe(true);
            // intervals are maximal: inactive just outside, the same interval at its start
            if (Number.isFinite(cold.startMs)) {
              expect(shuffled.intervalAt(cold.startMs)).toEqual(cold);
              expect(shuffled.isActive(cold.startMs - 1)).toBe(false);
            }
            if (Number.isFinite(cold.endMs)) expect(shuffled.isActive(cold.endMs)).toBe(false);
          }
        }
      }),
      { seed: 4242, numRuns: 200 },
    );
  });

  it('finds as the next interval the first activity after t', () => {
    fc.assert(
      fc.property(caseArb, ([tz, spec, ts]) => {
        const s = new CompiledSchedule(spec, tz);
        for (const t of ts.slice(0, 5)) {
          const next = s.nextIntervalAfter(t);
          expect(new CompiledSchedule(spec, tz).nextIntervalAfter(t)).toEqual(next);
          const here = s.intervalAt(t);
          if (next === null) {
            expect(here === null || here.endMs === Infinity || here.endMs - t > 400 * DAY - 1).toBe(true);
            continue;
          }
          expect(next.startMs).toBeGreaterThan(t);
          expect(s.intervalAt(next.startMs)).toEqual(next);
          expect(s.isActive(next.startMs - 1)).toBe(false);
          // nothing starts in between: every boundary is on a whole minute, so scan the minutes
          let x = here === null ? t : here.endMs;
          const stop = Math.min(next.startMs, x + 3 * DAY);
          for (x = Math.ceil(x / MIN) * MIN; x < stop; x += MIN) {
            if (s.isActive(x)) throw new Error(`${tz}: active at ${new Date(x).toISOString()} before the next interval`);
          }
        }
      }),
      { seed: 7, numRuns: 150 },
    );
  });
});
