/**
 * max_memory and max_gpu_memory end to end: a real memory hog whose RSS sits in a grandchild, a fake nvidia-smi on
 * PATH that reports our pids, restarts that wait for a busy wait_idle up to max_wait; a reload that changes only
 * health or limits applies in place.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { waitFor } from '../helpers.ts';
import { FAST, FIXTURES, Sandbox, type ServiceSpec } from '../support.ts';

const SUITE = { timeout: 120_000 };
const HOG = join(FIXTURES, 'memory-hog.mjs');
const MIB = 1024 * 1024;

function writeConfig(box: Sandbox, services: ServiceSpec[], top: Record<string, unknown> = { resources: { interval: '300ms' } }): void {
  writeFileSync(box.configFile, stringify({ state_dir: 'state', ...top, services: services.map((service) => ({ ...FAST, ...service })) }));
}

function boxWith(services: ServiceSpec[]): Sandbox {
  const box = new Sandbox(services);
  writeConfig(box, services);
  return box;
}

describe('max_memory: a hog whose RSS sits in a grandchild', SUITE, () => {
  let box: Sandbox;
  const busy = { command: 'exit 1', poll: '200ms', max_wait: '1500ms' };
  before(async () => {
    box = boxWith([
      // /bin/sh -c → sh → node: the memory is two levels down
      { name: 'hog', command: `sh -c "node ${HOG} 150; true"`, max_memory: '100MB', wait_idle: busy },
      { name: 'small', command: `sh -c "node ${HOG} 10; true"`, max_memory: '200MB' },
    ]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('restarted once it passes max_memory, with the event fields, after a busy wait_idle up to max_wait', async () => {
    const [event] = await box.waitForEvent('hog', 'memory_limit', 1, 20_000);
    assert.ok(Number(event!.rss_bytes) > 100 * MIB, String(event!.rss_bytes));
    assert.equal(event!.limit_bytes, 100 * MIB);
    const processes = event!.processes as Array<{ pid: number; command: string; rss_bytes: number }>;
    assert.ok(processes.length >= 1 && processes.length <= 3, JSON.stringify(processes));
    assert.match(processes[0]!.command, /memory-hog\.mjs 150/);
    assert.ok(processes[0]!.rss_bytes > 100 * MIB);
    assert.equal(typeof processes[0]!.pid, 'number');
    const [idle] = await box.waitForEvent('hog', 'idle_wait', 1, 10_000);
    assert.equal(idle!.idle, false);
    assert.ok(Number(idle!.waited_s) >= 1.3, String(idle!.waited_s));
    const [restarting] = await box.waitForEvent('hog', 'restarting', 1, 10_000);
    assert.equal(restarting!.reason, 'max_memory exceeded');
    assert.ok(Date.parse(restarting!.time) - Date.parse(event!.time) >= 1400, 'waited for wait_idle first');
    await waitFor(() => box.service('hog')?.state === 'running' && box.service('hog')!.restarts >= 1, 10_000, 'restarted');
  });
  test('a tree under its limit is left alone; resources sum the whole tree', async () => {
    await waitFor(() => box.service('small')?.resources?.processes === 3, 10_000, 'three processes in the tree');
    const rss = box.service('small')!.resources!.rss_bytes;
    assert.ok(rss > 10 * MIB && rss < 200 * MIB, String(rss));
    assert.equal(box.eventsOf('small', 'memory_limit').length, 0);
  });
});

describe('max_gpu_memory through a fake nvidia-smi on PATH', SUITE, () => {
  let box: Sandbox;
  before(async () => {
    box = boxWith([
      { name: 'gpu', command: 'exec sleep 1000', max_gpu_memory: '1GB', wait_idle: { command: 'exit 1', poll: '200ms', max_wait: '1s' } },
    ]);
    writeFileSync(box.path('gpus.csv'), '0, Fake GPU, 100, 24576\n');
    await box.startSupervisor({ env: { PATH: `${FIXTURES}:${process.env.PATH}`, FAKE_NVIDIA_DIR: box.dir } });
  });
  after(() => box?.cleanup());

  test('GPU memory of our pids over the limit → gpu_memory_limit, restart after wait_idle', async () => {
    const pid = await waitFor(() => box.service('gpu')?.pid, 10_000, 'pid');
    await waitFor(() => box.service('gpu')?.resources?.gpu_memory_bytes === 0, 10_000, 'gpu memory sampled');
    writeFileSync(box.path('apps.csv'), `${pid}, 2048\n999999, 4096\n`);
    const [event] = await box.waitForEvent('gpu', 'gpu_memory_limit', 1, 15_000);
    assert.equal(event!.gpu_memory_bytes, 2048 * MIB);
    assert.equal(event!.limit_bytes, 1024 * MIB);
    assert.deepEqual((event!.processes as Array<{ pid: number }>).map((p) => p.pid), [pid]);
    assert.match(String((event!.processes as Array<{ command: string }>)[0]!.command), /sleep 1000/);
    const [idle] = await box.waitForEvent('gpu', 'idle_wait', 1, 10_000);
    assert.equal(idle!.idle, false);
    await waitFor(() => box.service('gpu')?.pid !== pid && box.service('gpu')?.state === 'running', 10_000, 'restarted');
    await waitFor(() => typeof box.service('gpu')?.resources?.gpu_memory_bytes === 'number', 10_000, 'the new run sampled');
    const table = (await box.cli(['status'])).stdout;
    assert.match(table, /GPU MEM/);
  });
});

describe('reload: only health or limits changed → applied in place', SUITE, () => {
  let box: Sandbox;
  const base: ServiceSpec = { name: 'svc', command: 'exec sleep 1000' };
  before(async () => {
    box = boxWith([base]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('the pid stays, the new check runs', async () => {
    const pid = box.service('svc')!.pid;
    writeConfig(box, [{ ...base, max_memory: '10GB', health: { command: 'echo nope; exit 1', interval: '200ms', failures: 2, on_unhealthy: 'none' } }]);
    const result = await box.cli(['reload']);
    assert.equal(result.code, 0, result.stderr);
    const [event] = await box.waitForEvent('svc', 'unhealthy', 1, 10_000);
    assert.equal(event!.error, 'exit code 1: nope');
    assert.equal(box.service('svc')!.pid, pid);
    assert.equal(box.service('svc')!.restarts, 0);
    assert.equal(box.eventsOf('svc', 'stopped').length, 0);
    assert.ok(!existsSync(box.path('never')));
  });
});
