import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nextRestartTime, nextRestartTimes, validateCronExpression, validateTimezone } from '../../lib/schedule/timing.ts';
import { type ScheduleConfig } from '../../lib/core/types.ts';

function cronSchedule(cron: string, timezone: string | null = 'Europe/Warsaw'): ScheduleConfig {
  return { enabled: true, mode: 'cron', intervalMs: 0, cron, timezone, services: [], waitIdle: null };
}

function intervalSchedule(intervalMs: number): ScheduleConfig {
  return { enabled: true, mode: 'interval', intervalMs, cron: null, timezone: null, services: [], waitIdle: null };
}

function iso(dates: Date[]): string[] {
  return dates.map((date) => date.toISOString());
}

describe('validateCronExpression', () => {
  for (const good of ['0 2 * * *', '*/15 * * * *', '30 0 2 * * *', '0 0 * * MON-FRI', '  0 4 * * 0  ', '@daily']) {
    test(`accepts "${good}"`, () => assert.equal(validateCronExpression(good), null));
  }

  test('rejects 7 fields, naming the expectation and the count', () => {
    assert.equal(
      validateCronExpression('0 0 2 * * * 2026'),
      'expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got 7 fields in "0 0 2 * * * 2026"',
    );
  });

  test('rejects too few fields, which cron-parser would silently pad', () => {
    assert.match(validateCronExpression('0 2 *')!, /^expected 5 fields .*, got 3 fields in "0 2 \*"$/);
    assert.match(validateCronExpression('')!, /got an empty expression$/);
  });

  test('rejects out-of-range values and garbage with the parser reason', () => {
    assert.equal(validateCronExpression('61 * * * *'), 'invalid cron expression "61 * * * *": Constraint error, got value 61 expected range 0-59');
    assert.match(validateCronExpression('a b c d e')!, /^invalid cron expression "a b c d e": /);
    assert.match(validateCronExpression('0 0 31 2 *')!, /^invalid cron expression "0 0 31 2 \*": /);
    assert.match(validateCronExpression('*/0 * * * *')!, /^invalid cron expression/);
  });

  test('rejects unknown aliases', () => {
    assert.match(validateCronExpression('@DAILY')!, /^unknown cron alias "@DAILY" \(expected one of @yearly\|/);
    assert.match(validateCronExpression('@sometimes')!, /^unknown cron alias/);
  });

  test('messages are one line', () => {
    for (const bad of ['61 * * * *', 'x', '* * * * * * *', '@foo']) assert.doesNotMatch(validateCronExpression(bad)!, /\n/);
  });
});

describe('validateTimezone', () => {
  test('accepts IANA names', () => {
    for (const tz of ['Europe/Warsaw', 'UTC', 'America/New_York', 'Asia/Kolkata']) assert.equal(validateTimezone(tz), null);
  });

  test('rejects unknown zones with a clear message instead of "Invalid Date"', () => {
    assert.equal(validateTimezone('Mars/Olympus'), 'unknown time zone "Mars/Olympus" (expected an IANA name such as "Europe/Warsaw" or "UTC")');
    assert.match(validateTimezone('')!, /got an empty string$/);
  });

  test('nextRestartTimes refuses a bad zone with the same message', () => {
    assert.throws(
      () => nextRestartTimes(cronSchedule('0 2 * * *', 'Mars/Olympus'), { now: new Date(), lastRestart: null, count: 1 }),
      (error: Error & { code?: string }) => error.code === 'config.invalid' && error.message.includes('unknown time zone "Mars/Olympus"'),
    );
  });
});

describe('nextRestartTimes: interval', () => {
  const now = new Date('2026-05-01T12:00:00.000Z');

  test('counts from the last restart', () => {
    const times = nextRestartTimes(intervalSchedule(6 * 3_600_000), { now, lastRestart: new Date('2026-05-01T09:30:00.000Z'), count: 3 });
    assert.deepEqual(iso(times), ['2026-05-01T15:30:00.000Z', '2026-05-01T21:30:00.000Z', '2026-05-02T03:30:00.000Z']);
  });

  test('counts from now without a last restart', () => {
    assert.deepEqual(iso(nextRestartTimes(intervalSchedule(60_000), { now, lastRestart: null, count: 2 })), [
      '2026-05-01T12:01:00.000Z',
      '2026-05-01T12:02:00.000Z',
    ]);
  });

  test('an overdue restart stays in the past so the caller runs it at once', () => {
    const next = nextRestartTime(intervalSchedule(3_600_000), now, new Date('2026-05-01T08:00:00.000Z'));
    assert.equal(next?.toISOString(), '2026-05-01T09:00:00.000Z');
  });

  test('a non-positive interval gives nothing rather than a restart loop', () => {
    assert.deepEqual(nextRestartTimes(intervalSchedule(0), { now, lastRestart: null, count: 3 }), []);
  });
});

describe('nextRestartTimes: cron', () => {
  test('fire times are strictly after now', () => {
    const times = nextRestartTimes(cronSchedule('0 2 * * *', 'UTC'), { now: new Date('2026-05-01T02:00:00.000Z'), lastRestart: null, count: 2 });
    assert.deepEqual(iso(times), ['2026-05-02T02:00:00.000Z', '2026-05-03T02:00:00.000Z']);
  });

  test('lastRestart does not matter in cron mode', () => {
    const now = new Date('2026-05-01T00:00:00.000Z');
    const a = nextRestartTimes(cronSchedule('0 2 * * *', 'UTC'), { now, lastRestart: null, count: 1 });
    const b = nextRestartTimes(cronSchedule('0 2 * * *', 'UTC'), { now, lastRestart: new Date('2026-04-01T00:00:00.000Z'), count: 1 });
    assert.deepEqual(a, b);
  });

  test('a seconds field (6 fields, seconds first)', () => {
    const times = nextRestartTimes(cronSchedule('*/20 * * * * *', 'UTC'), { now: new Date('2026-05-01T10:00:00.500Z'), lastRestart: null, count: 3 });
    assert.deepEqual(iso(times), ['2026-05-01T10:00:20.000Z', '2026-05-01T10:00:40.000Z', '2026-05-01T10:01:00.000Z']);
  });

  test('Europe/Warsaw spring forward (2026-03-29, 02:00 CET -> 03:00 CEST): daily 02:00 fires once, at the jump', () => {
    const times = nextRestartTimes(cronSchedule('0 2 * * *'), { now: new Date('2026-03-27T12:00:00.000Z'), lastRestart: null, count: 4 });
    assert.deepEqual(iso(times), [
      '2026-03-28T01:00:00.000Z', // 02:00 CET (UTC+1)
      '2026-03-29T01:00:00.000Z', // 02:00 does not exist: runs at 03:00 CEST, the same instant
      '2026-03-30T00:00:00.000Z', // 02:00 CEST (UTC+2)
      '2026-03-31T00:00:00.000Z',
    ]);
  });

  test('Europe/Warsaw spring forward: hourly :30 skips the missing 02:30 and stays one hour apart', () => {
    const times = nextRestartTimes(cronSchedule('30 * * * *'), { now: new Date('2026-03-28T23:00:00.000Z'), lastRestart: null, count: 4 });
    assert.deepEqual(iso(times), [
      '2026-03-28T23:30:00.000Z', // 00:30 CET
      '2026-03-29T00:30:00.000Z', // 01:30 CET
      '2026-03-29T01:30:00.000Z', // 03:30 CEST
      '2026-03-29T02:30:00.000Z', // 04:30 CEST
    ]);
  });

  test('Europe/Warsaw fall back (2026-10-25, 03:00 CEST -> 02:00 CET): daily 02:00 fires once', () => {
    const times = nextRestartTimes(cronSchedule('0 2 * * *'), { now: new Date('2026-10-23T12:00:00.000Z'), lastRestart: null, count: 4 });
    assert.deepEqual(iso(times), [
      '2026-10-24T00:00:00.000Z', // 02:00 CEST (UTC+2)
      '2026-10-25T00:00:00.000Z', // the first 02:00 (CEST); the repeated 02:00 CET does not fire again
      '2026-10-26T01:00:00.000Z', // 02:00 CET (UTC+1)
      '2026-10-27T01:00:00.000Z',
    ]);
  });

  test('Europe/Warsaw fall back: hourly :30 fires for both 02:30s, one hour apart', () => {
    const times = nextRestartTimes(cronSchedule('30 * * * *'), { now: new Date('2026-10-24T23:00:00.000Z'), lastRestart: null, count: 4 });
    assert.deepEqual(iso(times), [
      '2026-10-24T23:30:00.000Z', // 01:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:30:00.000Z', // 02:30 CET
      '2026-10-25T02:30:00.000Z', // 03:30 CET
    ]);
  });

  test('timezone null uses the machine zone', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      const times = nextRestartTimes(cronSchedule('0 2 * * *', null), { now: new Date('2026-05-01T00:00:00.000Z'), lastRestart: null, count: 1 });
      assert.deepEqual(iso(times), ['2026-05-01T20:30:00.000Z']); // 02:00 IST (UTC+5:30) on May 2
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('nextRestartTime', () => {
  test('null when disabled', () => {
    assert.equal(nextRestartTime({ ...intervalSchedule(60_000), enabled: false }, new Date(), null), null);
  });

  test('the first of nextRestartTimes when enabled', () => {
    const next = nextRestartTime(cronSchedule('0 2 * * *'), new Date('2026-03-28T12:00:00.000Z'), null);
    assert.equal(next?.toISOString(), '2026-03-29T01:00:00.000Z');
  });
});
