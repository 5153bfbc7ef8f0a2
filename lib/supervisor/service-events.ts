/** The events a service records, built in one place so that each kind keeps one shape wherever it is emitted. */
import type { EventRecord, ProcessExit, ServiceConfig } from '../core/types.ts';
import { describeSurvivors, formatSurvivors } from '../process/survivors.ts';
import type { StopTreeResult } from '../process/tree.ts';
import { classifyExit } from './policy.ts';

export type ServiceEvent = Omit<EventRecord, 'time'>;

/** `exit` null: no process exit to report (the spawn failed, or the run was never ready). */
export function crashedEvent(config: ServiceConfig, exit: ProcessExit | null, willRestart: boolean, reason: string, givingUp = false): ServiceEvent {
  // giving_up: a gave_up follows, so buses that announce a final stop (NATS `stop`) wait for it
  return { event: 'crashed', service: config.name, exit_code: exit?.code ?? null, signal: exit?.signal ?? null, restart_policy: config.restart, will_restart: willRestart, reason, ...(givingUp ? { giving_up: true } : {}) };
}

/** A success for the policy (or one of success_exit_codes) is `exited`; any other end is `crashed`. */
export function exitEvent(config: ServiceConfig, exit: ProcessExit, willRestart: boolean, reason: string, givingUp: boolean): ServiceEvent {
  if (classifyExit(exit) === 'success' || (exit.code !== null && config.successExitCodes.includes(exit.code))) {
    return { event: 'exited', service: config.name, exit_code: exit.code, restart_policy: config.restart, will_restart: willRestart, reason };
  }
  return crashedEvent(config, exit, willRestart, reason, givingUp);
}

export function restartingEvent(config: ServiceConfig, attempt: number, delayMs: number, reason: string): ServiceEvent {
  return {
    event: 'restarting', service: config.name, restart_attempt: attempt,
    max_restarts: config.restartMax, delay_s: delayMs / 1000, reason,
  };
}

/** `retryAt` null: no cool-down is configured, the service stays failed until someone starts it. */
export function gaveUpEvent(service: string, reason: string, restarts: number, retryAt: number | null): ServiceEvent {
  const retry = retryAt === null ? {} : { retry_at: new Date(retryAt).toISOString() };
  return { event: 'gave_up', service, reason, restarts, ...retry };
}

/** Without `result` nothing had to be stopped; with it, verified gone or the survivors are named. */
export function stoppedEvent(service: string, reason: string, result?: StopTreeResult): ServiceEvent {
  if (!result) return { event: 'stopped', service, reason };
  const survivors = describeSurvivors(result.survivors);
  return {
    event: 'stopped', service, reason: survivors.length ? `${reason}; still alive after SIGKILL: ${formatSurvivors(survivors)}` : reason,
    forced: result.forced, stop_ms: Math.round(result.durationMs), survivors: survivors.length, ...(survivors.length ? { survivor_processes: survivors } : {}),
  };
}

export function supervisorErrorEvent(service: string, where: string, error: unknown): ServiceEvent {
  const message = error instanceof Error ? error.message : String(error);
  return { event: 'supervisor_error', service, where, message, stack: error instanceof Error ? (error.stack ?? '').slice(0, 4000) : '', reason: `${service}: ${where} failed: ${message}` };
}
