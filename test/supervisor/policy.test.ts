import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CRASH_LOOP_FLOOR_MS, EMPTY_HISTORY, checkRestartLimit, classifyExit, decideRestart, describeExit, policyRestarts, restartDelayMs, withCrashLoopFloor,
  type DecisionInput, type RestartHistory, type RestartPolicyConfig,
} from '../../lib/supervisor/policy.ts';
import { type ProcessExit, type RestartPolicy } from '../../lib/core/types.ts';

const NOW = 1_000_000_000;
const WINDOW_MS = 60_000;

function policyConfig(restart: RestartPolicy, overrides: Partial<RestartPolicyConfig> = {}): RestartPolicyConfig {
  return {
    restart,
    restartSecMs: 5_000,
    restartMax: 0,
    restartWindowMs: WINDOW_MS,
    restartBackoff: 'fixed',
    restartSecMaxMs: 300_000,
    minUptimeMs: 10_000,
    ...overrides,
  };
}

function decide(exit: ProcessExit, restart: RestartPolicy, extra: Partial<DecisionInput> = {}) {
  return decideRestart({ exit, policy: policyConfig(restart), history: EMPTY_HISTORY, uptimeMs: 1_000, manualStop: null, now: NOW, ...extra });
}

const exitCode = (code: number): ProcessExit => ({ code, signal: null });
const killedBy = (signal: NodeJS.Signals): ProcessExit => ({ code: null, signal });

const POLICIES = ['no', 'on-failure', 'on-abnormal', 'always'] as const;

/** The table: how the service ended × policy → restart? */
const TABLE: Array<{ what: string; exit: ProcessExit; restarts: Record<RestartPolicy, boolean>; finalState: 'exited' | 'failed'; reason: string }> = [
  { what: 'exit 0', exit: exitCode(0), restarts: { no: false, 'on-failure': false, 'on-abnormal': false, always: true }, finalState: 'exited', reason: 'exit code 0' },
  { what: 'exit 1', exit: exitCode(1), restarts: { no: false, 'on-failure': true, 'on-abnormal': false, always: true }, finalState: 'failed', reason: 'exit code 1' },
  { what: 'exit 128', exit: exitCode(128), restarts: { no: false, 'on-failure': true, 'on-abnormal': false, always: true }, finalState: 'failed', reason: 'exit code 128' },
  { what: 'exit 137 (shell reporting SIGKILL)', exit: exitCode(137), restarts: { no: false, 'on-failure': true, 'on-abnormal': true, always: true }, finalState: 'failed', reason: 'exit code 137' },
  { what: 'exit 255', exit: exitCode(255), restarts: { no: false, 'on-failure': true, 'on-abnormal': true, always: true }, finalState: 'failed', reason: 'exit code 255' },
  { what: 'killed by SIGKILL', exit: killedBy('SIGKILL'), restarts: { no: false, 'on-failure': true, 'on-abnormal': true, always: true }, finalState: 'failed', reason: 'killed by SIGKILL' },
  { what: 'killed by SIGSEGV', exit: killedBy('SIGSEGV'), restarts: { no: false, 'on-failure': true, 'on-abnormal': true, always: true }, finalState: 'failed', reason: 'killed by SIGSEGV' },
];

describe('classifyExit', () => {
  test('success, exit-code (1..128), exit-signal-code (>128), signal', () => {
    assert.equal(classifyExit(exitCode(0)), 'success');
    assert.equal(classifyExit(exitCode(1)), 'exit-code');
    assert.equal(classifyExit(exitCode(128)), 'exit-code');
    assert.equal(classifyExit(exitCode(129)), 'exit-signal-code');
    assert.equal(classifyExit(exitCode(137)), 'exit-signal-code');
    assert.equal(classifyExit(killedBy('SIGKILL')), 'signal');
    assert.equal(classifyExit(killedBy('SIGSEGV')), 'signal');
    assert.equal(classifyExit(killedBy('SIGTERM')), 'signal');
  });

  test('describeExit names the cause in words', () => {
    assert.equal(describeExit(exitCode(1)), 'exit code 1');
    assert.equal(describeExit(killedBy('SIGSEGV')), 'killed by SIGSEGV');
  });
});

