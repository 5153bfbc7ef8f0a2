/**
 * Health checks end to end: real supervisors through ./run.ts, real HTTP/TCP servers and commands, status through
 * ./restart-control.ts. Intervals are short; timing assertions are generous (speed targets live in bench/).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { waitFor } from '../helpers.ts';
import { FAST, FIXTURES, Sandbox, type ServiceSpec } from '../support.ts';

const SUITE = { timeout: 120_000 };
const HTTP = join(FIXTURES, 'http-health.mjs');
let nextPort = 20_000 + (process.pid % 20_000);
const port = () => nextPort++;

/** A sandbox whose config also has a top-level `resources:` section. */
function boxWith(services: ServiceSpec[], top: Record<string, unknown> = { resources: { interval: '300ms' } }): Sandbox {
  const box = new Sandbox(services);
  writeConfig(box, services, top);
  return box;
}

function writeConfig(box: Sandbox, services: ServiceSpec[], top: Record<string, unknown> = { resources: { interval: '300ms' } }): void {
  writeFileSync(box.configFile, stringify({ state_dir: 'state', ...top, services: services.map((service) => ({ ...FAST, ...service })) }));
}

describe('http probe: a hung service is restarted; unhealthy and healthy once each way', SUITE, () => {
  let box: Sandbox;
  const webPort = port();
  const watchPort = port();
  before(async () => {
    box = boxWith([
      {
        name: 'web', command: ['node', HTTP, String(webPort)], env: { HANG_FILE: 'web.hang' }, stop_timeout: 0.5,
        health: { http: `http://127.0.0.1:${webPort}/`, interval: '300ms', timeout: '1s', failures: 3 }, // 1 s: a loaded machine must not fail a probe of a live server
      },
      {
        name: 'watched', command: ['node', HTTP, String(watchPort)], env: { HANG_FILE: 'watched.hang' },
        health: { http: `http://127.0.0.1:${watchPort}/`, interval: '200ms', timeout: '1s', failures: 3, on_unhealthy: 'none' },
      },
    ]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('stops answering → unhealthy after about failures × interval, restarted through the normal accounting', async () => {
    await waitFor(() => box.service('web')?.health?.status === 'healthy', 10_000, 'web healthy');
    const oldPid = box.service('web')!.pid!;
    const hungAt = Date.now();
    writeFileSync(box.path('web.hang'), '');
    const [unhealthy] = await box.waitForEvent('web', 'unhealthy', 1, 15_000);
    rmSync(box.path('web.hang'));
    const detectedMs = Date.parse(unhealthy!.time) - hungAt;
    assert.ok(detectedMs >= 3 * 300 && detectedMs < 10_000, `detected after ${detectedMs} ms`);
    assert.equal(unhealthy!.failures, 3);
    assert.equal(unhealthy!.error, `GET http://127.0.0.1:${webPort}/: timed out after 1s`);
    assert.equal(typeof unhealthy!.latency_ms, 'number');
    assert.match(String(unhealthy!.reason), /http probe GET http:\/\/127\.0\.0\.1:\d+\/ failed 3 times/);
    const [restarting] = await box.waitForEvent('web', 'restarting', 1, 10_000);
    assert.match(String(restarting!.reason), /unhealthy: http probe/);
    assert.equal(restarting!.restart_attempt, 1);
    const stopped = box.eventsOf('web', 'stopped').at(-1)!;
    assert.equal(typeof stopped.forced, 'boolean');
    await waitFor(() => box.service('web')?.state === 'running' && box.service('web')!.pid !== oldPid, 10_000, 'new pid');
    await box.waitForEvent('web', 'healthy', 1, 10_000);
    assert.equal(box.service('web')!.restarts, 1);
  });

  test('on_unhealthy: none → events only; back to healthy with exactly one event each way; status --json shows it', async () => {
    await waitFor(() => box.service('watched')?.health?.status === 'healthy', 10_000, 'watched healthy');
    const pid = box.service('watched')!.pid;
    writeFileSync(box.path('watched.hang'), '');
    await waitFor(() => box.service('watched')?.health?.status === 'unhealthy', 10_000, 'watched unhealthy');
    const json = JSON.parse((await box.cli(['status', 'watched', '--json'])).stdout) as { services: Array<Record<string, any>> };
    const health = json.services[0]!.health;
    assert.equal(health.status, 'unhealthy');
    assert.ok(health.failures >= 2);
    assert.match(health.last_error, /timed out after 1s/);
    assert.equal(typeof health.last_check, 'string');
    assert.equal(typeof health.latency_ms, 'number');
    const table = (await box.cli(['status'])).stdout;
    assert.match(table, /HEALTH\s+CPU\s+RSS/);
    assert.match(table, /^watched\s+running.*\bunhealthy\b/m);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // more failing probes: still one event
    rmSync(box.path('watched.hang'));
    await waitFor(() => box.service('watched')?.health?.status === 'healthy', 10_000, 'watched healthy again');
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(box.eventsOf('watched', 'unhealthy').length, 1);
    assert.equal(box.eventsOf('watched', 'healthy').length, 1);
    assert.equal(box.service('watched')!.pid, pid, 'not restarted');
    const resources = JSON.parse((await box.cli(['status', 'watched', '--json'])).stdout).services[0].resources;
    assert.ok(resources.rss_bytes > 1 << 20, JSON.stringify(resources));
    assert.equal(typeof resources.cpu_percent, 'number');
    assert.equal(resources.processes, 1);
    assert.equal(resources.gpu_memory_bytes, null);
    assert.equal(typeof resources.sampled_at, 'string');
  });
});

describe('start_period, tcp and command probes', SUITE, () => {
  let box: Sandbox;
  const slowPort = port();
  const tcpPort = port();
  before(async () => {
    box = boxWith([
      {
        name: 'slow', command: ['node', HTTP, String(slowPort), '2500'],
        health: { http: `http://127.0.0.1:${slowPort}/`, interval: '200ms', timeout: '150ms', failures: 2, start_period: '6s' },
      },
      { name: 'tcp-up', command: ['node', HTTP, String(tcpPort)], health: { tcp: `127.0.0.1:${tcpPort}`, interval: '200ms', failures: 2 } },
      { name: 'tcp-down', command: 'exec sleep 1000', health: { tcp: '127.0.0.1:1', interval: '200ms', failures: 2, on_unhealthy: 'none' } },
      { name: 'cmd', command: 'exec sleep 1000', health: { command: 'echo "gpu wedged" >&2; exit 1', interval: '200ms', failures: 2, on_unhealthy: 'none' } },
      {
        name: 'doomed', command: 'exec sleep 1000', restart_max: 1, restart_window: '60s', restart_sec: 0.2,
        health: { command: 'exit 1', interval: '200ms', failures: 1 },
      },
    ]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('a slow-starting service is not restarted while it starts, and is `starting` meanwhile', async () => {
    await waitFor(() => box.service('slow')?.health?.status === 'starting' && box.service('slow')?.health?.last_error, 5_000, 'failing while starting');
    await waitFor(() => box.service('slow')?.health?.status === 'healthy', 15_000, 'slow healthy');
    assert.equal(box.eventsOf('slow', 'unhealthy').length, 0);
    assert.equal(box.service('slow')!.restarts, 0);
  });
  test('tcp: connect passes; refused is unhealthy with the error in words', async () => {
    await waitFor(() => box.service('tcp-up')?.health?.status === 'healthy', 10_000, 'tcp-up healthy');
    const [event] = await box.waitForEvent('tcp-down', 'unhealthy', 1, 10_000);
    assert.equal(event!.error, 'connect ECONNREFUSED 127.0.0.1:1');
  });
  test('health restarts count toward restart_max: the second one gives up', async () => {
    const [gaveUp] = await box.waitForEvent('doomed', 'gave_up', 1, 15_000);
    assert.equal(gaveUp!.reason, 'restart limit 1 in 60s reached');
    assert.equal(box.eventsOf('doomed', 'restarting').length, 1);
    assert.equal(box.eventsOf('doomed', 'unhealthy').length, 2);
    await waitFor(() => box.service('doomed')?.state === 'failed', 5_000, 'failed');
    assert.equal(box.service('doomed')!.pid, null);
  });
  test('command: exit 1 is unhealthy with the first line of its output', async () => {
    const [event] = await box.waitForEvent('cmd', 'unhealthy', 1, 10_000);
    assert.equal(event!.error, 'exit code 1: gpu wedged');
    assert.equal(event!.failures, 2);
  });
});

describe('a probe that hangs never delays a crash restart of another service', SUITE, () => {
  let box: Sandbox;
  before(async () => {
    box = boxWith([
      { name: 'hanging-probe', command: 'exec sleep 1000', health: { command: 'sleep 30', interval: '100ms', timeout: '20s' } },
      { name: 'crasher', command: 'exec sleep 1000', restart: 'always', restart_sec: 0 },
    ]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('crash-to-new-pid stays fast while a probe hangs', async () => {
    await new Promise((resolve) => setTimeout(resolve, 500)); // the probe is hanging now
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = box.eventsOf('crasher', 'started').length;
      const pid = box.service('crasher')!.pid!;
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      const [started] = (await box.waitForEvent('crasher', 'started', before + 1, 10_000)).slice(-1);
      samples.push(Date.parse(started!.time) - killedAt);
      await waitFor(() => box.service('crasher')?.pid !== pid && box.service('crasher')?.state === 'running', 5_000, 'running');
    }
    const median = [...samples].sort((a, b) => a - b)[2]!;
    assert.ok(median < 500, `crash-to-new-pid ${samples.join(', ')} ms`);
    assert.equal(box.eventsOf('hanging-probe', 'unhealthy').length, 0);
  });
});

describe('exit codes end to end', SUITE, () => {
  let box: Sandbox;
  before(async () => {
    box = boxWith([
      { name: 'again', command: `if [ -e again.ran ]; then exec sleep 1000; fi; touch again.ran; exit 75`, restart: 'no', restart_exit_codes: [75] },
      { name: 'clean', command: 'exit 130', restart: 'on-failure', success_exit_codes: [130] },
    ]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('exit 75 in restart_exit_codes is restarted under restart: no, and counts', async () => {
    await waitFor(() => box.service('again')?.state === 'running' && box.service('again')!.restarts === 1, 10_000, 'restarted');
    const [crashed] = await box.waitForEvent('again', 'crashed', 1, 5_000);
    assert.equal(crashed!.exit_code, 75);
    assert.equal(crashed!.will_restart, true);
  });
  test('exit 130 in success_exit_codes is a clean exit under on-failure', async () => {
    await waitFor(() => box.service('clean')?.state === 'exited', 10_000, 'exited');
    assert.equal(box.eventsOf('clean', 'exited').length, 1);
    assert.equal(box.eventsOf('clean', 'restarting').length, 0);
  });
});
