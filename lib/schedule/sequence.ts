/** A restart, scheduled or forced, is one sequence: snapshot → idle wait → hooks → stop → hooks → GPU cleanup → hooks → start. */
import { dirname } from 'node:path';
import { hasNvidiaSmi, gpuCleanup } from './gpu.ts';
import { runHooks, waitUntilIdle, type HookResult } from './hooks.ts';
import { stateDirHash } from '../config/paths.ts';
import { readEnvVar } from '../process/proc.ts';
import type { Service } from '../supervisor/service.ts';
import { dependencyGraph, startInOrder, stopInOrder } from '../supervisor/ordered.ts';
import type { ReadyOutcome } from '../readiness/wait.ts';
import { systemSnapshot } from '../process/system.ts';
import { MARKER_ENV } from '../process/tree.ts';
import type { Config, EventRecord } from '../core/types.ts';

export type RestartKind = 'scheduled' | 'force';

export interface SequenceContext {
  config: Config;
  /** The services this sequence restarts, in config order. */
  services: Service[];
  record: (event: Omit<EventRecord, 'time'>) => void;
  /** The next scheduled restart as it will be once this one completes. */
  nextRestart: () => Date | null;
  /** Issue 11: every service by name (dependencies outside this sequence count as they are). */
  allServices?: ReadonlyMap<string, Service>;
  /** Issue 11: each restarted service's readiness outcome. */
  onReady?: (service: Service, outcome: ReadyOutcome) => void;
  /** Called between stop and start (log rotation on restart). */
  betweenStopAndStart?: () => Promise<void>;
}

export interface SequenceOptions {
  kind: RestartKind;
  waitIdle: boolean;
  /** Supervisor shutdown: stop waiting, start nothing. */
  signal?: AbortSignal;
}

export async function runRestartSequence(context: SequenceContext, options: SequenceOptions): Promise<Record<string, number>> {
  const { config, record } = context;
  const cwd = dirname(config.file);
  const durations: Record<string, number> = {};
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      durations[name] = Date.now() - started;
    }
  };
  const names = context.services.map((service) => service.name);
  const useGpu = config.gpu.cleanup === 'auto' && (await hasNvidiaSmi());

  // 1. what the machine looked like before
  const system = await step('snapshot', () => systemSnapshot(config.stateDir, { nvidiaSmi: useGpu }));
  record({
    event: options.kind === 'scheduled' ? 'scheduled_restart' : 'force_restart',
    services: names, system, next_restart: context.nextRestart()?.toISOString() ?? null,
    reason: options.kind === 'scheduled' ? 'schedule' : 'user force-restart',
  });

  // 2. never cut off a job that is half done
  const waitIdleConfig = config.schedule?.waitIdle ?? null;
  if (options.waitIdle && waitIdleConfig) {
    const result = await step('wait_idle', () => waitUntilIdle(waitIdleConfig, { cwd, timeoutMs: config.hooks.timeoutMs, signal: options.signal }));
    record({
      event: 'idle_wait', idle: result.idle, waited_s: Math.round(result.waitedMs / 100) / 10, checks: result.checks,
      reason: result.idle ? 'services idle' : `still busy after max_wait ${waitIdleConfig.maxWaitMs / 1000}s: restarting anyway`,
    });
  }

  const hooks = (stage: string, commands: string[]) => step(stage, async () => {
    reportHookFailures(stage, await runHooks(commands, { cwd, timeoutMs: config.hooks.timeoutMs }), record);
  });
  const stopReason = options.kind === 'scheduled' ? 'scheduled restart' : 'user force-restart';

  // The list was taken before the hooks and wait_idle, which may last minutes: each step re-checks every service.
  // A service the user stopped stays stopped: a restart refreshes what runs, it does not undo a decision.
  const stillOurs = (service: Service) => !service.disposed.aborted && !options.signal?.aborted;
  const toStart = new Map<Service, number>();
  await hooks('pre_restart', config.hooks.preRestart);
  // Issue 11: stops in reverse dependency order, starts in dependency order, then waits for readiness
  const graph = dependencyGraph(context.allServices?.values() ?? context.services);
  await step('stop', () => stopInOrder(context.services.filter(stillOurs), graph, (service) => service.enqueue(async () => {
    if (!stillOurs(service)) return;
    const wanted = service.state !== 'stopped';
    await service.stop(stopReason);
    // Our own stop is counted; any later one (a user's `stop`) means "leave it down"
    if (wanted) toStart.set(service, service.stops);
  })));
  await hooks('post_stop', config.hooks.postStop);
  if (useGpu) await step('gpu_cleanup', () => cleanGpu(config, names, record));
  if (context.betweenStopAndStart) await step('rotate_logs', context.betweenStopAndStart);
  if (options.signal?.aborted) return durations;
  await hooks('pre_start', config.hooks.preStart);
  const all = context.allServices ?? new Map(context.services.map((service) => [service.name, service]));
  await step('start', () => startInOrder([...toStart.keys()], all, (service) => service.enqueue(async () => {
    // Removed by a reload, stopped by the user, or the supervisor is shutting down: start nothing
    if (!stillOurs(service) || service.stops !== toStart.get(service)) return;
    await service.start('user', stopReason);
  })).done);
  await step('ready', async () => {
    const outcomes = await Promise.all([...toStart.keys()].map((service) => service.readiness.whenReady()));
    [...toStart.keys()].forEach((service, index) => context.onReady?.(service, outcomes[index]!));
  });
  return durations;
}

function reportHookFailures(stage: string, results: HookResult[], record: SequenceContext['record']): void {
  for (const result of results) {
    if (result.ok) continue;
    const why = result.timedOut ? `timed out after ${Math.round(result.durationMs)} ms` : result.signal ? `killed by ${result.signal}` : `exit code ${result.code}`;
    record({ event: 'hook_failed', stage, hook: result.command, code: result.code, reason: why, output: result.output.slice(-500) });
  }
}

/**
 * Ours to kill: processes of the services this sequence restarted, and orphans of ours that belong to no configured
 * service (a removed one). Never those of a running service the sequence did not touch.
 */
async function cleanGpu(config: Config, restarted: string[], record: SequenceContext['record']): Promise<void> {
  const prefix = `${stateDirHash(config.stateDir)}/`;
  const untouched = new Set(config.services.map((service) => service.name).filter((name) => !restarted.includes(name)));
  const result = await gpuCleanup({
    ourPids: (pid) => {
      const marker = readEnvVar(pid, MARKER_ENV);
      return marker !== null && marker.startsWith(prefix) && !untouched.has(marker.slice(prefix.length));
    },
    resetCommand: config.gpu.resetCommand,
    maxUsedMb: config.gpu.maxUsedMb,
    cwd: dirname(config.file),
    timeoutMs: config.hooks.timeoutMs,
  });
  record({
    event: 'gpu_cleanup', before: result.before, after: result.after, killed: result.killed, reset: result.reset, leak: result.leak,
    reason: result.leak ? `GPU memory still above ${config.gpu.maxUsedMb} MB after cleanup` : 'GPU memory released',
  });
}
