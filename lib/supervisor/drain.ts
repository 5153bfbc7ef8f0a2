/** Before a graceful stop that is not an emergency: ask the service to stop taking work, wait until idle, then stop. */
import { runHook, waitUntilIdle } from '../schedule/hooks.ts';
import type { DrainConfig, EventRecord, WaitIdleConfig } from '../core/types.ts';

export interface DrainOptions {
  service: string;
  drain: DrainConfig;
  waitIdle: WaitIdleConfig | null;
  /** The service's main process: it gets drain.signal. */
  pid: number | null;
  cwd: string;
  reason: string;
  emit: (event: Omit<EventRecord, 'time'>) => void;
}

/** Never throws and never blocks the stop on a failure: a failing drain is recorded, then the stop goes on. */
export async function drainService(options: DrainOptions): Promise<void> {
  const { drain, service, emit } = options;
  const started = Date.now();
  emit({ event: 'drain_started', service, ...(drain.signal ? { signal: drain.signal } : { command: drain.command }), reason: options.reason });
  let problem: string | null = null;
  if (drain.signal) {
    try {
      if (options.pid) process.kill(options.pid, drain.signal);
      else problem = 'no process to signal';
    } catch (error) {
      problem = `cannot send ${drain.signal}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    }
  } else if (drain.command) {
    const result = await runHook(drain.command, { cwd: options.cwd, timeoutMs: drain.timeoutMs });
    if (!result.ok) problem = `drain command ${result.timedOut ? `timed out after ${drain.timeoutMs} ms` : result.signal ? `killed by ${result.signal}` : `failed with exit code ${result.code}`}`;
  }
  let idle: boolean | null = null;
  if (options.waitIdle) idle = (await waitUntilIdle(options.waitIdle, { cwd: options.cwd, timeoutMs: drain.timeoutMs })).idle;
  emit({
    event: 'drained', service, duration_ms: Date.now() - started, ok: problem === null, idle,
    reason: problem ?? (idle === false ? 'still busy after wait_idle max_wait: stopping anyway' : 'drained'),
  });
}
