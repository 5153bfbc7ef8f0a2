/** success_exit_codes and restart_exit_codes in the pure restart decision: every new cell, in systemd's order. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_HISTORY, decideFailureRestart, decideRestart, type RestartHistory, type RestartPolicyConfig } from '../../lib/supervisor/policy.ts';
import type { ProcessExit, RestartPolicy } from '../../lib/core/types.ts';

const NOW = 1_000_000_000;
const POLICIES = ['no', 'on-failure', 'on-abnormal', 'always'] as const;
const exitCode = (code: number): ProcessExit => ({ code, signal: null });
const killedBy = (signal: NodeJS.Signals): ProcessExit => ({ code: null, signal });

function policy(restart: RestartPolicy, overrides: Partial<RestartPolicyConfig> = {}): RestartPolicyConfig {
  return {
    restart, restartSecMs: 5_000, restartMax: 0, restartWindowMs: 60_000, restartBackoff: 'fixed', restartSecMaxMs: 300_000, minUptimeMs: 10_000,
    successExitCodes: [130, 143], restartExitCodes: [75], ...overrides,
  };
}

function decide(exit: ProcessExit, restart: RestartPolicy, extra: { manualStop?: string | null; history?: RestartHistory; overrides?: Partial<RestartPolicyConfig> } = {}) {
  return decideRestart({ exit, policy: policy(restart, extra.overrides), history: extra.history ?? EMPTY_HISTORY, uptimeMs: 1_000, manualStop: extra.manualStop ?? null, now: NOW });
}

/** (exit, policy) → restart?, and the final state when not. */
const CELLS: Array<{ what: string; exit: ProcessExit; restarts: Record<RestartPolicy, boolean>; finalState: 'exited' | 'failed' }> = [
  // restart_exit_codes: always restarted, even under `restart: no`
  { what: 'exit 75 (restart_exit_codes)', exit: exitCode(75), restarts: { no: true, 'on-failure': true, 'on-abnormal': true, always: true }, finalState: 'failed' },
  // success_exit_codes: counts like exit 0
  { what: 'exit 130 (success_exit_codes)', exit: exitCode(130), restarts: { no: false, 'on-failure': false, 'on-abnormal': false, always: true }, finalState: 'exited' },
  { what: 'exit 143 (success_exit_codes)', exit: exitCode(143), restarts: { no: false, 'on-failure': false, 'on-abnormal': false, always: true }, finalState: 'exited' },
  // not listed: the policy table as before (143 would be exit-signal-code)
  { what: 'exit 1 (in neither list)', exit: exitCode(1), restarts: { no: false, 'on-failure': true, 'on-abnormal': false, always: true }, finalState: 'failed' },
  { what: 'exit 0 (in neither list)', exit: exitCode(0), restarts: { no: false, 'on-failure': false, 'on-abnormal': false, always: true }, finalState: 'exited' },
  // a signal is never an exit code: SIGTERM is not "143" here
  { what: 'killed by SIGTERM', exit: killedBy('SIGTERM'), restarts: { no: false, 'on-failure': true, 'on-abnormal': true, always: true }, finalState: 'failed' },
];

describe('decideRestart with exit-code lists: every cell', () => {
  for (const cell of CELLS) {
    for (const restart of POLICIES) {
      const expected = cell.restarts[restart];
      test(`${cell.what} × ${restart} → ${expected ? 'restart' : `no restart (${cell.finalState})`}`, () => {
        const decision = decide(cell.exit, restart);
        if (expected) {
          assert.equal(decision.action, 'restart');
          assert.ok(decision.action === 'restart');
          assert.equal(decision.attempt, 1);
          assert.deepEqual(decision.history.restartTimes, [NOW]);
        } else {
          assert.ok(decision.action === 'none');
          assert.equal(decision.finalState, cell.finalState);
        }
      });
    }
  }
});

describe('the order: manual stop → restart_exit_codes → success_exit_codes → policy table', () => {
  for (const restart of POLICIES) {
    test(`manual stop beats restart_exit_codes (${restart})`, () => {
      const decision = decide(exitCode(75), restart, { manualStop: 'user stop' });
      assert.ok(decision.action === 'none');
      assert.equal(decision.finalState, 'stopped');
    });
  }
  test('a code in both lists is restarted: restart_exit_codes comes first', () => {
    const decision = decide(exitCode(75), 'no', { overrides: { successExitCodes: [75], restartExitCodes: [75] } });
    assert.equal(decision.action, 'restart');
  });
  test('restart_exit_codes counts toward restart_max and can give up', () => {
    const history: RestartHistory = { restartTimes: [NOW - 3_000, NOW - 2_000], consecutiveFailures: 2 };
    const decision = decide(exitCode(75), 'no', { history, overrides: { restartMax: 2 } });
    assert.equal(decision.action, 'give-up');
    assert.equal(decision.reason, 'restart limit 2 in 60s reached');
  });
  test('restart_exit_codes follows the backoff', () => {
    const history: RestartHistory = { restartTimes: [NOW - 3_000], consecutiveFailures: 2 };
    const decision = decide(exitCode(75), 'no', { history, overrides: { restartBackoff: 'exponential', restartSecMs: 1_000 } });
    assert.ok(decision.action === 'restart');
    assert.equal(decision.delayMs, 4_000); // third quick failure: 1s doubled twice
    assert.equal(decision.attempt, 2);
  });
  test('empty lists change nothing: exit 75 under restart: no is not restarted', () => {
    const decision = decide(exitCode(75), 'no', { overrides: { successExitCodes: [], restartExitCodes: [] } });
    assert.ok(decision.action === 'none');
    assert.equal(decision.finalState, 'failed');
  });
});

describe('decideFailureRestart (health, memory): restarted whatever the policy, within the limit', () => {
  for (const restart of POLICIES) {
    test(`${restart} → restart, reason kept`, () => {
      const decision = decideFailureRestart({ policy: policy(restart), history: EMPTY_HISTORY, uptimeMs: 60_000, reason: 'unhealthy: http probe', now: NOW });
      assert.ok(decision.action === 'restart');
      assert.equal(decision.reason, 'unhealthy: http probe');
      assert.equal(decision.delayMs, 5_000);
      assert.deepEqual(decision.history.restartTimes, [NOW]);
    });
  }
  test('gives up at restart_max in the window', () => {
    const history: RestartHistory = { restartTimes: [NOW - 1_000], consecutiveFailures: 1 };
    const decision = decideFailureRestart({ policy: policy('always', { restartMax: 1 }), history, uptimeMs: 500, reason: 'x', now: NOW });
    assert.equal(decision.action, 'give-up');
  });
});