describe('decideRestart: every cell of the policy table', () => {
  for (const row of TABLE) {
    for (const policy of POLICIES) {
      const expected = row.restarts[policy];
      test(`${row.what} × ${policy} → ${expected ? 'restart' : 'no restart'}`, () => {
        assert.equal(policyRestarts(policy, classifyExit(row.exit)), expected);
        const decision = decide(row.exit, policy);
        if (expected) {
          assert.equal(decision.action, 'restart');
          assert.ok(decision.action === 'restart');
          assert.equal(decision.reason, row.reason);
          assert.equal(decision.delayMs, 5_000);
          assert.equal(decision.attempt, 1);
          assert.deepEqual(decision.history.restartTimes, [NOW]);
        } else {
          assert.equal(decision.action, 'none');
          assert.ok(decision.action === 'none');
          assert.equal(decision.finalState, row.finalState);
          assert.match(decision.reason, new RegExp(`^${row.reason}\\b`));
          assert.deepEqual(decision.history.restartTimes, []);
        }
      });
    }
  }

  for (const policy of POLICIES) {
    for (const row of TABLE) {
      test(`stopped on purpose (${row.what}) × ${policy} → never a restart, state stopped`, () => {
        const decision = decide(row.exit, policy, { manualStop: 'user stop' });
        assert.equal(decision.action, 'none');
        assert.ok(decision.action === 'none');
        assert.equal(decision.finalState, 'stopped');
        assert.equal(decision.reason, 'user stop');
      });
    }
    test(`stopped on purpose × ${policy} does not consume the restart budget`, () => {
      const history: RestartHistory = { restartTimes: [NOW - 1_000, NOW - 500], consecutiveFailures: 2 };
      const decision = decide(killedBy('SIGTERM'), policy, { manualStop: 'user force-restart', history });
      assert.deepEqual(decision.history, history);
    });
  }
});

describe('checkRestartLimit: sliding window', () => {
  test('restart_max 3 in 60 s: three restarts allowed, the fourth gives up', () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const now = NOW + i * 1_000;
      assert.equal(checkRestartLimit(times, now, 3, WINDOW_MS).hit, false, `restart ${i + 1}`);
      times.push(now);
    }
    const fourth = checkRestartLimit(times, NOW + 3_000, 3, WINDOW_MS);
    assert.equal(fourth.hit, true);
    assert.equal(fourth.reason, 'restart limit 3 in 60s reached');
  });

  test('a restart leaving the window frees a slot', () => {
    const times = [NOW, NOW + 10_000, NOW + 20_000];
    assert.equal(checkRestartLimit(times, NOW + 59_999, 3, WINDOW_MS).hit, true);
    assert.equal(checkRestartLimit(times, NOW + 60_000, 3, WINDOW_MS).hit, false);
    assert.equal(checkRestartLimit(times, NOW + 70_000, 3, WINDOW_MS).hit, false);
    assert.equal(checkRestartLimit(times, NOW + 80_000, 3, WINDOW_MS).hit, false);
  });

  test('restart_max 0 is unlimited', () => {
    const times = Array.from({ length: 1000 }, (_, i) => NOW - i);
    assert.equal(checkRestartLimit(times, NOW, 0, WINDOW_MS).hit, false);
  });

  test('the reason names the window in seconds', () => {
    assert.equal(checkRestartLimit([NOW], NOW, 1, 120_000).reason, 'restart limit 1 in 120s reached');
  });

  test('through decideRestart: the 4th crash in the window gives up, once the oldest leaves it restarts again', () => {
    const policy = policyConfig('on-failure', { restartMax: 3, restartSecMs: 100 });
    let history = EMPTY_HISTORY;
    for (let i = 0; i < 3; i++) {
      const decision = decideRestart({ exit: exitCode(1), policy, history, uptimeMs: 50, manualStop: null, now: NOW + i * 1_000 });
      assert.equal(decision.action, 'restart', `crash ${i + 1}`);
      assert.ok(decision.action === 'restart');
      assert.equal(decision.attempt, i + 1);
      history = decision.history;
    }
    const gaveUp = decideRestart({ exit: exitCode(1), policy, history, uptimeMs: 50, manualStop: null, now: NOW + 3_000 });
    assert.equal(gaveUp.action, 'give-up');
    assert.equal(gaveUp.reason, 'restart limit 3 in 60s reached');
    assert.equal(gaveUp.history.restartTimes.length, 3, 'giving up is not a restart');

    const later = decideRestart({ exit: exitCode(1), policy, history, uptimeMs: 50, manualStop: null, now: NOW + 60_000 });
    assert.equal(later.action, 'restart');
    assert.ok(later.action === 'restart');
    assert.deepEqual(later.history.restartTimes, [NOW + 1_000, NOW + 2_000, NOW + 60_000], 'the old restart left the window');
    assert.equal(later.attempt, 3);
  });

  test('a policy that does not restart never gives up', () => {
    const policy = policyConfig('no', { restartMax: 1 });
    const history: RestartHistory = { restartTimes: [NOW - 1], consecutiveFailures: 1 };
    const decision = decideRestart({ exit: exitCode(1), policy, history, uptimeMs: 50, manualStop: null, now: NOW });
    assert.equal(decision.action, 'none');
  });
});

