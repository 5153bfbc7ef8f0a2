/**
 * Restarts of one service asked for by reload, watch or schedule: serialised through the service's queue,
 * coalesced while one is pending, and deferred until the service's own wait_idle says it is idle.
 */
import { waitUntilIdle } from '../schedule/hooks.ts';
import type { Service } from './service.ts';
import type { EventRecord } from '../core/types.ts';

export interface RestartRequestContext {
  record: (event: Omit<EventRecord, 'time'>) => void;
  changed: () => void;
  hookTimeoutMs: number;
  signal: AbortSignal;
}

/** Resolves when the restart is done. A second request while one is pending joins it: one restart serves both. */
export function requestRestart(service: Service, reason: string, context: RestartRequestContext): Promise<void> {
  const existing = service.restartRequest;
  if (existing) {
    service.pendingRestart = `${service.pendingRestart ?? reason}; ${reason}`.slice(0, 200);
    context.changed();
    return existing;
  }
  service.pendingRestart = reason;
  context.changed();
  // A start after this request (user restart, crash restart, schedule) already runs the new definition
  const startsAtRequest = service.starts;
  const signal = AbortSignal.any([context.signal, service.disposed]);
  let run: Promise<void> | null = null;
  run = (async () => {
    await Promise.resolve(); // let `service.restartRequest` be set before anything below reads it
    try {
      const waitIdle = service.config.waitIdle;
      if (waitIdle && service.isActive()) {
        const result = await waitUntilIdle(waitIdle, { cwd: service.config.cwd, timeoutMs: context.hookTimeoutMs, signal });
        if (signal.aborted) return;
        context.record({
          event: 'idle_wait', service: service.name, idle: result.idle, waited_s: Math.round(result.waitedMs / 100) / 10, checks: result.checks,
          reason: result.idle ? 'service idle' : `still busy after max_wait ${waitIdle.maxWaitMs / 1000}s: restarting anyway`,
        });
      }
      if (signal.aborted) return;
      const why = service.pendingRestart ?? reason;
      await service.enqueue(async () => {
        service.restartRequest = null;
        service.pendingRestart = null;
        // Removed from the config, stopped by the user, or restarted meanwhile: nothing left to do
        if (signal.aborted || service.state === 'stopped' || service.starts !== startsAtRequest) return;
        await service.stop(why);
        if (signal.aborted) return; // shutdown (or removal) arrived during the stop: start nothing
        await service.start('user', why);
      });
    } finally {
      if (service.restartRequest === run) service.restartRequest = null;
      if (service.pendingRestart === reason) service.pendingRestart = null;
      context.changed();
    }
  })();
  service.restartRequest = run;
  return run;
}
