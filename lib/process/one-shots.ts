/**
 * Short-lived commands the supervisor runs itself (hooks, idle checks, notify commands, GPU reset): tracked while
 * they run, so a shutdown stops them with their whole tree instead of leaving them behind.
 */
import type { ChildProcess } from 'node:child_process';
import { procStartTime } from './proc.ts';
import { stopTree } from './tree.ts';

/** A one-shot still running at shutdown gets this long after SIGTERM, then SIGKILL. */
const STOP_GRACE_MS = 1_000;
const KILL_WAIT_MS = 1_000;

const running = new Map<number, { startTime: number | null; what: string }>();

/** Tracks `child` until it exits. Call right after spawn. */
export function trackOneShot(child: ChildProcess, what: string): void {
  const pid = child.pid;
  if (pid === undefined) return;
  running.set(pid, { startTime: procStartTime(pid), what });
  child.once('exit', () => running.delete(pid));
}

export function runningOneShots(): { pid: number; what: string }[] {
  return [...running].map(([pid, { what }]) => ({ pid, what }));
}

/** Stops every tracked one-shot with its tree (group, session, descendants); resolves with what was stopped. */
export async function stopOneShots(): Promise<{ pid: number; what: string; survivors: number[] }[]> {
  const entries = [...running];
  running.clear();
  return Promise.all(entries.map(async ([pid, { startTime, what }]) => {
    const result = await stopTree({ pid, startTime, signal: 'SIGTERM', timeoutMs: STOP_GRACE_MS, killWaitMs: KILL_WAIT_MS });
    return { pid, what, survivors: result.survivors };
  }));
}
