/** Install hygiene: a fresh `npm ci` prints no install-scripts warning; a template copied to the root is no untracked file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../support.ts';

test('every dependency with an install script is declared in allowScripts (npm 11 warns otherwise)', (t) => {
  const ls = spawnSync('npm', ['install-scripts', 'ls', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (ls.error) return t.skip(`npm not runnable here: ${ls.error.message}`);
  if (ls.status !== 0 && /Unknown command|not a valid command/i.test(ls.stdout + ls.stderr)) {
    return t.skip(`this npm (${spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout.trim()}) has no install-scripts: it runs every install script and never warns`);
  }
  assert.equal(ls.status, 0, ls.stdout + ls.stderr);
  const pending = (JSON.parse(ls.stdout || '{}') as { allowScripts?: Array<{ name: string; changes: unknown[] }> }).allowScripts ?? [];
  assert.deepEqual(pending.map((entry) => entry.name), [], `not covered by allowScripts:\n${ls.stdout}`);
});

test('restart-control.yaml and .restart-control/ in the repo root are ignored by git', (t) => {
  const check = spawnSync('git', ['check-ignore', '--no-index', 'restart-control.yaml', '.restart-control/state.json'], { cwd: ROOT, encoding: 'utf8' });
  if (check.error) return t.skip(`git not runnable here: ${check.error.message}`);
  if (/not a git repository/.test(check.stderr)) return t.skip('not a git checkout');
  assert.deepEqual(check.stdout.trim().split('\n'), ['restart-control.yaml', '.restart-control/state.json'], check.stderr);
});
