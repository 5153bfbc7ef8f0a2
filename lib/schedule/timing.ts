/** When the scheduled restarts fire: interval or cron. Pure: every function takes `now` as an argument. */
import { createRequire } from 'node:module';
import type { CronExpressionParser as CronParser } from 'cron-parser';

/**
 * cron-parser (with luxon) costs the long-running supervisor ~8 MB of memory: load it, synchronously, only when a
 * cron expression is actually used.
 */
function cronParser(): typeof CronParser {
  return (createRequire(import.meta.url)('cron-parser') as { CronExpressionParser: typeof CronParser }).CronExpressionParser;
}
import { ConfigError } from '../core/errors.ts';
import type { ScheduleConfig } from '../core/types.ts';

const CRON_FIELDS_EXPECTATION = 'expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first)';
/** The aliases cron-parser understands; it misreads any other `@word` (e.g. `@DAILY` as `@dai`). */
const CRON_ALIASES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@secondly', '@weekdays', '@weekends'];

/** Returns a one-line problem, or null when `tz` is an IANA time zone this Node knows. */
export function validateTimezone(tz: string): string | null {
  if (tz.trim() === '') return 'expected an IANA time zone such as "Europe/Warsaw" or "UTC", got an empty string';
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return null;
  } catch {
    return `unknown time zone "${tz}" (expected an IANA name such as "Europe/Warsaw" or "UTC")`;
  }
}

/** Returns a one-line problem, or null when `expr` is a cron expression with 5 or 6 fields (or a known @alias). */
export function validateCronExpression(expr: string): string | null {
  const text = expr.trim();
  if (text === '') return `${CRON_FIELDS_EXPECTATION}, got an empty expression`;
  if (text.startsWith('@')) {
    if (!CRON_ALIASES.includes(text)) return `unknown cron alias "${text}" (expected one of ${CRON_ALIASES.join('|')})`;
  } else {
    // cron-parser fills missing fields with `*` and reads a 7th as a year: both hide typos.
    const fields = text.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) return `${CRON_FIELDS_EXPECTATION}, got ${fields} field${fields === 1 ? '' : 's'} in "${text}"`;
  }
  try {
    // next() also catches expressions that parse but can never fire.
    cronParser().parse(text, { tz: 'UTC', currentDate: new Date(0) }).next();
    return null;
  } catch (error) {
    return `invalid cron expression "${text}": ${cronErrorText(error)}`;
  }
}

function cronErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

export interface NextRestartOptions {
  now: Date;
  /** The last scheduled restart, or the supervisor's start; null = count from `now`. */
  lastRestart: Date | null;
  count: number;
}

/**
 * The next `count` restart times, ascending.
 * Interval mode counts from `lastRestart` without skipping: a time already in the past is an overdue
 * restart (the supervisor was down or busy), which the caller runs at once.
 * Cron mode gives the fire times strictly after `now`, in `schedule.timezone` (null = the machine's zone).
 */
export function nextRestartTimes(schedule: ScheduleConfig, options: NextRestartOptions): Date[] {
  const count = Math.max(0, Math.floor(options.count));
  if (count === 0) return [];
  if (schedule.mode === 'interval') return intervalTimes(schedule.intervalMs, options.lastRestart ?? options.now, count);
  return cronTimes(schedule, options.now, count);
}

/** The next restart, or null when scheduled restarts are off. */
export function nextRestartTime(schedule: ScheduleConfig, now: Date, lastRestart: Date | null): Date | null {
  if (!schedule.enabled) return null;
  return nextRestartTimes(schedule, { now, lastRestart, count: 1 })[0] ?? null;
}

function intervalTimes(intervalMs: number, from: Date, count: number): Date[] {
  // A zero interval would restart in a loop; config validation rejects it, this is the backstop.
  if (!(intervalMs > 0)) return [];
  return Array.from({ length: count }, (_, k) => new Date(from.getTime() + (k + 1) * intervalMs));
}

function cronTimes(schedule: ScheduleConfig, now: Date, count: number): Date[] {
  if (schedule.cron === null) return [];
  const problem = validateCronExpression(schedule.cron) ?? (schedule.timezone === null ? null : validateTimezone(schedule.timezone));
  if (problem) throw new ConfigError([`schedule: ${problem}`]);
  const expression = cronParser().parse(schedule.cron.trim(), {
    currentDate: now,
    ...(schedule.timezone === null ? {} : { tz: schedule.timezone }),
  });
  const times: Date[] = [];
  for (const date of expression.take(count)) times.push(date.toDate());
  return times;
}
