/**
 * Durations above 2^31-1 ms (~24.8 days): setTimeout fires such a timer at once. Stepped waits (restart_sec,
 * restart_cooldown) must wait the whole time; single-timer keys are refused at config check with the maximum.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { parseConfigText } from '../../lib/config/load.ts';
import { MAX_TIMER_DURATION_MS } from '../../lib/config/duration.ts';
import { ConfigError } from '../../lib/core/errors.ts';
import { setLongTimeout } from '../../lib/core/long-timer.ts';
import { Sandbox } from '../support.ts';

const DAY_MS = 86_400_000;

test('a 30-day cool-down never fires at once: the service stays failed, no cooldown_retry', async (t) => {
  const box = new Sandbox([{ name: 'flaky', command: ['sh', '-c', 'exit 1'], restart: 'on-failure', restart_sec: 0.05, restart_max: 1, restart_window: '1m', restart_cooldown: '30d' }]);
  t.after(() => box.cleanup());
  const supervisor = await box.startSupervisor();
  await box.waitForEvent('flaky', 'gave_up');
  const starts = box.eventsOf('flaky', 'started').length;
  await delay(2_000); // a timer that overflowed fires after 1 ms
  assert.deepEqual(box.eventsOf('flaky', 'cooldown_retry'), [], 'no cool-down retry within seconds of a 30-day cool-down');
  assert.equal(box.eventsOf('flaky', 'started').length, starts, 'not started again');
  assert.equal(box.service('flaky')?.state, 'failed');
  assert.doesNotMatch(supervisor.output(), /TimeoutOverflowWarning/);
});

test('a 30-day restart_sec waits (stepped), it does not restart at once', async (t) => {
  const box = new Sandbox([{ name: 'slow', command: ['sh', '-c', 'exit 1'], restart: 'always', restart_sec: '30d' }]);
  t.after(() => box.cleanup());
  await box.startSupervisor();
  await box.waitForEvent('slow', 'restarting');
  await delay(1_500);
  assert.equal(box.eventsOf('slow', 'started').length, 1, 'one start only');
  assert.equal(box.service('slow')?.state, 'backoff');
});

test('setLongTimeout re-arms in steps and fires once, at the due time of its clock', async () => {
  let clock = 0;
  let fired = 0;
  // A clock that jumps 10 days per step: 30 days need several steps, never a fire before due
  const timer = setLongTimeout(() => { fired++; }, 30 * DAY_MS, () => clock);
  clock = 29 * DAY_MS; // the first real step is 2^31-1 ms away: nothing may fire now
  await delay(50);
  assert.equal(fired, 0);
  timer.clear();
  const due: number[] = [];
  const start = Date.now();
  setLongTimeout(() => due.push(Date.now() - start), 30);
  await delay(200);
  assert.equal(due.length, 1);
  assert.ok(due[0]! >= 29, `fired after ${due[0]} ms`);
});

test('single-timer keys above 24d are refused at config check with file:line, the maximum and the value', () => {
  const text = [
    'services:',
    '  - name: api',
    '    command: sleep 1000',
    '    stop_timeout: 30d',
    '    watch_debounce: 25d',
    '    wait_idle:',
    '      command: "true"',
    '      poll: 40d',
    'hooks:',
    '  timeout: 30d',
    'notify:',
    '  webhooks:',
    '    - url: http://127.0.0.1:9/hook',
    '      timeout: 9999d',
    'reload_debounce: 30d',
    '',
  ].join('\n');
  let problems: string[] = [];
  try {
    parseConfigText(text, '/tmp/long.yaml', {}, 'flag --config');
    assert.fail('accepted');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    problems = error.problems;
  }
  const expected = ['4: services[0].stop_timeout', '5: services[0].watch_debounce', '8: services[0].wait_idle.poll', '10: hooks.timeout', '14: notify.webhooks[0].timeout', '15: reload_debounce'];
  for (const where of expected) {
    const line = problems.find((problem) => problem.includes(`long.yaml:${where}`));
    assert.ok(line, `${where} refused: ${problems.join('\n')}`);
    assert.match(line, /expected a duration of at most 24d \(a single timer cannot wait longer than ~24\.8 days\), got "\d+d"/);
  }
  assert.ok(MAX_TIMER_DURATION_MS < 2 ** 31 - 1);
});

test('stepped keys accept long values; absurd ones are refused, never an invalid date', () => {
  const ok = parseConfigText('services:\n  - name: api\n    command: sleep 1000\n    restart_cooldown: 30d\n    restart_sec: 40d\n    restart_sec_max: 60d\nschedule:\n  interval: 365d\n', '/tmp/ok.yaml', {}, 'flag --config');
  assert.equal(ok.config.services[0]!.restartCooldownMs, 30 * DAY_MS);
  assert.throws(() => parseConfigText('services:\n  - name: api\n    command: sleep 1000\n    restart_cooldown: 99999999999d\n', '/tmp/big.yaml', {}, 'flag --config'),
    (error: unknown) => error instanceof ConfigError && /big\.yaml:4: services\[0\]\.restart_cooldown: expected a duration of at most 3650d/.test(error.problems.join('\n')));
});
