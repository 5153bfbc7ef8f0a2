/** Signalling by pid and group, and stopping a tree where /proc does not exist (the tree-kill fallback). */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { findExecutable } from './executable.ts';
import type { StopTreeOptions, StopTreeResult } from './stop-types.ts';

/** false when the target is gone (ESRCH) or not ours to signal (EPERM). */
export function sendSignal(target: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw error;
  }
}

/**
 * Signals the group -rootPid (pass it only when that group is known to be ours), then each pid.
 * Returns how many pids were signalled.
 */
export function signalTree(pids: number[], signal: NodeJS.Signals | number, rootPid?: number): number {
  if (rootPid !== undefined && rootPid > 1 && rootPid !== process.pid) sendSignal(-rootPid, signal);
  let signalled = 0;
  for (const pid of pids) if (pid > 1 && pid !== process.pid && sendSignal(pid, signal)) signalled++;
  return signalled;
}


/** kill(0) probe of the root and its group; EPERM means it exists. */
function rootOrGroupExists(pid: number): boolean {
  for (const target of [pid, -pid]) {
    try {
      process.kill(target, 0);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') return true;
    }
  }
  return false;
}

/** tree-kill walks children with ps (pgrep on macOS) and crashes the process where that command is missing. */
async function treeKillIfPossible(pid: number, signal: NodeJS.Signals): Promise<void> {
  const lister = process.platform === 'darwin' ? 'pgrep' : 'ps';
  if (findExecutable(lister) === null) return;
  const { default: treeKill } = await import('tree-kill');
  await new Promise<void>((resolve) => treeKill(pid, signal, () => resolve()));
}

async function waitUntilGone(pid: number, deadline: number, pollMs: number): Promise<boolean> {
  for (;;) {
    if (!rootOrGroupExists(pid)) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await delay(Math.min(pollMs, left));
  }
}

/** Without /proc: weaker (re-parented and setsid'd members escape, zombies look alive), but portable. */
export async function stopTreeWithoutProc(options: StopTreeOptions, timing: { pollMs: number; killWaitMs: number }): Promise<StopTreeResult> {
  const started = performance.now();
  const { pollMs, killWaitMs } = timing;
  const result = (forced: boolean, gone: boolean, signalled: number): StopTreeResult => ({ forced, survivors: gone ? [] : [options.pid], durationMs: performance.now() - started, signalled });
  if (options.pid <= 1 || !rootOrGroupExists(options.pid)) return result(false, true, 0);

  await treeKillIfPossible(options.pid, options.signal);
  signalTree([options.pid], options.signal, options.pid);
  if (await waitUntilGone(options.pid, started + options.timeoutMs, pollMs)) return result(false, true, 1);

  options.onEscalate?.();
  await treeKillIfPossible(options.pid, 'SIGKILL');
  signalTree([options.pid], 'SIGKILL', options.pid);
  const gone = await waitUntilGone(options.pid, performance.now() + killWaitMs, pollMs);
  return result(true, gone, 1);
}
