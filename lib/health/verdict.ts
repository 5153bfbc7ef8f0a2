/** Health of one run of a service from its probe results: a pure function of (state, result, config, now). */
import type { HealthConfig, HealthStatus } from '../core/types.ts';

export interface HealthState {
  status: HealthStatus['status'];
  /** Consecutive failures that counted. */
  failures: number;
  /** Some probe of this run has passed: start_period is over. */
  passedOnce: boolean;
  /** When this run started (ms). */
  startedAt: number;
  lastCheck: number | null;
  lastError: string | null;
  latencyMs: number | null;
  /** The last change recorded as an event, across runs: `healthy` after a restart only follows an `unhealthy`. */
  recorded: 'healthy' | 'unhealthy' | null;
}

export interface Check {
  ok: boolean;
  error: string | null;
  latencyMs: number | null;
}

export type Transition = 'healthy' | 'unhealthy' | null;

/** A new run starts in `starting`; what was last recorded carries over from the previous run. */
export function newRun(startedAt: number, previous: HealthState | null): HealthState {
  return {
    status: 'starting', failures: 0, passedOnce: false, startedAt,
    lastCheck: null, lastError: null, latencyMs: null, recorded: previous?.recorded ?? null,
  };
}

/**
 * One probe result. Failures count once a probe of this run has passed or start_period is over; `failures` of them
 * in a row make the run unhealthy. Each change between healthy and unhealthy is a transition exactly once.
 */
export function applyCheck(state: HealthState, check: Check, config: Pick<HealthConfig, 'failures' | 'startPeriodMs'>, now: number): { state: HealthState; transition: Transition } {
  const base = { ...state, lastCheck: now, latencyMs: check.latencyMs };
  if (check.ok) {
    const next: HealthState = { ...base, status: 'healthy', failures: 0, passedOnce: true, lastError: null };
    if (state.recorded === 'unhealthy') return { state: { ...next, recorded: 'healthy' }, transition: 'healthy' };
    return { state: next, transition: null };
  }
  const inStartPeriod = !state.passedOnce && now - state.startedAt < config.startPeriodMs;
  if (inStartPeriod) return { state: { ...base, lastError: check.error }, transition: null };
  const failures = state.failures + 1;
  const next: HealthState = { ...base, failures, lastError: check.error };
  if (state.status === 'unhealthy' || failures < config.failures) return { state: next, transition: null };
  return { state: { ...next, status: 'unhealthy', recorded: 'unhealthy' }, transition: 'unhealthy' };
}

/** output_silence: no line for that long makes the run unhealthy at once, whatever the count. */
export function applySilence(state: HealthState, silenceMs: number, now: number): { state: HealthState; transition: Transition } {
  const error = `no output for ${formatSilence(silenceMs)}`;
  const next: HealthState = { ...state, lastCheck: now, lastError: error, failures: state.failures + 1 };
  if (state.status === 'unhealthy') return { state: next, transition: null };
  return { state: { ...next, status: 'unhealthy', recorded: 'unhealthy' }, transition: 'unhealthy' };
}

/** Whether the run has been silent for output_silence: silence counts from the later of its start and its last line. */
export function silentFor(startedAt: number, lastOutputAt: number | null, now: number): number {
  return now - Math.max(startedAt, lastOutputAt ?? 0);
}

function formatSilence(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function toStatus(state: HealthState): HealthStatus {
  return {
    status: state.status,
    failures: state.failures,
    last_check: state.lastCheck === null ? null : new Date(state.lastCheck).toISOString(),
    last_error: state.lastError,
    latency_ms: state.latencyMs,
  };
}
