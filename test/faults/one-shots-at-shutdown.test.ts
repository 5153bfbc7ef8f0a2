/**
 * Hooks end with the supervisor: a hook, idle check or notify command still running at shutdown is stopped with its
 * whole tree. The hook blocks on a fifo (nobody ever writes it), so the shutdown lands while it runs, by construction.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { test } from 'node:test';
import { waitFor } from '../helpers.ts';
import { Sandbox, alive } from '../support.ts';

function pidsIn(file: string): number[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

test('a pre_restart hook blocked on a fifo, its background child and a notify command: all gone after SIGTERM', async (t) => {
  const box = new Sandbox([]);
  t.after(() => box.cleanup());
  const fifo = box.path('fifo');
  execFileSync('mkfifo', [fifo]);
  const hookPids = box.path('hook.pids');
  const notifyPids = box.path('notify.pids');
  writeFileSync(box.configFile, stringify({
    state_dir: 'state',
    services: [{ name: 'api', command: ['sleep', '1000'], stop_timeout: 0.5 }],
    hooks: { pre_restart: [`echo $$ >> ${hookPids}; sleep 1000 & echo $! >> ${hookPids}; cat ${fifo}`], timeout: '1h' },
    notify: { command: `echo $$ >> ${notifyPids}; exec sleep 1000` },
  }));
  const supervisor = await box.startSupervisor();
  const restart = box.cli(['force-restart'], { timeoutMs: 60_000 });
  await waitFor(() => pidsIn(hookPids).length === 2, 20_000, 'the hook and its child running');
  await waitFor(() => pidsIn(notifyPids).length >= 1, 20_000, 'a notify command running');
  const oneShots = [...pidsIn(hookPids), ...pidsIn(notifyPids)];
  assert.ok(oneShots.every((pid) => alive(pid)));
  supervisor.child!.kill('SIGTERM');
  const exit = await supervisor.exited;
  assert.equal(exit.code, 0, supervisor.output());
  await restart;
  const left = [...pidsIn(hookPids), ...pidsIn(notifyPids)].filter((pid) => alive(pid));
  assert.deepEqual(left, [], `hooks and notify commands left running after the supervisor:\n${supervisor.output()}`);
});
