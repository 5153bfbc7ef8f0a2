import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AlreadyRunningError, acquireSupervisorLock } from '../../lib/supervisor/lock.ts';
import { makeTempDir } from '../helpers.ts';

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
  // proper-lockfile refreshes the mtime every 2 s and checks it is still the one it wrote
  await new Promise((resolve) => setTimeout(resolve, 2600));
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
