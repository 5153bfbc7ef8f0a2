/** Is the process named in a pid file alive, and is it the one that wrote the file? Kept light: `status` uses it. */
import { readFileSync, statSync } from 'node:fs';
import { isAlive } from './proc.ts';
import { processStartedAtMs } from './start-time.ts';

/** btime has 1 s resolution and moves with clock adjustments. */
const START_TIME_SLACK_MS = 5_000;

export function livePidFrom(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
    const started = processStartedAtMs(pid);
    // A process that started after the file was written cannot be its writer (a reused pid)
    if (started !== null && started > statSync(file).mtimeMs + START_TIME_SLACK_MS) return null;
    return pid;
  } catch {
    return null;
  }
}

export function runningSupervisorPid(pidFile: string): number | null {
  return livePidFrom(pidFile);
}
