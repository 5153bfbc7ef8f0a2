/**
 * Stops are bounded. A process in uninterruptible sleep (D) ignores even SIGKILL until it wakes: a cgroup-v1 freezer
 * makes a real one (a frozen task that got SIGKILL shows state D). A stop must record it by pid and command and
 * return; the service's queue and the shutdown must go on.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../helpers.ts';
import { Sandbox, alive, procInfo } from '../support.ts';

const FREEZER = '/sys/fs/cgroup/freezer';

function makeFreezer(): string | null {
  if (!existsSync(join(FREEZER, 'cgroup.procs'))) return null;
  const group = join(FREEZER, `rc-test-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(group);
    return group;
  } catch {
    return null;
  }
}

function freeze(group: string, pid: number): void {
  writeFileSync(join(group, 'cgroup.procs'), String(pid));
  writeFileSync(join(group, 'freezer.state'), 'FROZEN');
}

test('a service process stuck in D state: stop returns with the survivor named, start works after, shutdown ends', async (t) => {
  const group = makeFreezer();
  if (!group) {
    t.skip('no writable cgroup-v1 freezer here: cannot make a process in uninterruptible sleep');
    return;
  }
  const box = new Sandbox([{ name: 'stuck', command: ['sleep', '1000'], stop_timeout: 0.5 }]);
  t.after(async () => {
    writeFileSync(join(group, 'freezer.state'), 'THAWED');
    await box.cleanup();
    await waitFor(() => { try { rmdirSync(group); return true; } catch { return false; } }, 5_000, 'freezer group removed').catch(() => undefined);
  });
  const supervisor = await box.startSupervisor();
  const first = (await box.waitForState('stuck', 'running')).pid!;
  freeze(group, first);
  const stop = await box.cli(['stop', 'stuck'], { timeoutMs: 30_000 });
  assert.equal(stop.code, 0, stop.stderr);
  assert.ok(stop.ms < 12_000, `stop returned after ${Math.round(stop.ms)} ms (stop_timeout 0.5 s + bounded SIGKILL wait)`);
  assert.equal(procInfo(first)?.state, 'D', 'the process really is stuck in D state');
  const stopped = (await box.waitForEvent('stuck', 'stopped')).at(-1)!;
  assert.equal(stopped.survivors, 1);
  assert.deepEqual(stopped.survivor_processes, [{ pid: first, command: 'sleep 1000', state: 'D' }]);
  assert.match(String(stopped.reason), new RegExp(`still alive after SIGKILL: ${first} \\(sleep 1000, state D\\)`));
  // The queue is not wedged: a start goes through
  const start = await box.cli(['start', 'stuck'], { timeoutMs: 30_000 });
  assert.equal(start.code, 0, start.stderr);
  const second = (await box.waitForState('stuck', 'running')).pid!;
  assert.notEqual(second, first);
  // Shutdown with a stuck process too: bounded, and the supervisor exits
  freeze(group, second);
  const shutdown = await box.cli(['shutdown', '--timeout', '40s'], { timeoutMs: 60_000 });
  assert.equal(shutdown.code, 0, shutdown.stdout + shutdown.stderr);
  assert.match(shutdown.stdout, /supervisor stopped/);
  await supervisor.exited;
  assert.ok(!alive(supervisor.pid));
  writeFileSync(join(group, 'freezer.state'), 'THAWED');
  await waitFor(() => !alive(first) && !alive(second), 5_000, 'the thawed processes to die of their pending SIGKILL');
});

test('shutdown --timeout says what is left when the supervisor takes longer', async (t) => {
  // A service that ignores SIGTERM with a stop_timeout longer than the CLI's limit
  const box = new Sandbox([{ name: 'slow', command: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done'], stop_timeout: 20 }]);
  t.after(() => box.cleanup());
  await box.startSupervisor();
  await box.waitForState('slow', 'running');
  const result = await box.cli(['shutdown', '--timeout', '1s'], { timeoutMs: 30_000 });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stderr, /still shutting down after 1s; still running: slow \(pid \d+, stopping\)/);
});
