/**
 * Watcher errors (EACCES here; ENOSPC from an exhausted inotify limit takes the same path) are recorded as one
 * watch_error event, and neither crash the supervisor nor silently disable the rest of the watching.
 * Root reads every folder, so the supervisor runs as `nobody` to meet a folder it may not read.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { waitFor } from '../helpers.ts';
import { RUN, Sandbox, alive, cleanEnv, killQuietly } from '../support.ts';

test('an unreadable folder under a watched tree: one watch_error, the supervisor and the other watching go on', async (t) => {
  if (process.getuid?.() !== 0 || spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status !== 0) {
    t.skip('needs root and runuser to run the supervisor as nobody');
    return;
  }
  const box = new Sandbox([{ name: 'web', command: ['sleep', '1000'], watch: ['src'], watch_debounce: 0.2 }]);
  t.after(() => box.cleanup());
  mkdirSync(box.path('src', 'locked', 'inner'), { recursive: true });
  writeFileSync(box.path('src', 'app.py'), '');
  spawnSync('chown', ['-R', 'nobody', box.dir]);
  chmodSync(box.dir, 0o755);
  chmodSync(box.path('src', 'locked'), 0o000);
  const child = spawn('runuser', ['-u', 'nobody', '--', RUN, '--config', box.configFile], { cwd: box.dir, env: cleanEnv({ HOME: box.dir }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  t.after(() => { if (child.pid) killQuietly(child.pid, 'SIGKILL'); });
  await waitFor(() => box.events().some((event) => event.event === 'supervisor_started'), 20_000, `the supervisor started\n${output}`);
  const supervisorPid = box.events().find((event) => event.event === 'supervisor_started')!.pid as number;
  box.track(supervisorPid);
  const errors = await waitFor(() => {
    const found = box.events().filter((event) => event.event === 'watch_error');
    return found.length > 0 ? found : null;
  }, 20_000, `a watch_error\n${output}`);
  assert.equal(errors[0]!.service, 'web');
  assert.equal(errors[0]!.code, 'EACCES');
  await box.waitForState('web', 'running');
  // Watching the readable part still works
  const startedBefore = box.eventsOf('web', 'started').length;
  writeFileSync(box.path('src', 'app.py'), 'changed');
  await box.waitForEvent('web', 'watch_restart', 1, 15_000);
  await waitFor(() => box.eventsOf('web', 'started').length > startedBefore, 15_000, 'the watched restart');
  await delay(500);
  assert.equal(box.events().filter((event) => event.event === 'watch_error').length, 1, 'one watch_error, not one per event');
  assert.ok(alive(supervisorPid), `the supervisor survived\n${output}`);
  killQuietly(supervisorPid, 'SIGTERM');
  await waitFor(() => !alive(supervisorPid), 15_000, 'the supervisor to stop');
});
