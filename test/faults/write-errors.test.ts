/**
 * The supervisor must not die of a failing write of its own files. Repro: state_dir on a small tmpfs, filled with dd
 * while a service crash-loops; before the fix the next state change ended the supervisor with exit 1.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { waitFor } from '../helpers.ts';
import { Sandbox, alive } from '../support.ts';

/** Events the foreground supervisor printed (its stdout is the one sink a full state_dir cannot take away). */
function printed(output: string, line: RegExp): number {
  return output.split('\n').filter((text) => line.test(text)).length;
}
const FAILED = /\] Cannot write /;
const RECOVERED = /\] Writing .* again/;
const STARTED = /\] crasher started \(pid/;

function tryMountTmpfs(dir: string, size: string): string | null {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a tmpfs';
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return result.status === 0 ? null : `mount -t tmpfs failed here: ${result.stderr.toString().trim()}`;
}

test('a full state_dir (tmpfs filled by dd) while a service crash-loops: one state_write_failed, supervision goes on, state_write_recovered after space returns', async (t) => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'rc-tmpfs-'));
  const why = tryMountTmpfs(mountPoint, '2m');
  if (why) {
    rmdirSync(mountPoint);
    t.skip(why);
    return;
  }
  const stateDir = join(mountPoint, 'state');
  const box = new Sandbox([{ name: 'crasher', command: ['sh', '-c', 'echo up; sleep 0.2; exit 3'], restart: 'always', restart_sec: 0.1, restart_max: 0 }], { stateDir });
  t.after(async () => {
    await box.cleanup();
    spawnSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  const supervisor = await box.startSupervisor();
  await box.waitForEvent('crasher', 'crashed', 2);
  // Fill the disk: dd stops at ENOSPC
  spawnSync('dd', ['if=/dev/zero', `of=${join(mountPoint, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
  await waitFor(() => printed(supervisor.output(), FAILED) >= 1, 10_000, `state_write_failed printed\n${supervisor.output()}`);
  const startsBefore = printed(supervisor.output(), STARTED);
  // Crash-looping goes on: it is still supervised
  await waitFor(() => printed(supervisor.output(), STARTED) >= startsBefore + 5, 15_000, 'five more restarts while the disk is full');
  assert.ok(alive(supervisor.pid), 'the supervisor survived');
  const failures = supervisor.output().split('\n').filter((line) => FAILED.test(line));
  assert.equal(failures.length, 1, `one state_write_failed for the episode, not one per write or per file:\n${failures.join('\n')}`);
  rmSync(join(mountPoint, 'filler'));
  await waitFor(() => printed(supervisor.output(), RECOVERED) >= 1, 15_000, `state_write_recovered printed\n${supervisor.output()}`);
  await waitFor(() => box.service('crasher')?.restarts !== undefined, 5_000, 'state.json readable again');
  assert.ok(alive(supervisor.pid));
  supervisor.child!.kill('SIGTERM');
  const exit = await supervisor.exited;
  assert.equal(exit.code, 0, supervisor.output());
});

test('state.json replaced by a directory (EISDIR): recorded once, survived, recovered when the directory goes', async (t) => {
  const box = new Sandbox([{ name: 'crasher', command: ['sh', '-c', 'sleep 0.2; exit 3'], restart: 'always', restart_sec: 0.1, restart_max: 0 }]);
  t.after(() => box.cleanup());
  const supervisor = await box.startSupervisor();
  rmSync(join(box.stateDir, 'state.json'), { force: true });
  mkdirSync(join(box.stateDir, 'state.json', 'blocker'), { recursive: true });
  const failures = () => box.events().filter((event) => event.event === 'state_write_failed');
  const failed = await waitFor(() => (failures().length > 0 ? failures() : null), 10_000, 'state_write_failed');
  assert.equal(failed[0]!.file, join(box.stateDir, 'state.json'));
  assert.equal(failed[0]!.code, 'EISDIR');
  await delay(1_500); // several crash restarts, each a state change: no second event in the same episode
  assert.equal(failures().length, 1, JSON.stringify(failures()));
  rmSync(join(box.stateDir, 'state.json'), { recursive: true, force: true });
  await waitFor(() => box.events().some((event) => event.event === 'state_write_recovered'), 10_000, 'state_write_recovered');
  assert.ok(box.state()?.services[0]?.name === 'crasher');
  assert.ok(alive(supervisor.pid));
});
