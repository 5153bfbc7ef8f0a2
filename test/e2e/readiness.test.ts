/**
 * Issue 11 end to end: readiness probes, start order, port hand-over and drain, through ./run.ts and
 * ./restart-control.ts with real processes and real sockets on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor } from '../helpers.ts';
import { FIXTURES, alive, cleanEnv, killQuietly, sandbox } from '../support.ts';

const SUITE = { timeout: 120_000 };
const LATE = join(FIXTURES, 'late-listen.mjs');
const late = (port: number, delayS: number, drainLog?: string) => `exec node ${LATE} ${port} ${delayS}${drainLog ? ` ${drainLog}` : ''}`;


describe('readiness: a start is done when the service can serve', SUITE, () => {
  test('http: starting for ~2 s, then running with one ready event; the CLI start returns after it', async (t) => {
    const port = await freePort();
    const box = sandbox(t, [
      { name: 'web', command: late(port, 2), autostart: false, ready: { http: `http://127.0.0.1:${port}/`, interval: '200ms', timeout: '20s' } },
    ]);
    await box.startSupervisor();
    const started = Date.now();
    const cli = box.cli(['start', 'web']);
    const waiting = await box.waitForState('web', 'starting', 5000, (s) => s.pid !== null);
    assert.equal(waiting.ready?.since, null);
    const status = await box.cli(['status']);
    assert.match(status.stdout, /web\s+starting \(not ready: \d+s\)/);
    const result = await cli;
    const ms = Date.now() - started;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /started web \(pid \d+\), ready after/);
    assert.ok(ms >= 1800, `start returned after ${ms} ms: before the service could serve`);
    assert.equal(box.service('web')?.state, 'running');
    const [ready] = box.eventsOf('web', 'ready');
    assert.ok(ready && Number(ready.ms_since_start) >= 1800, JSON.stringify(ready));
    assert.equal(box.eventsOf('web', 'ready').length, 1);
    const json = JSON.parse((await box.cli(['status', '--json'])).stdout) as { services: Array<{ ready: { since: string | null; condition: string }; after: unknown[] }> };
    assert.equal(json.services[0]!.ready.condition, `http://127.0.0.1:${port}/`);
    assert.ok(json.services[0]!.ready.since);
    assert.deepEqual(json.services[0]!.after, []);
  });

  test('port alone (tcp), command and log_line (substring and /regex/) each gate the start', async (t) => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const box = sandbox(t, [
      { name: 'tcp', command: late(p1, 1), port: p1 },
      { name: 'cmd', command: `sleep 1; touch cmd.ready; ${late(p2, 0)}`, ready: { command: 'test -e cmd.ready', interval: '200ms' } },
      { name: 'line', command: late(p3, 1), ready: { log_line: '/GUI go to http:\\/\\/127/' } },
      { name: 'plain', command: 'sleep 1; echo "models loaded"; exec sleep 1000', ready: { log_line: 'models loaded' } },
    ]);
    await box.startSupervisor();
    for (const name of ['tcp', 'cmd', 'line', 'plain']) {
      const [event] = await box.waitForEvent(name, 'ready', 1, 15_000);
      assert.ok(Number(event!.ms_since_start) >= 700, `${name}: ${JSON.stringify(event)}`);
      await box.waitForState(name, 'running');
    }
  });

  test('not ready within the timeout: crashed with the reason, the tree stopped, the policy restarts it; the CLI exits 1 naming it', async (t) => {
    const port = await freePort();
    const box = sandbox(t, [
      { name: 'never', command: 'exec sleep 1000', autostart: false, port, ready: { tcp: `127.0.0.1:${port}`, interval: '100ms', timeout: '1s' }, restart: 'on-failure', restart_sec: 0.2 },
    ]);
    await box.startSupervisor();
    const result = await box.cli(['start', 'never']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /never did not become ready: not ready within 1s/);
    const [crashed] = await box.waitForEvent('never', 'crashed');
    assert.equal(crashed!.reason, 'not ready within 1s');
    const first = box.eventsOf('never', 'started')[0]!;
    await waitFor(() => !alive(Number(first.pid)), 5000, 'the first run to be stopped');
    await box.waitForEvent('never', 'started', 2, 10_000);
    assert.ok(box.eventsOf('never', 'restarting').length >= 1);
    await box.cli(['stop', 'never']);
  });
});

describe('start order: after, conditions, reverse stop', SUITE, () => {
  test('c -> b -> a with condition ready starts in order, each once the previous is ready; shutdown goes in reverse', async (t) => {
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const box = sandbox(t, [
      // listed root first: a parallel stop would record a's stop first
      { name: 'a', command: late(pa, 1), port: pa },
      { name: 'b', command: late(pb, 1), port: pb, after: [{ service: 'a', condition: 'ready' }] },
      { name: 'c', command: late(pc, 0.5), port: pc, after: [{ service: 'b', condition: 'ready' }] },
    ]);
    const supervisor = await box.startSupervisor();
    await box.waitForEvent('c', 'ready', 1, 20_000);
    const events = box.events().filter((e) => e.event === 'started' || e.event === 'ready').map((e) => `${e.service} ${e.event}`);
    assert.deepEqual(events, ['a started', 'a ready', 'b started', 'b ready', 'c started', 'c ready']);
    const time = (service: string, event: string) => Date.parse(box.eventsOf(service, event)[0]!.time);
    assert.ok(time('b', 'started') >= time('a', 'ready') && time('c', 'started') >= time('b', 'ready'));
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;
    const stops = box.events().filter((e) => e.event === 'stopped').map((e) => e.service);
    assert.deepEqual(stops, ['c', 'b', 'a']);
  });

  test('a dependency that is not ready leaves its dependents failed with the reason; start X starts its dependencies first', async (t) => {
    const port = await freePort();
    const box = sandbox(t, [
      { name: 'db', command: 'exec sleep 1000', port, ready: { tcp: `127.0.0.1:${port}`, timeout: '1s', interval: '100ms' } },
      { name: 'worker', command: 'exec sleep 1000', after: [{ service: 'db', condition: 'ready' }] },
      { name: 'redis', command: 'exec sleep 1000', autostart: false },
      { name: 'app', command: 'exec sleep 1000', autostart: false, after: ['redis'] },
      { name: 'migrate', command: 'sleep 1; exit 0' },
      { name: 'api', command: 'exec sleep 1000', after: [{ service: 'migrate', condition: 'completed' }] },
    ]);
    await box.startSupervisor();
    const worker = await box.waitForState('worker', 'failed', 10_000);
    assert.equal(worker.reason, 'dependency db not ready: not ready within 1s');
    const result = await box.cli(['start', 'app']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /starting redis first: app depends on it/);
    assert.ok(Date.parse(box.eventsOf('app', 'started')[0]!.time) >= Date.parse(box.eventsOf('redis', 'started')[0]!.time));
    // completed: api starts once migrate has exited 0
    await box.waitForState('api', 'running', 10_000);
    assert.ok(Date.parse(box.eventsOf('api', 'started')[0]!.time) >= Date.parse(box.eventsOf('migrate', 'exited')[0]!.time));
    // a dependency that crashes later leaves its dependent running
    const app = box.service('app')!.pid!;
    process.kill(box.service('redis')!.pid!, 'SIGKILL');
    await box.waitForEvent('redis', 'crashed');
    assert.equal(box.service('app')?.state, 'running');
    assert.equal(box.service('app')?.pid, app);
  });

  test('a cycle, an unknown name, a service after itself: config errors with file:line, exit 2', async (t) => {
    const box = sandbox(t, [
      { name: 'a', command: 'sleep 1', after: ['b'] },
      { name: 'b', command: 'sleep 1', after: [{ service: 'a', condition: 'ready' }] },
      { name: 'c', command: 'sleep 1', after: ['c', 'nope'] },
    ]);
    const check = await box.cli(['config', '--check']);
    assert.equal(check.code, 2);
    assert.match(check.stderr, /restart-control\.yaml:\d+: services\[0\]\.after: dependency cycle a -> b -> a/);
    assert.match(check.stderr, /unknown service "nope"/);
    assert.match(check.stderr, /cannot start after itself/);
    const run = await box.run();
    assert.equal(run.code, 2);
    assert.match(run.stderr, /a -> b -> a/);
  });
});

describe('port hand-over', SUITE, () => {
  test('a leftover of the previous run (setsid) that holds the port is stopped before the new start', async (t) => {
    const port = await freePort();
    const box = sandbox(t, [{
      name: 'jupyter', port, restart: 'on-failure', restart_sec: 0,
      // first run: leaves a setsid'd listener behind and crashes; later runs listen themselves
      command: `if [ -e first.done ]; then ${late(port, 0)}; fi; touch first.done; setsid node ${LATE} ${port} 0 & echo $! > leftover.pid; sleep 1; exit 1`,
    }]);
    await box.startSupervisor();
    // the first run may count as ready too (its leftover answers on the port): wait for the second run's ready
    await box.waitForEvent('jupyter', 'started', 2, 15_000);
    const second = Number(box.eventsOf('jupyter', 'started')[1]!.pid);
    await waitFor(() => box.eventsOf('jupyter', 'ready').some((event) => event.pid === second), 15_000, 'the second run to be ready');
    const leftover = Number(readFileSync(box.path('leftover.pid'), 'utf8'));
    const running = await box.waitForState('jupyter', 'running');
    assert.equal(running.pid, second);
    assert.equal(alive(leftover), false, 'the leftover still runs');
    // had the leftover still held the port, the new run would have died with EADDRINUSE and been started again
    assert.equal(box.eventsOf('jupyter', 'started').length, 2);
    assert.equal(box.eventsOf('jupyter', 'crashed').length, 1);
  });

  test('a foreign holder makes the start wait port_wait, then fail naming the pid; it is never signalled', async (t) => {
    const port = await freePort();
    const box = sandbox(t, [{ name: 'jupyter', command: late(port, 0), port, port_wait: '1s', autostart: false }]);
    const foreign = spawn('node', [LATE, String(port), '0'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'ignore'] });
    t.after(() => killQuietly(foreign.pid!, 'SIGKILL'));
    await new Promise<void>((resolve) => foreign.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('GUI')) resolve(); }));
    await box.startSupervisor();
    const started = Date.now();
    const result = await box.cli(['start', 'jupyter']);
    assert.equal(result.code, 1);
    assert.ok(Date.now() - started >= 900, 'waited port_wait');
    assert.match(result.stderr, new RegExp(`port ${port} is held by pid ${foreign.pid} \\(node .*late-listen.mjs.*\\), not by this service`));
    assert.ok(alive(foreign.pid!), 'the foreign holder was signalled');
    assert.equal(foreign.exitCode, null);
  });
});

describe('drain', SUITE, () => {
  test('the drain signal reaches the service before SIGTERM; the stop waits for wait_idle; a crash restart does not drain', async (t) => {
    const port = await freePort();
    const box = sandbox(t, [{
      name: 'worker', command: late(port, 0, 'drain.log'), port, restart: 'always', restart_sec: 0.2, stop_timeout: 5,
      drain: { signal: 'SIGUSR1' }, wait_idle: { command: 'test -e drain.log.idle', poll: '200ms', max_wait: '20s' },
    }]);
    await box.startSupervisor();
    await box.waitForEvent('worker', 'ready', 1, 10_000);
    const result = await box.cli(['restart', 'worker']);
    assert.equal(result.code, 0, result.stderr);
    const log = readFileSync(box.path('drain.log'), 'utf8').trim().split('\n');
    assert.deepEqual(log.map((line) => line.split(' ')[0]), ['drain', 'term']);
    const idleAt = Number(readFileSync(box.path('drain.log.idle'), 'utf8').trim().split(' ')[1]);
    assert.ok(Number(log[1]!.split(' ')[1]) >= idleAt, 'SIGTERM came before the service was idle');
    const [drained] = await box.waitForEvent('worker', 'drained');
    assert.ok(Number(drained!.duration_ms) >= 900, JSON.stringify(drained));
    assert.equal(box.eventsOf('worker', 'drain_started').length, 1);
    // a crash is an emergency: no drain
    const pid = (await box.waitForState('worker', 'running')).pid!;
    process.kill(pid, 'SIGKILL');
    await box.waitForEvent('worker', 'ready', 3, 10_000).catch(() => box.waitForEvent('worker', 'started', 3, 10_000));
    assert.equal(box.eventsOf('worker', 'drain_started').length, 1);
  });
});
