/**
 * The lock after a kill or a reboot. Repro: `run.ts --detach`, `kill -9` it, wait 12 s, start again: it failed with
 * ENOTEMPTY (proper-lockfile rmdir'ed the lock while our holder file was inside), and so did every later start.
 * The wait is replaced by ageing the lock past the library's stale time (10 s) with utimes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../helpers.ts';
import { Sandbox, alive, killQuietly } from '../support.ts';

function ageLock(stateDir: string): void {
  const old = new Date(Date.now() - 3_600_000);
  const lockDir = join(stateDir, 'supervisor.lock');
  for (const name of readdirSync(lockDir)) utimesSync(join(lockDir, name), old, old);
  utimesSync(lockDir, old, old);
}

async function killSupervisorHard(box: Sandbox): Promise<number> {
  const pid = Number(readFileSync(join(box.stateDir, 'supervisor.pid'), 'utf8').trim());
  box.track(pid);
  killQuietly(pid, 'SIGKILL');
  await waitFor(() => !alive(pid), 5_000, 'the supervisor to die');
  return pid;
}

test('kill -9 a detached supervisor, age its lock past the stale time: the next start works (and the one after)', async (t) => {
  const box = new Sandbox([{ name: 'api', command: ['sleep', '1000'] }]);
  t.after(() => box.cleanup());
  for (let round = 0; round < 2; round++) {
    const started = await box.run(['--detach']);
    assert.equal(started.code, 0, `round ${round}: ${started.stdout}${started.stderr}`);
    assert.match(started.stdout, /supervisor started/);
    await box.waitForState('api', 'running');
    await killSupervisorHard(box);
    ageLock(box.stateDir);
  }
  const last = await box.run(['--detach']);
  assert.equal(last.code, 0, last.stderr);
  assert.doesNotMatch(last.stdout + last.stderr, /ENOTEMPTY/);
  await box.waitForState('api', 'running');
  assert.equal((await box.cli(['shutdown'])).code, 0);
});

test('two supervisors started at once on a dead holder aged lock (the @reboot and */5 cron lines): exactly one runs', async (t) => {
  const box = new Sandbox([{ name: 'api', command: ['sleep', '1000'] }]);
  t.after(() => box.cleanup());
  assert.equal((await box.run(['--detach'])).code, 0);
  await box.waitForState('api', 'running');
  await killSupervisorHard(box);
  ageLock(box.stateDir);
  const [first, second] = await Promise.all([box.run(['--detach']), box.run(['--detach'])]);
  const outputs = [first, second].map((result) => `${result.code}: ${result.stdout}${result.stderr}`);
  assert.equal(first.code, 0, outputs.join('\n'));
  assert.equal(second.code, 0, outputs.join('\n'));
  assert.equal(outputs.filter((output) => /supervisor started/.test(output)).length, 1, outputs.join('\n'));
  assert.equal(outputs.filter((output) => /already running/.test(output)).length, 1, outputs.join('\n'));
  await box.waitForState('api', 'running');
  assert.equal(box.serviceProcesses('api').length, 1, 'one copy of the service');
});
