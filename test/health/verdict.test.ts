/** The pure health verdict and limit checks: consecutive failures, start_period, one transition each way, silence. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCheck, applySilence, newRun, silentFor, type HealthState } from '../../lib/health/verdict.ts';
import { SAMPLES_OVER_LIMIT, biggest, checkLimit } from '../../lib/health/limits.ts';

const T0 = 1_000_000;
const CONFIG = { failures: 3, startPeriodMs: 0 };
const pass = { ok: true, error: null, latencyMs: 3 };
const fail = (error = 'connect ECONNREFUSED 127.0.0.1:1') => ({ ok: false, error, latencyMs: 1 });

function feed(state: HealthState, checks: Array<typeof pass | ReturnType<typeof fail>>, config = CONFIG, start = T0, stepMs = 1000) {
  const transitions: string[] = [];
  checks.forEach((check, index) => {
    const outcome = applyCheck(state, check, config, start + (index + 1) * stepMs);
    state = outcome.state;
    if (outcome.transition) transitions.push(outcome.transition);
  });
  return { state, transitions };
}

describe('applyCheck', () => {
  test('a new run is starting', () => assert.equal(newRun(T0, null).status, 'starting'));
  test('failures - 1 failures in a row: not unhealthy; the failures-th: unhealthy, once', () => {
    const two = feed(newRun(T0, null), [fail(), fail()]);
    assert.deepEqual(two.transitions, []);
    assert.equal(two.state.failures, 2);
    const many = feed(newRun(T0, null), [fail(), fail(), fail(), fail(), fail()]);
    assert.deepEqual(many.transitions, ['unhealthy']);
    assert.equal(many.state.status, 'unhealthy');
    assert.equal(many.state.lastError, 'connect ECONNREFUSED 127.0.0.1:1');
  });
  test('a pass resets the count: failures must be consecutive', () => {
    const { transitions, state } = feed(newRun(T0, null), [fail(), fail(), pass, fail(), fail()]);
    assert.deepEqual(transitions, []);
    assert.equal(state.failures, 2);
  });
  test('unhealthy → healthy is recorded once, healthy → unhealthy again once', () => {
    const { transitions } = feed(newRun(T0, null), [pass, fail(), fail(), fail(), fail(), pass, pass, fail(), fail(), fail()]);
    assert.deepEqual(transitions, ['unhealthy', 'healthy', 'unhealthy']);
  });
  test('the first pass of a fresh service records nothing; after an unhealthy run, the next run records healthy', () => {
    assert.deepEqual(feed(newRun(T0, null), [pass, pass]).transitions, []);
    const sick = feed(newRun(T0, null), [fail(), fail(), fail()]).state;
    const next = feed(newRun(T0 + 10_000, sick), [fail(), pass, pass], CONFIG, T0 + 10_000);
    assert.deepEqual(next.transitions, ['healthy']);
  });
  test('start_period: failures do not count while it lasts, until a probe passes', () => {
    const config = { failures: 2, startPeriodMs: 10_000 };
    const starting = feed(newRun(T0, null), Array.from({ length: 9 }, () => fail()), config);
    assert.deepEqual(starting.transitions, []);
    assert.equal(starting.state.status, 'starting');
    assert.equal(starting.state.failures, 0);
    const over = feed(newRun(T0, null), Array.from({ length: 12 }, () => fail()), config);
    assert.deepEqual(over.transitions, ['unhealthy']); // at 10 s and 11 s
    const passed = feed(newRun(T0, null), [pass, fail(), fail()], config);
    assert.deepEqual(passed.transitions, ['unhealthy']); // a pass ends the start period early
  });
});

describe('applySilence', () => {
  test('unhealthy at once, whatever the count, with the words of the issue; once', () => {
    const first = applySilence(newRun(T0, null), 20 * 60_000, T0 + 1);
    assert.equal(first.transition, 'unhealthy');
    assert.equal(first.state.lastError, 'no output for 20m');
    assert.equal(applySilence(first.state, 20 * 60_000, T0 + 2).transition, null);
  });
  test('silence counts from the later of the start and the last line', () => {
    assert.equal(silentFor(T0, null, T0 + 500), 500);
    assert.equal(silentFor(T0, T0 + 300, T0 + 500), 200);
    assert.equal(silentFor(T0, T0 - 9_000, T0 + 500), 500);
  });
});

describe('checkLimit', () => {
  test(`${SAMPLES_OVER_LIMIT} consecutive samples over the limit trigger, then the count starts over`, () => {
    let over = 0;
    const triggers: boolean[] = [];
    for (const value of [50, 150, 50, 150, 150, 150, 150]) {
      const result = checkLimit(over, value, 100);
      over = result.over;
      triggers.push(result.trigger);
    }
    assert.deepEqual(triggers, [false, false, false, false, true, false, true]);
  });
  test('no limit never triggers; a missing measurement neither counts nor resets; equal is not over', () => {
    assert.deepEqual(checkLimit(5, 1e12, null), { over: 0, trigger: false });
    assert.deepEqual(checkLimit(1, null, 100), { over: 1, trigger: false });
    assert.deepEqual(checkLimit(1, 100, 100), { over: 0, trigger: false });
  });
  test('biggest: three, biggest first', () => {
    assert.deepEqual(biggest([1, 5, 3, 9, 2], (n) => n), [9, 5, 3]);
  });
});
