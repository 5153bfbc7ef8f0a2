/** Durations and sizes as users write them in the config, the CLI and the environment. */

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

export const DURATION_EXPECTATION = 'expected a duration such as 5, "500ms" or "2m"';

const DAY_MS = 86_400_000;
/**
 * The longest duration of a key that arms one timer (timeouts, polls, debounces): setTimeout fires at once for more
 * than 2^31-1 ms (~24.8 days), so such values are refused at config check rather than ever firing early.
 */
export const MAX_TIMER_DURATION_MS = 24 * DAY_MS;
/** The longest of any other duration (waits re-armed in steps: restart_sec, restart_cooldown, schedule.interval). */
export const MAX_DURATION_MS = 3650 * DAY_MS;

/** Why `ms` is too long for a key whose maximum is `maxMs`, or null when it is not. */
export function durationMaximumProblem(ms: number, maxMs: number): string | null {
  if (ms <= maxMs) return null;
  const why = maxMs === MAX_TIMER_DURATION_MS ? ' (a single timer cannot wait longer than ~24.8 days)' : '';
  return `expected a duration of at most ${msToDuration(maxMs)}${why}`;
}
export const SIZE_EXPECTATION = 'expected a size such as 1048576, "10KB", "10MB" or "1GB"';

/** A number is seconds; a string is a number followed by ms|s|m|h|d (several parts allowed: "1h30m"). Returns ms, or undefined when unparseable. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number.isFinite(Number(text) * 1000) ? Math.round(Number(text) * 1000) : undefined;
  const parts = text.match(/^(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*)+$/);
  if (!parts) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g)) total += Number(amount) * DURATION_UNITS_MS[unit!]!;
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** Bytes, or "10KB"/"10MB"/"1GB" (1024-based). Returns bytes, or undefined when unparseable. */
export function parseSizeBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = value.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * SIZE_UNITS[match[2] ?? 'b']!);
}

/** "5h 12m", "3m 4s", "12s": for humans, coarse on purpose. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(totalSeconds / 86400);
  const hours = Math.floor((totalSeconds % 86400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

/** "8.2GB", "512MB": for humans. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${unit === 0 ? value : value.toFixed(1).replace(/\.0$/, '')}${units[unit]}`;
}

/** 5000 → "5s", 1500 → "1500ms", 5400000 → "1h30m". */
export function msToDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 1000 !== 0) return `${ms}ms`;
  let seconds = ms / 1000;
  let text = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (seconds >= size) {
      text += `${Math.floor(seconds / size)}${unit}`;
      seconds %= size;
    }
  }
  return text;
}
