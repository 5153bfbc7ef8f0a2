/** The disk figure of `status` agrees with df's Use% for the state_dir's file system. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../helpers.ts';
import { CLI, runCommand } from '../support.ts';

test('status: disk N% used is df -P\'s Capacity', async (t) => {
  const dir = makeTempDir('rc-status-disk-');
  t.after(() => dir.remove());
  mkdirSync(join(dir.path, '.restart-control'));
  writeFileSync(join(dir.path, 'restart-control.yaml'), 'services:\n  - name: web\n    command: sleep 1000\n');
  const df = spawnSync('df', ['-P', join(dir.path, '.restart-control')], { encoding: 'utf8' });
  if (df.error || df.status !== 0) return t.skip(`df is not usable here: ${df.error?.message ?? df.stderr}`);
  const capacity = Number.parseInt(df.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/)[4]!, 10);
  const status = await runCommand(CLI, ['status'], { cwd: dir.path });
  assert.equal(status.code, 3, status.stderr);
  const shown = Number(status.stdout.match(/^system: .*, disk \S+\/\S+ \((\d+)% used\)/m)?.[1]);
  assert.ok(Math.abs(shown - capacity) <= 1, `status says ${shown}%, df ${capacity}%\n${status.stdout}`);
});
