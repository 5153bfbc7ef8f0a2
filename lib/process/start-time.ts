/** Wall-clock start time of a process, from /proc/stat's btime and the process's start ticks. */
import { readFileSync } from 'node:fs';
import { procStartTime } from './proc.ts';

/** USER_HZ is 100 on every Linux we run on. */
const CLOCK_TICKS_PER_SECOND = 100;

function bootTimeMs(): number | null {
  try {
    const match = readFileSync('/proc/stat', 'utf8').match(/^btime\s+(\d+)/m);
    return match ? Number(match[1]) * 1000 : null;
  } catch {
    return null;
  }
}

export function processStartedAtMs(pid: number): number | null {
  const ticks = procStartTime(pid);
  const boot = bootTimeMs();
  return ticks === null || boot === null ? null : boot + (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}
