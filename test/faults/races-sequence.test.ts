/**
 * Faults: a restart sequence, a reload, a user's stop and a shutdown landing on each other. Real ./run.ts and CLI.
 * The races are driven by hooks and services that block reading a fifo (`read x < gate.fifo`) until the test writes
 * to it: the test acts while the supervisor is provably inside the step, never after a sleep.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import { waitFor } from '../helpers.ts';
import { FAST, sandbox, type Sandbox, type ServiceSpec } from '../support.ts';

const SUITE = { timeout: 120_000 };
const SLEEPER = 'exec sleep 1000';

/** A gate: `command()` is shell text that marks its arrival and blocks until `open()`. */
function gate(box: Sandbox, name: string) {
  const fifo = box.path(`${name}.fifo`);
  const arrived = box.path(`${name}.arrived`);
  execFileSync('mkfifo', [fifo]);
  return {
    command: `touch ${name}.arrived; read x < ${name}.fifo`,
    reached: () => waitFor(() => existsSync(arrived), 15_000, `${name} reached`, 20),
    open: () => writeFile(fifo, 'go\n'),
  };
}

function writeConfig(box: Sandbox, services: ServiceSpec[], globals: Record<string, unknown> = {}): void {
  writeFileSync(box.configFile, stringify({ state_dir: 'state', ...globals, services: services.map((service) => ({ ...FAST, ...service })) }));
}

function startedSince(box: Sandbox, service: string, since: string): number {
  return box.eventsOf(service, 'started').filter((event) => event.time >= since).length;
}

describe('the restart sequence against concurrent changes', SUITE, () => {
  test('a service removed by a reload during pre_restart is not started; one the user stopped during pre_restart or post_stop stays stopped', async (t) => {
    const box = sandbox(t, []);
    const pre = gate(box, 'pre');
    const post = gate(box, 'post');
    const hooks = { hooks: { pre_restart: [pre.command], post_stop: [post.command] }, gpu: { cleanup: 'off' } };
    const all = ['a', 'b', 'c', 'd'].map((name) => ({ name, command: SLEEPER }));
    writeConfig(box, all, hooks);
    const supervisor = await box.startSupervisor();
    const before = Object.fromEntries(['a', 'b', 'c', 'd'].map((name) => [name, box.service(name)!.pid]));
    const since = new Date().toISOString();
    const forced = box.cli(['force-restart'], { timeoutMs: 60_000 });

    await pre.reached(); // the sequence has taken its list and waits in pre_restart
    writeConfig(box, all.filter((service) => service.name !== 'c'), hooks);
    assert.equal((await box.cli(['reload'])).code, 0);
    assert.equal((await box.cli(['stop', 'b'])).code, 0);
    await pre.open();

    await post.reached(); // the sequence has stopped a, d: a user's stop now must still count
    assert.equal((await box.cli(['stop', 'a'])).code, 0);
    await post.open();

    const result = await forced;
    assert.equal(result.code, 0, result.stderr);
    const d = await box.waitForState('d', 'running', 10_000, (snapshot) => snapshot.pid !== before.d);
    assert.ok(d.pid, 'd, untouched by anyone, was restarted');
    await delay(300); // a wrong start would have happened by now: the sequence has returned
    assert.equal(box.service('a')?.state, 'stopped');
    assert.equal(box.service('b')?.state, 'stopped');
    assert.equal(box.service('c'), undefined, 'c left the config');
    for (const name of ['a', 'b', 'c']) {
      assert.deepEqual(box.serviceProcesses(name), [], `no process of ${name}`);
      assert.equal(startedSince(box, name, since), 0, `${name} was not started`);
    }
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;
  });
});

describe('reload against shutdown', SUITE, () => {
  test('a service added by a reload while shutdown runs is never started, and nothing outlives the supervisor', async (t) => {
    const box = sandbox(t, []);
    const held = gate(box, 'held');
    // Its stop blocks in the TERM trap until the test opens the gate: a reload that restarts it stays in progress
    const slow = { name: 's', command: `trap '${held.command}; exit 0' TERM; echo ready; while :; do sleep 0.2; done`, stop_timeout: 60, env: { V: '1' } };
    writeConfig(box, [slow]);
    const supervisor = await box.startSupervisor();
    await waitFor(() => box.service('s')?.state === 'running', 10_000, 's running');
    await delay(200); // the trap is set before `ready`; the service runs its loop

    writeConfig(box, [{ ...slow, env: { V: '2' } }]);
    const first = box.cli(['reload'], { timeoutMs: 60_000 }); // restarts s: its stop blocks in the trap
    await held.reached();
    const since = new Date().toISOString();
    writeConfig(box, [{ ...slow, env: { V: '2' } }, { name: 'n', command: SLEEPER }]);
    process.kill(supervisor.pid, 'SIGHUP'); // a second reload, waiting behind the first: it would add n
    process.kill(supervisor.pid, 'SIGTERM');
    await held.open();
    const exit = await supervisor.exited;
    assert.equal(exit.code, 0, supervisor.output());
    await first;
    assert.equal(startedSince(box, 'n', since), 0, 'n was never started');
    assert.deepEqual(box.serviceProcesses(), [], 'nothing of ours outlives the supervisor');
  });
});

describe('restart SVC against reload', SUITE, () => {
  test('restart SVC applies the new config like reload: its watcher follows the new watch paths', async (t) => {
    const box = sandbox(t, []);
    for (const dir of ['src-a', 'src-b']) mkdirSync(box.path(dir));
    const service = { name: 'w', command: SLEEPER, watch_debounce: '200ms' };
    writeConfig(box, [{ ...service, watch: ['src-a'] }, { name: 'other', command: SLEEPER }]);
    const supervisor = await box.startSupervisor();
    writeConfig(box, [{ ...service, watch: ['src-b'], env: { V: '2' } }, { name: 'other', command: SLEEPER, env: { V: '2' } }]);
    const restarted = await box.cli(['restart', 'w']);
    assert.equal(restarted.code, 0, restarted.stderr);
    const other = box.service('other')!.pid;

    const since = new Date().toISOString();
    writeFileSync(join(box.path('src-b'), 'new.py'), 'x = 1\n');
    const event = await box.waitForEventSince('w', 'watch_restart', since, 10_000);
    assert.deepEqual(event.paths, ['src-b/new.py']);
    assert.equal(box.service('other')!.pid, other, 'restart w restarted only w');

    const later = new Date().toISOString();
    writeFileSync(join(box.path('src-a'), 'old.py'), 'x = 1\n');
    await delay(1_000); // well past the 200 ms debounce
    assert.equal(box.eventsOf('w', 'watch_restart').filter((record) => record.time >= later).length, 0, 'the old path is no longer watched');
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;
  });
});
