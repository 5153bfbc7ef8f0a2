/** The restart decision: a pure function of (exit, policy, history, now). No I/O. */
import type { ExitResult, ProcessExit, RestartPolicy, ServiceConfig } from '../core/types.ts';

/** A shell reports a child killed by signal N as exit code 128+N. */
const SHELL_SIGNAL_EXIT_BASE = 128;

export function classifyExit(exit: ProcessExit): ExitResult {
  if (exit.signal) return 'signal';
  if (exit.code === 0) return 'success';
  if (exit.code !== null && exit.code > SHELL_SIGNAL_EXIT_BASE) return 'exit-signal-code';
  return 'exit-code';
}

/** "exit code 1", "killed by SIGSEGV". */
export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
}

/** The policy table of the issue, one cell per (policy, result). */
export function policyRestarts(policy: RestartPolicy, result: ExitResult): boolean {
  switch (policy) {
    case 'no':
      return false;
    case 'on-failure':
      return result !== 'success';
    case 'on-abnormal':
      return result === 'signal' || result === 'exit-signal-code';
    case 'always':
      return true;
    default: {
      const exhaustive: never = policy;
      return exhaustive;
    }
  }
}

export interface RestartHistory {
  /** Times (ms) of automatic restarts, oldest first; only those inside the window matter. */
  restartTimes: number[];
  /** Crashes in a row, each after less than min_uptime of running. */
  consecutiveFailures: number;
}

export const EMPTY_HISTORY: RestartHistory = { restartTimes: [], consecutiveFailures: 0 };

export type RestartPolicyConfig = Pick<ServiceConfig,
  'restart' | 'restartSecMs' | 'restartMax' | 'restartWindowMs' | 'restartBackoff' | 'restartSecMaxMs' | 'minUptimeMs'>
  & Partial<Pick<ServiceConfig, 'successExitCodes' | 'restartExitCodes'>>;

export type RestartDecision =
  | { action: 'restart'; delayMs: number; attempt: number; reason: string; history: RestartHistory }
  | { action: 'give-up'; reason: string; history: RestartHistory }
  | { action: 'none'; finalState: 'stopped' | 'exited' | 'failed'; reason: string; history: RestartHistory };

export interface DecisionInput {
  exit: ProcessExit;
  policy: RestartPolicyConfig;
  history: RestartHistory;
  /** How long the process ran. */
  uptimeMs: number;
  /** Set when a user or the supervisor asked for the stop: never a crash, never an automatic restart. */
  manualStop: string | null;
  now: number;
}

/**
 * Ordered like systemd's service_shall_restart: manual stop → restart_exit_codes (RestartForceExitStatus) →
 * success_exit_codes (SuccessExitStatus) → policy table → start limit → delay.
 */
export function decideRestart(input: DecisionInput): RestartDecision {
  const { exit, policy, now } = input;
  if (input.manualStop !== null) return { action: 'none', finalState: 'stopped', reason: input.manualStop, history: input.history };
  const history = nextHistory(input.history, input.uptimeMs, policy.minUptimeMs, now, policy.restartWindowMs);
  const code = exit.signal === null ? exit.code : null;
  if (code !== null && (policy.restartExitCodes ?? []).includes(code)) {
    return restartWithinLimit(history, policy, now, input.uptimeMs, `${describeExit(exit)} (in restart_exit_codes)`);
  }
  const result = code !== null && (policy.successExitCodes ?? []).includes(code) ? 'success' : classifyExit(exit);
  const finalState = result === 'success' ? 'exited' : 'failed';
  if (!policyRestarts(policy.restart, result)) {
    return { action: 'none', finalState, reason: `${describeExit(exit)}, restart policy ${policy.restart}`, history };
  }
  return restartWithinLimit(history, policy, now, input.uptimeMs, describeExit(exit));
}

/**
 * A running service the supervisor found failing without exiting (health check, memory limit): it is stopped and
 * restarted whatever the policy, and the restart counts like a crash restart (restart_max/window, backoff, gave_up).
 */
export function decideFailureRestart(input: { policy: RestartPolicyConfig; history: RestartHistory; uptimeMs: number; reason: string; now: number }): RestartDecision {
  const history = nextHistory(input.history, input.uptimeMs, input.policy.minUptimeMs, input.now, input.policy.restartWindowMs);
  return restartWithinLimit(history, input.policy, input.now, input.uptimeMs, input.reason);
}

function restartWithinLimit(history: RestartHistory, policy: RestartPolicyConfig, now: number, uptimeMs: number, reason: string): RestartDecision {
  const limit = checkRestartLimit(history.restartTimes, now, policy.restartMax, policy.restartWindowMs);
  if (limit.hit) return { action: 'give-up', reason: limit.reason, history };
  return {
    action: 'restart',
    delayMs: withCrashLoopFloor(restartDelayMs(history.consecutiveFailures, policy), uptimeMs, policy.minUptimeMs),
    attempt: history.restartTimes.length + 1,
    reason,
    history: { ...history, restartTimes: [...history.restartTimes, now] },
  };
}

function nextHistory(history: RestartHistory, uptimeMs: number, minUptimeMs: number, now: number, windowMs: number): RestartHistory {
  const stable = uptimeMs >= minUptimeMs;
  return {
    restartTimes: history.restartTimes.filter((time) => now - time < windowMs),
    consecutiveFailures: stable ? 1 : history.consecutiveFailures + 1,
  };
}

/** Sliding window: `max` automatic restarts within `windowMs`; 0 = unlimited. */
export function checkRestartLimit(restartTimes: number[], now: number, max: number, windowMs: number): { hit: boolean; reason: string } {
  if (max === 0) return { hit: false, reason: '' };
  const recent = restartTimes.filter((time) => now - time < windowMs);
  if (recent.length < max) return { hit: false, reason: '' };
  return { hit: true, reason: `restart limit ${max} in ${formatSeconds(windowMs)} reached` };
}

/** Exponential backoff never starts below this: doubling 0 stays 0, and a crash loop would spin at full speed. */
export const EXPONENTIAL_BACKOFF_FLOOR_MS = 100;

/**
 * Fixed: restart_sec. Exponential: restart_sec (at least {@link EXPONENTIAL_BACKOFF_FLOOR_MS}) doubled per consecutive
 * failure, capped at restart_sec_max.
 */
export function restartDelayMs(consecutiveFailures: number, policy: Pick<RestartPolicyConfig, 'restartSecMs' | 'restartBackoff' | 'restartSecMaxMs'>): number {
  if (policy.restartBackoff === 'fixed') return policy.restartSecMs;
  const doublings = Math.max(0, consecutiveFailures - 1);
  const base = Math.max(policy.restartSecMs, EXPONENTIAL_BACKOFF_FLOOR_MS);
  return Math.min(base * 2 ** Math.min(doublings, 30), Math.max(policy.restartSecMaxMs, base));
}

/** systemd's default RestartSec: the least time between restarts of runs that ended before min_uptime. */
export const CRASH_LOOP_FLOOR_MS = 100;

/**
 * A run shorter than min_uptime is a crash loop: at least CRASH_LOOP_FLOOR_MS before the next start, even with
 * `restart_sec: 0` (one such service took 76 % of a core restarting 230 times a second). The first restart after a
 * run of min_uptime or longer keeps the configured delay, 0 included.
 */
export function withCrashLoopFloor(delayMs: number, uptimeMs: number, minUptimeMs: number): number {
  return uptimeMs < minUptimeMs ? Math.max(delayMs, CRASH_LOOP_FLOOR_MS) : delayMs;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