describe('restartDelayMs: backoff', () => {
  const fixed = { restartSecMs: 2_000, restartBackoff: 'fixed', restartSecMaxMs: 300_000 } as const;
  const exponential = { restartSecMs: 1_000, restartBackoff: 'exponential', restartSecMaxMs: 10_000 } as const;

  test('fixed: always restart_sec', () => {
    for (const failures of [0, 1, 2, 5, 50]) assert.equal(restartDelayMs(failures, fixed), 2_000);
  });

  test('exponential: doubles per consecutive failure, capped at restart_sec_max', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((failures) => restartDelayMs(failures, exponential));
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
    assert.equal(restartDelayMs(10_000, exponential), 10_000, 'no overflow with many failures');
  });

  test('exponential: restart_sec 0 starts from the 100 ms floor and doubles', () => {
    assert.deepEqual([1, 2, 3].map((failures) => restartDelayMs(failures, { ...exponential, restartSecMs: 0 })), [100, 200, 400]);
    assert.equal(restartDelayMs(5, { ...exponential, restartSecMs: 0, restartSecMaxMs: 0 }), 100, 'a restart_sec_max below the floor does not undo it');
  });

  test('exponential through decideRestart: doubles on quick crashes, resets after min_uptime', () => {
    const policy = policyConfig('always', { restartBackoff: 'exponential', restartSecMs: 1_000, restartSecMaxMs: 5_000, minUptimeMs: 10_000 });
    let history = EMPTY_HISTORY;
    const delays: number[] = [];
    const step = (uptimeMs: number, now: number) => {
      const decision = decideRestart({ exit: exitCode(1), policy, history, uptimeMs, manualStop: null, now });
      assert.ok(decision.action === 'restart');
      history = decision.history;
      delays.push(decision.delayMs);
    };
    for (let i = 0; i < 5; i++) step(100, NOW + i * 100);
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 5_000, 5_000]);
    step(10_000, NOW + 20_000); // stayed up min_uptime: back to restart_sec
    step(100, NOW + 20_100);
    assert.deepEqual(delays.slice(5), [1_000, 2_000]);
  });
});

describe('crash loop floor', () => {
  test('withCrashLoopFloor: at least 100 ms after a run shorter than min_uptime, the configured delay otherwise', () => {
    assert.equal(CRASH_LOOP_FLOOR_MS, 100);
    assert.equal(withCrashLoopFloor(0, 50, 10_000), 100);
    assert.equal(withCrashLoopFloor(30, 9_999, 10_000), 100);
    assert.equal(withCrashLoopFloor(5_000, 50, 10_000), 5_000);
    assert.equal(withCrashLoopFloor(0, 10_000, 10_000), 0);
    assert.equal(withCrashLoopFloor(0, 50, 0), 0, 'min_uptime 0: every run counts as long');
  });

  test('restart_sec 0, no limit: a crash loop restarts at most 10 times a second; the first restart after a long run is immediate', () => {
    const policy = policyConfig('always', { restartSecMs: 0, restartMax: 0, minUptimeMs: 10_000 });
    let history = EMPTY_HISTORY;
    const delays: number[] = [];
    let now = NOW;
    for (const uptimeMs of [3_600_000, 5, 5, 5, 20_000, 5]) {
      const decision = decideRestart({ exit: exitCode(1), policy, history, uptimeMs, manualStop: null, now });
      assert.ok(decision.action === 'restart');
      history = decision.history;
      delays.push(decision.delayMs);
      now += uptimeMs + decision.delayMs;
    }
    assert.deepEqual(delays, [0, 100, 100, 100, 0, 100]);
  });

  test('exponential backoff from restart_sec 0 starts at the floor', () => {
    const policy = policyConfig('always', { restartBackoff: 'exponential', restartSecMs: 0, restartSecMaxMs: 5_000 });
    const decision = decideRestart({ exit: exitCode(1), policy, history: EMPTY_HISTORY, uptimeMs: 10, manualStop: null, now: NOW });
    assert.ok(decision.action === 'restart');
    assert.equal(decision.delayMs, 100);
  });
});
