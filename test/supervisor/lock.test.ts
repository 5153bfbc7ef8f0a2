import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AlreadyRunningError, acquireSupervisorLock } from '../../lib/supervisor/lock.ts';
import { makeTempDir } from '../helpers.ts';
import { cleanEnv, runCommand } from '../support.ts';

const temp = makeTempDir('rc-lock-');
after(() => temp.remove());

function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$']);
  return Number(child.stdout.toString().trim());
}

test('a held lock is refreshed without being taken for compromised, and released cleanly', async () => {
  const target = join(temp.path, 'a', 'supervisor');
  mkdirSync(join(temp.path, 'a'));
  const compromised: Error[] = [];
  const release = await acquireSupervisorLock(target, join(temp.path, 'a', 'supervisor.pid'), (error) => compromised.push(error));
  assert.equal(readFileSync(`${target}.lock/holder`, 'utf8').trim(), String(process.pid));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(compromised, []);
  await release();
  assert.equal(existsSync(`${target}.lock`), false);
});

test('a lock whose holder is alive is refused with its pid', async () => {
  const target = join(temp.path, 'b', 'supervisor');
  mkdirSync(`${target}.lock`, { recursive: true });
  writeFileSync(`${target}.lock/holder`, `${process.pid}\n`);
  await assert.rejects(acquireSupervisorLock(target, join(temp.path, 'b', 'supervisor.pid'), () => undefined),
    (error: unknown) => error instanceof AlreadyRunningError && error.pid === process.pid);
});

test('a lock left by a dead holder (SIGKILLed supervisor) never blocks', async () => {
  const target = join(temp.path, 'c', 'supervisor');
  mkdirSync(`${target}.lock`, { recursive: true });
  writeFileSync(`${target}.lock/holder`, `${deadPid()}\n`);
  const started = Date.now();
  const release = await acquireSupervisorLock(target, join(temp.path, 'c', 'supervisor.pid'), () => undefined);
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  await release();
});

/** A lock as a SIGKILLed supervisor leaves it, aged far past any stale time (proper-lockfile's was 10 s). */
function plantAgedLock(target: string, holderPid: number): void {
  mkdirSync(`${target}.lock`, { recursive: true });
  writeFileSync(`${target}.lock/holder`, `${holderPid}\n`);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(`${target}.lock/holder`, old, old);
  utimesSync(`${target}.lock`, old, old);
}

test('a lock of a dead holder aged past the stale time is taken (no ENOTEMPTY), and released', async () => {
  const target = join(temp.path, 'd', 'supervisor');
  plantAgedLock(target, deadPid());
  const release = await acquireSupervisorLock(target, join(temp.path, 'd', 'supervisor.pid'), () => undefined);
  assert.equal(readFileSync(`${target}.lock/holder`, 'utf8').trim(), String(process.pid));
  await release();
  assert.equal(existsSync(`${target}.lock`), false);
});

test('a lock of a live holder aged past the stale time is never stolen', async () => {
  const target = join(temp.path, 'e', 'supervisor');
  mkdirSync(`${target}.lock`, { recursive: true });
  writeFileSync(`${target}.lock/holder`, `${process.pid}\n`);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(`${target}.lock`, old, old);
  await assert.rejects(acquireSupervisorLock(target, join(temp.path, 'e', 'supervisor.pid'), () => undefined), AlreadyRunningError);
});

test('supervisors racing for one aged stale lock: exactly one wins, every time', async () => {
  const script = `
    import { acquireSupervisorLock } from ${JSON.stringify(new URL('../../lib/supervisor/lock.ts', import.meta.url).href)};
    const target = process.argv[1];
    await new Promise((r) => setTimeout(r, Number(process.argv[2]) - Date.now()));
    try {
      await acquireSupervisorLock(target, target + '.pid', () => undefined);
      console.log('won');
      await new Promise((r) => setTimeout(r, 1500));
    } catch (error) { console.log(error.message); }
  `;
  for (let round = 0; round < 5; round++) {
    const target = join(temp.path, `race-${round}`, 'supervisor');
    plantAgedLock(target, deadPid());
    const startAt = String(Date.now() + 1500);
    const runs = Array.from({ length: 6 }, () => runCommand(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, target, startAt], { env: cleanEnv() }));
    const outputs = (await Promise.all(runs)).map((result) => result.stdout.trim() || result.stderr.trim());
    assert.equal(outputs.filter((output) => output === 'won').length, 1, outputs.join(' | '));
    assert.equal(outputs.filter((output) => output.startsWith('already running')).length, 5, outputs.join(' | '));
  }
});
