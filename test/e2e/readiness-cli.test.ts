/** Issue 11 through the CLI: waits, --no-wait, progress lines, run.ts --detach --wait-ready, the restart sequence's ready step. */
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor } from '../helpers.ts';
import { FIXTURES, sandbox } from '../support.ts';

const SUITE = { timeout: 120_000 };
const LATE = join(FIXTURES, 'late-listen.mjs');
const late = (port: number, delayS: number) => `exec node ${LATE} ${port} ${delayS}`;


describe('the CLI waits for readiness', SUITE, () => {
  test('--no-wait returns at once; without it, progress lines say what it waits for', async (t) => {
    const port = await freePort();
    const box = sandbox(t, [{ name: 'web', command: late(port, 3), autostart: false, port, ready: { http: `http://127.0.0.1:${port}/`, interval: '200ms' } }]);
    await box.startSupervisor();
    const quick = await box.cli(['start', 'web', '--no-wait']);
    assert.equal(quick.code, 0, quick.stderr);
    assert.ok(quick.ms < 2500, `--no-wait took ${quick.ms} ms`);
    assert.match(quick.stdout, /started web \(pid \d+\), not waiting for it to be ready/);
    assert.equal(box.service('web')?.state, 'starting');
    await box.waitForState('web', 'running', 15_000);
    const slow = await box.cli(['restart', 'web']);
    assert.equal(slow.code, 0, slow.stderr);
    assert.ok(slow.ms >= 2500, `restart returned after ${slow.ms} ms`);
    assert.match(slow.stdout, /restarted web \(pid \d+\), ready after \d/);
    assert.match(slow.stderr, new RegExp(`web: waiting for http://127\\.0\\.0\\.1:${port}/ \\(\\d+s\\)`));
  });

  test('run.ts --detach returns once spawned; --wait-ready once ready, exit 1 naming one that is not', async (t) => {
    const [good, bad] = [await freePort(), await freePort()];
    const box = sandbox(t, [
      { name: 'web', command: late(good, 2), port: good },
      { name: 'stuck', command: 'exec sleep 1000', port: bad, ready: { tcp: `127.0.0.1:${bad}`, timeout: '3s', interval: '200ms' } },
    ]);
    const detached = await box.run(['--detach']);
    assert.equal(detached.code, 0, detached.stderr);
    assert.ok(detached.ms < 4000 || box.service('web')?.state === 'starting', `--detach took ${detached.ms} ms`);
    await box.cli(['shutdown']);
    const waited = await box.run(['--detach', '--wait-ready']);
    assert.equal(waited.code, 1, waited.stdout + waited.stderr);
    assert.match(waited.stderr, /stuck did not become ready: not ready within 3s/);
    assert.doesNotMatch(waited.stderr, /web did not/);
    // state.json is written at most every 50 ms: web's `running` may land just after --wait-ready answered
    await waitFor(() => box.service('web')?.state === 'running', 5_000, 'state.json to show web running');
    await box.cli(['shutdown']);
  });

  test('force-restart returns once ready; restart_completed has a ready step', async (t) => {
    const port = await freePort();
    const box = sandbox(t, [{ name: 'web', command: late(port, 1.5), port, ready: { http: `http://127.0.0.1:${port}/`, interval: '200ms' } }]);
    await box.startSupervisor();
    await box.waitForState('web', 'running', 15_000);
    const result = await box.cli(['force-restart']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.ms >= 1400, `force-restart returned after ${result.ms} ms`);
    const completed = await waitFor(() => box.events().find((e) => e.event === 'restart_completed'), 5000, 'restart_completed');
    const durations = completed.durations as Record<string, number>;
    assert.ok(durations.ready! + durations.start! >= 1000, JSON.stringify(durations));
    assert.ok('ready' in durations);
    const order = box.events().filter((e) => e.event === 'ready' || e.event === 'restart_completed').map((e) => e.event);
    assert.deepEqual(order.slice(-2), ['ready', 'restart_completed']);
  });

  test('a failing drain command is recorded and does not block the stop', async (t) => {
    const box = sandbox(t, [{ name: 'worker', command: 'exec sleep 1000', drain: { command: 'echo no >&2; exit 7' } }]);
    await box.startSupervisor();
    await box.waitForState('worker', 'running');
    const result = await box.cli(['stop', 'worker']);
    assert.equal(result.code, 0, result.stderr);
    const [drained] = await box.waitForEvent('worker', 'drained');
    assert.equal(drained!.ok, false);
    assert.match(String(drained!.reason), /exit code 7/);
    assert.equal(box.service('worker')?.state, 'stopped');
  });
});
