/**
 * Integration: real supervisors through ./run.ts, driven through ./restart-control.ts, with real processes.
 * Each describe owns one sandbox (temp dir, config, state_dir) and kills everything it started in after().
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { socketPath } from '../../lib/config/paths.ts';
import { type EventRecord } from '../../lib/core/types.ts';
import { waitFor } from '../helpers.ts';
import { CLI, FIXTURES, RUN, Sandbox, alive, procInfo, processesMentioning, runCommand, type Supervisor } from '../support.ts';

const SUITE = { timeout: 90_000 };
/** Runs once, then sleeps: a service that crashed (or exited) the first time and is healthy after a restart. */
const once = (file: string, code: number) => `if [ -e ${file} ]; then exec sleep 1000; fi; touch ${file}; exit ${code}`;
const CRON_ENV = ['-i', 'PATH=/usr/bin:/bin'];

function only<T>(list: T[], what: string): T {
  assert.equal(list.length, 1, `exactly one ${what}, got ${JSON.stringify(list)}`);
  return list[0]!;
}

function pick(event: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, event[key]]));
}

function readPidFile(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

describe('restart policies, with real crashes', SUITE, () => {
  let box: Sandbox;
  before(async () => {
    box = new Sandbox([
      { name: 'on-failure', command: once('of.ran', 1), restart: 'on-failure' },
      { name: 'no', command: 'exit 1', restart: 'no' },
      { name: 'always', command: once('al.ran', 0), restart: 'always' },
      { name: 'abnormal-exit1', command: 'exit 1', restart: 'on-abnormal' },
      { name: 'abnormal-137', command: once('ab.ran', 137), restart: 'on-abnormal' },
      { name: 'abnormal-kill', command: 'exec sleep 1000', restart: 'on-abnormal' },
      { name: 'fast', command: 'exec sleep 1000', restart: 'always', restart_sec: 0 },
      // what a crash leaves behind with restart_sec 0: a member of its group, or only an escapee to its own session
      { name: 'fast-group', command: 'sleep 1000 & exec sleep 1000', restart: 'always', restart_sec: 0 },
      { name: 'fast-escapee', command: 'setsid sleep 1000 & exec sleep 1000', restart: 'always', restart_sec: 0 },
      { name: 'done', command: 'exit 0', restart: 'on-failure' },
      // leaves a background child behind when it crashes: the restart must not run beside it
      { name: 'leaky', command: `sleep 1000 & echo $! >> leaky.pids; ${once('leaky.ran', 1)}`, restart: 'on-failure' },
      { name: 'talker', command: 'echo "out $GREETING home=$HOME"; echo err-line >&2; exec sleep 1000', env: { GREETING: 'hello' } },
      { name: 'argv', command: ['/bin/echo', '$NOT_EXPANDED', 'a;b'] },
    ]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  for (const name of ['fast-group', 'fast-escapee']) {
    test(`${name}: an immediate restart stops what the crashed run left behind, and spares the new run`, async () => {
      await waitFor(() => box.serviceProcesses(name).length === 2, 5_000, `${name}: main process and its child`);
      const previous = box.serviceProcesses(name);
      process.kill(box.service(name)!.pid!, 'SIGKILL');
      await box.waitForEvent(name, 'started', 2);
      await waitFor(() => previous.every((pid) => !alive(pid)), 5_000, `${name}: the crashed run's processes are gone`);
      await waitFor(() => box.serviceProcesses(name).length === 2, 5_000, `${name}: the new run's main process and its child`);
      const current = box.serviceProcesses(name);
      assert.ok(current.every((pid) => !previous.includes(pid) && alive(pid)), `${name}: the new run is whole and untouched`);
      assert.equal(box.service(name)!.state, 'running');
    });
  }

  test('on-failure restarts a service that exited 1; crashed and restarting events carry their fields', async () => {
    const service = await box.waitForState('on-failure', 'running', 10_000, (s) => s.restarts === 1);
    assert.equal(service.last_exit?.code, 1);
    await box.waitForEvent('on-failure', 'started', 2);
    const crashed = only(box.eventsOf('on-failure', 'crashed'), 'crashed event');
    assert.deepEqual(pick(crashed, ['exit_code', 'signal', 'restart_policy', 'will_restart', 'reason']),
      { exit_code: 1, signal: null, restart_policy: 'on-failure', will_restart: true, reason: 'exit code 1' });
    const restarting = only(box.eventsOf('on-failure', 'restarting'), 'restarting event');
    assert.deepEqual(pick(restarting, ['restart_attempt', 'max_restarts', 'reason']), { restart_attempt: 1, max_restarts: 0, reason: 'exit code 1' });
    assert.equal(box.eventsOf('on-failure', 'started').length, 2);
    assert.equal(box.serviceProcesses('on-failure').length, 1, 'one copy');
  });

  test('no leaves a crashed service failed, without a restart', async () => {
    const service = await box.waitForState('no', 'failed');
    assert.equal(service.restarts, 0);
    assert.equal(service.last_exit?.code, 1);
    const crashed = only(await box.waitForEvent('no', 'crashed'), 'crashed event');
    assert.deepEqual(pick(crashed, ['exit_code', 'signal', 'restart_policy', 'will_restart', 'reason']),
      { exit_code: 1, signal: null, restart_policy: 'no', will_restart: false, reason: 'exit code 1' });
    await delay(300); // three restart_sec: a wrong restart would have happened by now
    assert.equal(box.eventsOf('no', 'started').length, 1);
    assert.equal(box.eventsOf('no', 'restarting').length, 0);
  });

  test('always restarts a service that exited 0, recorded as exited (not crashed)', async () => {
    await box.waitForState('always', 'running', 10_000, (s) => s.restarts === 1);
    await box.waitForEvent('always', 'started', 2);
    const exited = only(box.eventsOf('always', 'exited'), 'exited event');
    assert.deepEqual(pick(exited, ['exit_code', 'restart_policy', 'will_restart']), { exit_code: 0, restart_policy: 'always', will_restart: true });
    assert.equal(box.eventsOf('always', 'crashed').length, 0);
  });

  test('on-abnormal ignores exit 1', async () => {
    await box.waitForState('abnormal-exit1', 'failed');
    await box.waitForEvent('abnormal-exit1', 'crashed');
    await delay(300);
    assert.equal(box.eventsOf('abnormal-exit1', 'started').length, 1);
    assert.equal(only(box.eventsOf('abnormal-exit1', 'crashed'), 'crashed event').will_restart, false);
  });

  test('on-abnormal restarts exit 137 (a shell reporting a signal)', async () => {
    await box.waitForState('abnormal-137', 'running', 10_000, (s) => s.restarts === 1);
    await box.waitForEvent('abnormal-137', 'started', 2);
    const crashed = only(box.eventsOf('abnormal-137', 'crashed'), 'crashed event');
    assert.deepEqual(pick(crashed, ['exit_code', 'will_restart', 'reason']), { exit_code: 137, will_restart: true, reason: 'exit code 137' });
  });

  test('on-abnormal restarts a SIGKILLed service', async () => {
    const before = await box.waitForState('abnormal-kill', 'running');
    process.kill(before.pid!, 'SIGKILL');
    const after = await box.waitForState('abnormal-kill', 'running', 10_000, (s) => s.pid !== before.pid);
    assert.equal(after.restarts, 1);
    assert.deepEqual(after.last_exit && { code: after.last_exit.code, signal: after.last_exit.signal }, { code: null, signal: 'SIGKILL' });
    await box.waitForEvent('abnormal-kill', 'started', 2);
    const crashed = only(box.eventsOf('abnormal-kill', 'crashed'), 'crashed event');
    assert.deepEqual(pick(crashed, ['exit_code', 'signal', 'restart_policy', 'will_restart', 'reason']),
      { exit_code: null, signal: 'SIGKILL', restart_policy: 'on-abnormal', will_restart: true, reason: 'killed by SIGKILL' });
  });

  test('an unrequested exit 0 that is not restarted leaves the service exited', async () => {
    const service = await box.waitForState('done', 'exited');
    assert.equal(service.last_exit?.code, 0);
    const exited = only(await box.waitForEvent('done', 'exited'), 'exited event');
    assert.deepEqual(pick(exited, ['exit_code', 'restart_policy', 'will_restart']), { exit_code: 0, restart_policy: 'on-failure', will_restart: false });
    assert.equal(box.eventsOf('done', 'crashed').length, 0);
  });

  test('a crash that leaves a background child behind: the child is stopped before the restart, one copy runs', async () => {
    await box.waitForState('leaky', 'running', 10_000, (s) => s.restarts === 1);
    const [first, second] = await waitFor(() => {
      const pids = readFileSync(box.path('leaky.pids'), 'utf8').trim().split('\n').map(Number);
      return pids.length === 2 ? pids : null;
    }, 5_000, 'two background sleeps recorded');
    assert.equal(alive(first!), false, 'the first run\'s background sleep is gone');
    assert.ok(alive(second!));
    assert.equal(box.serviceProcesses('leaky').length, 2, 'the second run: its background sleep and its main sleep');
  });

  test('stdout and stderr go to <state_dir>/logs/<service>.log; env is merged over the supervisor\'s; a list is argv', async () => {
    const log = (name: string) => {
      try {
        return readFileSync(join(box.stateDir, 'logs', `${name}.log`), 'utf8');
      } catch {
        return '';
      }
    };
    await waitFor(() => log('talker').includes('err-line'), 5_000, 'talker output in its log');
    assert.match(log('talker'), new RegExp(`^out hello home=${process.env.HOME ?? ''}$`, 'm'));
    await waitFor(() => log('argv').includes('$NOT_EXPANDED'), 5_000, 'argv output in its log');
    assert.equal(log('argv'), '$NOT_EXPANDED a;b\n', 'no shell between the config and the program');
  });

  test('crash detection: with restart_sec 0 the new process runs well under 1 s after a crash', async () => {
    for (let round = 0; round < 3; round++) {
      const before = await box.waitForState('fast', 'running');
      const killedAt = performance.now();
      process.kill(before.pid!, 'SIGKILL');
      const after = await box.waitForState('fast', 'running', 5_000, (s) => s.pid !== before.pid);
      const elapsed = performance.now() - killedAt;
      assert.ok(elapsed < 1_000, `round ${round}: new pid ${after.pid} running after ${Math.round(elapsed)} ms`);
    }
    await box.waitForEvent('fast', 'started', 4);
    const events = box.eventsOf('fast');
    for (const crashed of events.filter((event) => event.event === 'crashed')) {
      const next = events.find((event) => event.event === 'started' && event.time >= crashed.time);
      assert.ok(next, 'a start follows every crash');
      assert.ok(Date.parse(next.time) - Date.parse(crashed.time) < 1_000, `crashed ${crashed.time} → started ${next.time}`);
    }
    assert.equal(box.serviceProcesses('fast').length, 1, 'never two copies');
  });
});

describe('restart limit and cool-down', SUITE, () => {
  let box: Sandbox;
  before(async () => {
    box = new Sandbox([
      { name: 'limited', command: 'exit 1', restart: 'on-failure', restart_max: 2, restart_window: 60 },
      {
        name: 'cooled',
        // crashes on its first two runs, then stays up
        command: 'n=$(cat runs 2>/dev/null || echo 0); echo $((n + 1)) > runs; [ "$n" -ge 2 ] && exec sleep 1000; exit 1',
        restart: 'on-failure', restart_max: 1, restart_window: 60, restart_cooldown: '1s',
      },
      { name: 'waiting', command: 'exit 1', restart: 'on-failure', restart_sec: 30 },
    ]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('limit reached: failed, exactly one gave_up with its reason, no further restarts', async () => {
    await box.waitForEvent('limited', 'gave_up');
    const service = await box.waitForState('limited', 'failed');
    await delay(1_000); // ten restart_sec: a second gave_up or a restart would have shown by now
    assert.equal(only(box.eventsOf('limited', 'gave_up'), 'gave_up').reason, 'restart limit 2 in 60s reached');
    assert.equal(box.eventsOf('limited', 'crashed').length, 3);
    assert.deepEqual(box.eventsOf('limited', 'restarting').map((event) => event.restart_attempt), [1, 2]);
    assert.ok(box.eventsOf('limited', 'restarting').every((event) => event.max_restarts === 2));
    assert.equal(box.eventsOf('limited', 'started').length, 3);
    assert.equal(service.restarts, 2);
    assert.equal(box.service('limited')?.state, 'failed');
  });

  test('a user start resets the count: a fresh budget, then one more gave_up', async () => {
    const result = await box.cli(['start', 'limited']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /started limited \(pid \d+\)/);
    await box.waitForEvent('limited', 'gave_up', 2);
    await box.waitForState('limited', 'failed');
    await delay(500);
    assert.equal(box.eventsOf('limited', 'gave_up').length, 2);
    assert.equal(box.eventsOf('limited', 'crashed').length, 6);
    assert.equal(box.service('limited')?.restarts, 2);
  });

  test('backoff while waiting restart_sec; stop cancels the pending restart', async () => {
    const waiting = await box.waitForState('waiting', 'backoff');
    await box.waitForEvent('waiting', 'restarting');
    assert.match(String(waiting.reason), /exit code 1/);
    assert.equal(box.eventsOf('waiting', 'restarting').length, 1);
    const result = await box.cli(['stop', 'waiting']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /stopped waiting/);
    assert.equal(box.service('waiting')?.state, 'stopped');
    assert.equal(only(await box.waitForEvent('waiting', 'stopped'), 'stopped').reason, 'user stop');
    assert.equal(box.eventsOf('waiting', 'started').length, 1);
  });

  test('restart_cooldown: gave_up, then cooldown_retry with a fresh budget, then running', async () => {
    const retry = only(await box.waitForEvent('cooled', 'cooldown_retry', 1, 15_000), 'cooldown_retry');
    const service = await box.waitForState('cooled', 'running', 10_000);
    await box.waitForEvent('cooled', 'started', 3);
    const gaveUp = only(box.eventsOf('cooled', 'gave_up'), 'gave_up');
    assert.equal(gaveUp.reason, 'restart limit 1 in 60s reached');
    const waitedMs = Date.parse(retry.time) - Date.parse(gaveUp.time);
    assert.ok(waitedMs >= 900 && waitedMs < 5_000, `cool-down of 1s took ${waitedMs} ms`);
    const started = box.eventsOf('cooled', 'started');
    assert.equal(started.length, 3);
    assert.ok(started[2]!.time >= retry.time, 'the third start is the cool-down retry');
    assert.ok(alive(service.pid!));
  });
});

describe('stopping a process tree', SUITE, () => {
  let box: Sandbox;
  before(async () => {
    box = new Sandbox([
      // 12 descendants, 4 ignoring SIGTERM, one under setsid, some re-parented (see the fixture)
      { name: 'tree', command: [join(FIXTURES, 'tree.sh'), '12', '4'], env: { TREE_PIDS_FILE: 'tree.pids' } },
      { name: 'polite', command: 'sleep 1000 & sleep 1000 & exec sleep 1000', stop_timeout: 5 },
      { name: 'custom-signal', command: 'trap "echo got-int > int.txt; exit 0" INT; echo ready > int-ready.txt; while :; do sleep 0.1; done', stop_signal: 'SIGINT', stop_timeout: 5 },
    ]);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('stop leaves nothing of a 12-descendant tree alive, and returns within stop_timeout + 1 s', async () => {
    const lines = await waitFor(() => {
      const recorded = existsSync(box.path('tree.pids')) ? readFileSync(box.path('tree.pids'), 'utf8').trim().split('\n') : [];
      return recorded.length >= 13 ? recorded : null;
    }, 15_000, 'the 13 members of tree.sh');
    const members = lines.map((line) => Number(line.split(' ')[0]));
    assert.ok(members.every((pid) => alive(pid)), 'every member alive before the stop');
    assert.ok(members.some((pid) => procInfo(pid)!.sid !== procInfo(members[0]!)!.sid), 'one member left the session');
    assert.ok(box.serviceProcesses('tree').length >= 13);

    const baseline = await box.cli(['status', 'tree']);
    assert.equal(baseline.code, 0, baseline.stderr);
    const stopping = box.cli(['stop', 'tree']);
    const seen = new Set<string>();
    let done = false;
    void stopping.finally(() => { done = true; });
    while (!done) {
      const state = box.service('tree')?.state;
      if (state) seen.add(state);
      await delay(5);
    }
    const result = await stopping;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /stopped tree/);
    assert.ok(seen.has('stopping'), `state stopping shown during the stop (seen: ${[...seen].join(', ')})`);
    assert.ok(!seen.has('killing'), 'the internal state killing is shown as stopping');
    assert.deepEqual(members.filter((pid) => alive(pid)), [], 'no member survives');
    assert.deepEqual(box.serviceProcesses('tree'), [], 'no process carries the marker');
    const stopped = only(await box.waitForEvent('tree', 'stopped'), 'stopped');
    assert.equal(stopped.reason, 'user stop');
    assert.equal(stopped.forced, true, 'SIGTERM-ignoring members needed SIGKILL');
    assert.equal(stopped.survivors, 0);
    assert.ok(Number(stopped.stop_ms) <= 1_500, `stop took ${String(stopped.stop_ms)} ms (stop_timeout 0.5 s)`);
    // The CLI's own start-up is in both timings: what is left is the stop itself
    assert.ok(result.ms - baseline.ms <= 1_500, `stop returned after ${Math.round(result.ms)} ms, status takes ${Math.round(baseline.ms)} ms`);
    assert.equal(box.service('tree')?.state, 'stopped');
  });

  test('a tree that obeys SIGTERM is stopped without waiting for stop_timeout', async () => {
    await waitFor(() => box.serviceProcesses('polite').length === 3, 5_000, 'three polite processes');
    const result = await box.cli(['stop', 'polite']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(box.serviceProcesses('polite'), []);
    const stopped = only(await box.waitForEvent('polite', 'stopped'), 'stopped');
    assert.equal(stopped.forced, false);
    assert.ok(Number(stopped.stop_ms) < 2_000, `stop took ${String(stopped.stop_ms)} ms with stop_timeout 5 s`);
  });

  test('stop sends the configured stop_signal', async () => {
    await box.waitForState('custom-signal', 'running');
    await waitFor(() => existsSync(box.path('int-ready.txt')), 10_000, 'the SIGINT trap to be in place');
    const result = await box.cli(['stop', 'custom-signal']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(box.path('int.txt'), 'utf8'), 'got-int\n');
    assert.equal(only(await box.waitForEvent('custom-signal', 'stopped'), 'stopped').forced, false);
    assert.deepEqual(box.serviceProcesses('custom-signal'), []);
  });
});

describe('a running supervisor and the control CLI', SUITE, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  before(async () => {
    box = new Sandbox([
      { name: 'a', command: 'exec sleep 1000' },
      { name: 'b', command: '[ -e crash-b ] && exit 1; exec sleep 1000', restart: 'on-failure', restart_max: 1 },
      { name: 'idle', command: 'exec sleep 1000', autostart: false },
    ]);
    supervisor = await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('status --json: the documented fields, exit 0 while the supervisor runs', async () => {
    const result = await box.cli(['status', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { supervisor: Record<string, unknown>; services: Array<Record<string, unknown>>; events: EventRecord[] };
    assert.deepEqual(report.supervisor, { running: true, pid: supervisor.pid });
    assert.deepEqual(report.services.map((service) => service.name), ['a', 'b', 'idle']);
    for (const service of report.services) {
      for (const key of ['name', 'state', 'pid', 'restarts', 'uptime_s', 'last_exit']) assert.ok(key in service, `services[].${key}`);
      assert.equal(typeof service.restarts, 'number');
    }
    const [a, , idle] = report.services;
    assert.equal(a!.state, 'running');
    assert.equal(a!.pid, box.service('a')!.pid);
    assert.equal(typeof a!.uptime_s, 'number');
    assert.equal(a!.last_exit, null);
    assert.deepEqual(pick(idle!, ['state', 'pid', 'uptime_s', 'last_exit']), { state: 'stopped', pid: null, uptime_s: null, last_exit: null });
    assert.ok(Array.isArray(report.events) && report.events.length > 0 && report.events.length <= 10);
    for (const event of report.events) assert.ok(typeof event.event === 'string' && !Number.isNaN(Date.parse(event.time)));
  });

  test('status SERVICE --json lists only that service; the table names the supervisor', async () => {
    const one = await box.cli(['status', 'a', '--json']);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual((JSON.parse(one.stdout) as { services: Array<{ name: string }> }).services.map((s) => s.name), ['a']);
    const table = await box.cli(['status']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`supervisor: running \\(pid ${supervisor.pid}\\)`));
    assert.match(table.stdout, /^a\s+running\s+\d+/m);
  });

  test('state.json, supervisor.pid and pids/<service>.pid exist and match the processes', async () => {
    const state = box.state()!;
    assert.equal(state.supervisor.pid, supervisor.pid);
    assert.equal(readPidFile(join(box.stateDir, 'supervisor.pid')), supervisor.pid);
    for (const name of ['a', 'b']) {
      const service = state.services.find((s) => s.name === name)!;
      assert.equal(service.state, 'running');
      assert.equal(readPidFile(join(box.stateDir, 'pids', `${name}.pid`)), service.pid);
      assert.deepEqual(box.serviceProcesses(name), [service.pid]);
    }
    assert.equal(existsSync(join(box.stateDir, 'pids', 'idle.pid')), false);
    assert.equal(statSync(socketPath(box.stateDir)).mode & 0o777, 0o600, 'control.sock is mode 0600');
    await box.waitForEvent('b', 'started');
    const started = only(box.events().filter((event) => event.event === 'supervisor_started'), 'supervisor_started');
    assert.equal(started.pid, supervisor.pid);
    for (const event of box.events()) assert.ok(!Number.isNaN(Date.parse(event.time)) && typeof event.event === 'string', JSON.stringify(event));
  });

  test('stop prints what it did and returns once the process is gone', async () => {
    const pid = box.service('a')!.pid!;
    const since = new Date().toISOString();
    const result = await box.cli(['stop', 'a']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /stopped a/);
    assert.equal(alive(pid), false);
    assert.equal(box.service('a')!.state, 'stopped');
    assert.equal(existsSync(join(box.stateDir, 'pids', 'a.pid')), false);
    assert.equal((await box.waitForEventSince('a', 'stopped', since)).reason, 'user stop');
  });

  test('start prints the new pids and returns once they run', async () => {
    const result = await box.cli(['start', 'a', 'idle']);
    assert.equal(result.code, 0, result.stderr);
    for (const name of ['a', 'idle']) {
      const pid = Number(result.stdout.match(new RegExp(`started ${name} \\(pid (\\d+)\\)`))?.[1]);
      assert.ok(alive(pid), `${name} pid ${pid} running on return`);
      assert.equal(box.service(name)!.pid, pid);
      assert.equal(readPidFile(join(box.stateDir, 'pids', `${name}.pid`)), pid);
    }
  });

  test('restart replaces the process and says so', async () => {
    const old = box.service('a')!.pid!;
    const since = new Date().toISOString();
    const result = await box.cli(['restart', 'a']);
    assert.equal(result.code, 0, result.stderr);
    const pid = Number(result.stdout.match(/restarted a \(pid (\d+)\)/)?.[1]);
    assert.notEqual(pid, old);
    assert.equal(alive(old), false);
    assert.ok(alive(pid));
    assert.deepEqual(box.serviceProcesses('a'), [pid]);
    assert.equal((await box.waitForEventSince('a', 'stopped', since)).reason, 'user restart');
  });

  test('force-restart restarts at once and resets the restart limit of a failed service', async () => {
    writeFileSync(box.path('crash-b'), '');
    process.kill(box.service('b')!.pid!, 'SIGKILL');
    await box.waitForEvent('b', 'gave_up');
    const failed = await box.waitForState('b', 'failed');
    assert.equal(failed.restarts, 1);
    rmSync(box.path('crash-b'));
    const oldA = box.service('a')!.pid!;
    const since = new Date().toISOString();
    const result = await box.cli(['force-restart', 'a', 'b']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /restarted a \(pid \d+\)/);
    assert.match(result.stdout, /restarted b \(pid \d+\)/);
    const b = box.service('b')!;
    assert.equal(b.state, 'running');
    assert.equal(b.restarts, 0);
    assert.ok(alive(b.pid!));
    assert.equal(alive(oldA), false);
    assert.equal((await box.waitForEventSince('a', 'stopped', since)).reason, 'user force-restart');
  });

  test('stop and start without names act on every service', async () => {
    const stop = await box.cli(['stop']);
    assert.equal(stop.code, 0, stop.stderr);
    for (const name of ['a', 'b', 'idle']) assert.match(stop.stdout, new RegExp(`stopped ${name}`));
    assert.deepEqual(box.serviceProcesses(), []);
    const start = await box.cli(['start']);
    assert.equal(start.code, 0, start.stderr);
    for (const name of ['a', 'b', 'idle']) {
      assert.match(start.stdout, new RegExp(`started ${name} \\(pid \\d+\\)`));
      assert.equal(box.service(name)?.state, 'running');
    }
    assert.equal(box.serviceProcesses().length, 3);
  });

  test('an unknown service: non-zero exit, a clear message, nothing done', async () => {
    const pid = box.service('a')!.pid!;
    const stop = await box.cli(['stop', 'a', 'nope']);
    assert.notEqual(stop.code, 0);
    assert.match(stop.stderr, /unknown service "nope"/);
    assert.equal(box.service('a')!.pid, pid);
    assert.ok(alive(pid), 'the known service of the refused request still runs');
    const status = await box.cli(['status', 'nope']);
    assert.notEqual(status.code, 0);
    assert.match(status.stderr, /nope/);
  });

  test('SIGHUP does not kill the supervisor', async () => {
    const pid = box.service('a')!.pid!;
    process.kill(supervisor.pid, 'SIGHUP');
    const status = await box.cli(['status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.ok(alive(supervisor.pid));
    assert.equal(supervisor.child!.exitCode, null);
    assert.ok(alive(pid));
  });

  test('status answers quickly even when the supervisor is wedged (SIGSTOP)', async (t) => {
    process.kill(supervisor.pid, 'SIGSTOP');
    t.after(() => process.kill(supervisor.pid, 'SIGCONT'));
    const status = await box.cli(['status', '--json'], { timeoutMs: 10_000 });
    assert.equal(status.signal, null, 'status did not hang');
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { services: Array<{ name: string; state: string }> }).services[0]!.state, 'running');
  });

  test('status and stop work while the config file on disk is invalid (state_dir read leniently)', async (t) => {
    const good = readFileSync(box.configFile, 'utf8');
    t.after(() => writeFileSync(box.configFile, good));
    writeFileSync(box.configFile, 'state_dir: state   # kept\nservices:\n  - name: a\n    command: [unclosed\n  bogus: : :\n');
    const check = await box.cli(['config', '--check']);
    assert.equal(check.code, 2);
    const status = await box.cli(['status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual((JSON.parse(status.stdout) as { services: Array<{ name: string }> }).services.map((s) => s.name), ['a', 'b', 'idle']);
    const stop = await box.cli(['stop', 'idle']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /stopped idle/);
    assert.deepEqual(box.serviceProcesses('idle'), []);
  });

  test('SIGTERM: every service stopped, pid file and socket removed, exit 0', async () => {
    assert.ok(box.serviceProcesses().length >= 2);
    process.kill(supervisor.pid, 'SIGTERM');
    const exit = await Promise.race([supervisor.exited, delay(10_000).then(() => 'timeout' as const)]);
    assert.deepEqual(exit, { code: 0, signal: null }, supervisor.output());
    assert.deepEqual(box.serviceProcesses(), []);
    assert.equal(existsSync(join(box.stateDir, 'supervisor.pid')), false);
    assert.equal(existsSync(socketPath(box.stateDir)), false);
    const events = box.events();
    assert.equal(events.at(-1)!.event, 'supervisor_stopped');
    for (const name of ['a', 'b']) assert.match(String(box.eventsOf(name, 'stopped').at(-1)!.reason), /SIGTERM/);
  });

  test('without a supervisor: status exits 3 with the last known state, control commands fail clearly', async () => {
    const status = await box.cli(['status', '--json']);
    assert.equal(status.code, 3, status.stderr);
    const report = JSON.parse(status.stdout) as { supervisor: unknown; services: Array<{ name: string; state: string; pid: unknown }> };
    assert.deepEqual(report.supervisor, { running: false, pid: null });
    assert.deepEqual(report.services.map((s) => [s.name, s.state, s.pid]), [['a', 'stopped', null], ['b', 'stopped', null], ['idle', 'stopped', null]]);
    const table = await box.cli(['status']);
    assert.equal(table.code, 3);
    assert.match(table.stdout, /not running/);
    const stop = await box.cli(['stop', 'a']);
    assert.notEqual(stop.code, 0);
    assert.match(stop.stderr, /no supervisor/);
  });
});

describe('a spawn that throws instead of emitting error', SUITE, () => {
  let box: Sandbox;
  after(() => box?.cleanup());

  test('an environment string over the kernel\'s 128 KB limit (E2BIG) fails that service only', async () => {
    box = new Sandbox([
      { name: 'huge-env', command: 'exec sleep 1000', env: { BIG: 'x'.repeat(200_000) } },
      { name: 'fine', command: 'exec sleep 1000' },
    ]);
    await box.startSupervisor();
    const [crashed] = await box.waitForEvent('huge-env', 'crashed');
    assert.match(String(crashed!.reason), /spawn failed: E2BIG/);
    await box.waitForState('huge-env', 'failed');
    await box.waitForState('fine', 'running');
    assert.equal((await box.cli(['status', 'fine'])).code, 0, 'the supervisor runs on');
  });
});

describe('a second supervisor on the same state_dir', SUITE, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  before(async () => {
    box = new Sandbox([{ name: 'a', command: 'exec sleep 1000' }]);
    supervisor = await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('--detach says already running and exits 0; a foreground one is refused with exit 1; the first is untouched', async () => {
    const pid = box.service('a')!.pid!;
    const detached = await box.run(['--detach']);
    assert.equal(detached.code, 0, detached.stderr);
    assert.match(detached.stdout, new RegExp(`already running \\(pid ${supervisor.pid}\\)`));
    const second = await box.run();
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`already running \\(pid ${supervisor.pid}\\)`));

    assert.ok(alive(supervisor.pid));
    assert.equal(readPidFile(join(box.stateDir, 'supervisor.pid')), supervisor.pid, 'supervisor.pid is kept');
    assert.ok(existsSync(socketPath(box.stateDir)), 'the control socket is kept');
    assert.equal(box.state()?.supervisor.pid, supervisor.pid, 'state.json still describes the running supervisor');
    assert.equal(box.service('a')?.pid, pid, 'state.json still lists the running services');
    const status = await box.cli(['status', '--json']);
    assert.equal(status.code, 0, status.stdout);
    const restart = await box.cli(['restart', 'a']);
    assert.equal(restart.code, 0, restart.stderr);
    assert.equal(box.serviceProcesses('a').length, 1);
  });
});

describe('the lock alone keeps a second supervisor out', SUITE, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  before(async () => {
    box = new Sandbox([{ name: 'a', command: 'exec sleep 1000' }]);
    supervisor = await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('with supervisor.pid deleted, --detach does not start a second supervisor beside the live one', async () => {
    const pid = box.service('a')!.pid!;
    rmSync(join(box.stateDir, 'supervisor.pid'));
    const detached = await box.run(['--detach'], { timeoutMs: 15_000 });
    assert.doesNotMatch(detached.stdout, /supervisor started/, `${detached.stdout}${detached.stderr}`);
    assert.deepEqual(processesMentioning(box.configFile), [supervisor.pid], 'one supervisor process for this config');
    assert.ok(alive(pid), 'the live supervisor\'s service was not stopped as a leftover');
  });
});

describe('a SIGKILLed supervisor, started again', SUITE, () => {
  let box: Sandbox;
  let second: Supervisor | undefined;
  before(() => {
    box = new Sandbox([
      { name: 'one', command: 'exec sleep 1000' },
      { name: 'two', command: 'sleep 1000 & exec sleep 1000' },
      { name: 'escapee', command: 'setsid sleep 1000 & exec sleep 1000' },
    ]);
  });
  after(() => box?.cleanup());

  test('stops what its predecessor left running: no duplicates, no orphans', async () => {
    const expected = { one: 1, two: 2, escapee: 2 };
    const counts = () => Object.fromEntries(Object.keys(expected).map((name) => [name, box.serviceProcesses(name).length]));
    const first = await box.startSupervisor();
    await waitFor(() => JSON.stringify(counts()) === JSON.stringify(expected), 5_000, `service processes ${JSON.stringify(expected)}`);
    const leftovers = box.serviceProcesses();
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    assert.ok(leftovers.every((pid) => alive(pid)), 'the services outlive a SIGKILLed supervisor');

    const startedAt = performance.now();
    second = await box.startSupervisor();
    assert.ok(performance.now() - startedAt < 8_000, 'the lock of a SIGKILLed supervisor does not block');
    assert.deepEqual(leftovers.filter((pid) => alive(pid)), [], 'every process of the old supervisor is gone');
    assert.deepEqual(counts(), expected, 'exactly one copy of each service');
    for (const name of Object.keys(expected)) {
      assert.match(String((await box.waitForEvent(name, 'stopped'))[0]!.reason), /previous supervisor/);
      assert.ok(alive(box.service(name)!.pid!));
    }
    assert.equal(readPidFile(join(box.stateDir, 'supervisor.pid')), second.pid);
  });

  test('SIGINT, like SIGTERM, stops every service and exits 0', async () => {
    assert.ok(second, 'the supervisor of the previous test runs');
    assert.equal(box.serviceProcesses().length, 5);
    process.kill(second.pid, 'SIGINT');
    const exit = await Promise.race([second.exited, delay(10_000).then(() => 'timeout' as const)]);
    assert.deepEqual(exit, { code: 0, signal: null }, second.output());
    assert.deepEqual(box.serviceProcesses(), []);
    assert.equal(existsSync(join(box.stateDir, 'supervisor.pid')), false);
    assert.equal(existsSync(socketPath(box.stateDir)), false);
    assert.match(String(box.eventsOf('one', 'stopped').at(-1)!.reason), /SIGINT/);
  });
});

describe('entry points', SUITE, () => {
  test('--detach from / under a cron-like environment: returns once services run, supervisor in its own session', async (t) => {
    const box = new Sandbox([{ name: 'a', command: 'exec sleep 1000' }]);
    t.after(() => box.cleanup());
    const detach = await runCommand('/usr/bin/env', [...CRON_ENV, RUN, '--detach', '--config', box.configFile], { cwd: '/' });
    assert.equal(detach.code, 0, detach.stdout + detach.stderr);
    const pid = Number(detach.stdout.match(/\(pid (\d+)\)/)?.[1]);
    assert.ok(pid > 0, detach.stdout);
    box.track(pid);
    // No waiting: the service runs when --detach returns
    const service = box.service('a');
    assert.equal(service?.state, 'running');
    assert.ok(alive(service.pid!));
    assert.equal(readPidFile(join(box.stateDir, 'supervisor.pid')), pid);
    const stat = procInfo(pid)!;
    assert.notEqual(stat.sid, procInfo(process.pid)!.sid, 'not in the session of whoever launched it');
    assert.equal(stat.sid, pid, 'leader of its own session');

    const again = await runCommand('/usr/bin/env', [...CRON_ENV, RUN, '--detach', '--config', box.configFile], { cwd: '/' });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`already running \\(pid ${pid}\\)`));

    const status = await runCommand('/usr/bin/env', [...CRON_ENV, CLI, 'status', '--json', '--config', box.configFile], { cwd: '/' });
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { supervisor: { pid: number } }).supervisor.pid, pid);
    const viaEnv = await runCommand('/usr/bin/env', [...CRON_ENV, `RESTART_CONTROL_CONFIG=${box.configFile}`, CLI, 'status'], { cwd: '/' });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const relative = await runCommand(CLI, ['--config', 'restart-control.yaml', 'status'], { cwd: box.dir });
    assert.equal(relative.code, 0, relative.stderr);
    const byDefault = await runCommand(CLI, ['status'], { cwd: box.dir });
    assert.equal(byDefault.code, 0, `./restart-control.yaml in the current directory is the default: ${byDefault.stderr}`);

    const shutdown = await box.cli(['shutdown']);
    assert.equal(shutdown.code, 0, shutdown.stderr);
    assert.equal(alive(pid), false, 'shutdown returns once the supervisor is gone');
    assert.deepEqual(box.serviceProcesses(), []);
  });

  test('--help on the entry points and every command', async () => {
    const runs = await Promise.all([
      runCommand(RUN, ['--help'], { cwd: '/' }),
      ...[[], ['status'], ['start'], ['stop'], ['restart'], ['force-restart'], ['shutdown'], ['config']].map((command) => runCommand(CLI, [...command, '--help'], { cwd: '/' })),
    ]);
    for (const result of runs) {
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Usage:/);
    }
  });

  test('a state_dir too deep for a unix socket path still works', async (t) => {
    const deep = `deep/${'x'.repeat(60)}/${'y'.repeat(60)}`;
    const box = new Sandbox([{ name: 'a', command: 'exec sleep 1000' }], { stateDir: deep });
    t.after(() => box.cleanup());
    assert.ok(Buffer.byteLength(join(box.stateDir, 'control.sock')) > 108);
    const supervisor = await box.startSupervisor();
    const restart = await box.cli(['restart', 'a']);
    assert.equal(restart.code, 0, restart.stderr);
    assert.match(restart.stdout, /restarted a \(pid \d+\)/);
    const status = await box.cli(['status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const shutdown = await box.cli(['shutdown']);
    assert.equal(shutdown.code, 0, shutdown.stderr);
    assert.deepEqual(await supervisor.exited, { code: 0, signal: null });
    assert.equal(existsSync(socketPath(box.stateDir)), false, 'the socket is removed');
  });

  test('a config written as JSON (valid YAML 1.2): the CLI finds its state_dir', async (t) => {
    const box = new Sandbox([{ name: 'a', command: 'exec sleep 1000' }], { stateDir: 'json-state' });
    t.after(() => box.cleanup());
    writeFileSync(box.configFile, JSON.stringify({ state_dir: 'json-state', services: [{ name: 'a', command: 'exec sleep 1000', stop_timeout: 0.5 }] }, null, 2));
    const supervisor = await box.startSupervisor();
    const status = await box.cli(['status', '--json']);
    assert.equal(status.code, 0, `status did not find the running supervisor (pid ${supervisor.pid}): ${status.stdout}`);
  });
});
