/**
 * `./run.ts --detach` through the sources (the bundle is stale after a `git pull` without a build), started from the
 * repo root as notebook-startup.sh does: the entry header's `--import ./node_modules/...` is relative to the repo root,
 * and the detached child runs in the config's folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execPath } from 'node:process';
import { absoluteImports } from '../../lib/supervisor/detach.ts';
import { ROOT, Sandbox, runCommand } from '../support.ts';

test('absoluteImports: relative --import values become absolute, everything else is kept', () => {
  assert.deepEqual(
    absoluteImports(['--no-turbofan', '--import', './node_modules/tsx/dist/loader.mjs', '--import=../x.mjs', '--import', 'tsx', '--import', '/abs.mjs'], '/repo'),
    ['--no-turbofan', '--import', '/repo/node_modules/tsx/dist/loader.mjs', '--import=/x.mjs', '--import', 'tsx', '--import', '/abs.mjs'],
  );
});

test('--detach through tsx with a relative loader path starts the supervisor', { timeout: 60_000 }, async (t) => {
  const box = new Sandbox([{ name: 'sleeper', command: 'exec sleep 1000' }]);
  t.after(() => box.cleanup());
  const started = await runCommand(execPath, ['--import', './node_modules/tsx/dist/loader.mjs', 'run.ts', '--config', box.configFile, '--detach'], { cwd: ROOT });
  assert.equal(started.code, 0, started.stdout + started.stderr);
  assert.match(started.stdout, /supervisor started \(pid \d+\)/);
  const pid = Number(started.stdout.match(/pid (\d+)/)![1]);
  box.track(pid);
  await box.waitForState('sleeper', 'running');
  const shutdown = await box.cli(['shutdown']);
  assert.equal(shutdown.code, 0, shutdown.stderr);
});
