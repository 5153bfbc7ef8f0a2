/**
 * Why a service was restarted, in the metric's words (crash, schedule, watch, reload, manual, health, memory),
 * read from the event stream. A restart is a `started` that is not a first start; its `reason` names the cause.
 * Health and memory restarts are announced before the start (unhealthy, memory_limit): the cause waits for it.
 */
import type { EventRecord } from '../core/types.ts';

export const RESTART_REASONS = ['crash', 'schedule', 'watch', 'reload', 'manual', 'health', 'memory'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** Events that announce a restart to come, and its cause. */
const ANNOUNCED: Record<string, RestartReason> = {
  unhealthy: 'health',
  memory_limit: 'memory',
  gpu_memory_limit: 'memory',
};

/** `started` reasons (set in lib/supervisor/, lib/schedule/, lib/reload/), first match wins. */
const START_REASONS: Array<[RegExp, RestartReason | null]> = [
  [/^(supervisor|user) start$/, null],
  [/health|unhealthy|probe/i, 'health'],
  [/memory/i, 'memory'],
  [/^(automatic restart|cool-down retry)$/, 'crash'],
  [/^scheduled restart$/, 'schedule'],
  [/^user (restart|force-restart)/, 'manual'],
  [/^watched files changed/, 'watch'],
  [/^config changed/, 'reload'],
];

/** The cause of a `started` with this reason; `announced` is what an earlier event said; null: not a restart. */
export function restartReasonOfStart(reason: string, announced: RestartReason | undefined): RestartReason | null {
  for (const [pattern, cause] of START_REASONS) {
    if (!pattern.test(reason)) continue;
    // An automatic restart after a health or memory stop is that restart, not a crash
    return cause === 'crash' && announced ? announced : cause;
  }
  // A start we cannot place but that follows an announcement is that restart; anything else a person asked for
  return announced ?? 'manual';
}

/** Follows the stream; `observe` returns the restart's cause when the event is a restart. */
export class RestartCauses {
  private readonly announced = new Map<string, RestartReason>();

  observe(event: EventRecord): RestartReason | null {
    const service = event.service;
    if (service === undefined) return null;
    const cause = ANNOUNCED[event.event];
    if (cause) {
      this.announced.set(service, cause);
      return null;
    }
    // A health check that passes again before any restart (on_unhealthy: none) announced nothing
    if (event.event === 'healthy' && this.announced.get(service) === 'health') this.announced.delete(service);
    if (event.event !== 'started') return null;
    const announced = this.announced.get(service);
    this.announced.delete(service);
    return restartReasonOfStart(typeof event.reason === 'string' ? event.reason : '', announced);
  }
}
