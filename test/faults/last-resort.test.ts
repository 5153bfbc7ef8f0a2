/**
 * No unhandled rejection or uncaught exception ends the supervisor: the last-resort handler records supervisor_error
 * with the stack (in supervisor.log, the supervisor's own output) and supervision goes on. The errors are injected
 * into a real supervisor by a module loaded with NODE_OPTIONS=--import, on SIGUSR2.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { waitFor } from '../helpers.ts';
import { FIXTURES, Sandbox, alive, killQuietly } from '../support.ts';

test('an injected unhandled rejection and uncaught exception: two supervisor_error events with stacks, still supervising', async (t) => {
  const box = new Sandbox([{ name: 'api', command: ['sleep', '1000'], restart: 'always', restart_sec: 0.1 }]);
  t.after(() => box.cleanup());
  const supervisor = await box.startSupervisor({ env: { NODE_OPTIONS: `--import ${join(FIXTURES, 'inject-errors.mjs')}` } });
  await waitFor(() => supervisor.output().includes('inject-errors: armed'), 5_000, 'the injector loaded');
  killQuietly(supervisor.pid, 'SIGUSR2');
  const errors = await waitFor(() => {
    const found = box.events().filter((event) => event.event === 'supervisor_error');
    return found.length >= 2 ? found : null;
  }, 10_000, `two supervisor_error events\n${supervisor.output()}`);
  assert.deepEqual(errors.map((event) => event.where).sort(), ['uncaughtException', 'unhandledRejection']);
  assert.deepEqual(errors.map((event) => event.message).sort(), ['injected exception', 'injected rejection']);
  for (const event of errors) assert.match(String(event.stack), /inject-errors\.mjs/);
  // The stack is in the supervisor's own output (supervisor.log when detached)
  assert.match(supervisor.output(), /unhandledRejection \(the supervisor keeps running\): Error: injected rejection\n\s+at .*inject-errors\.mjs/);
  await delay(300);
  assert.ok(alive(supervisor.pid), 'the supervisor is still running');
  // ...and still supervising: a killed service comes back
  const pid = (await box.waitForState('api', 'running')).pid!;
  killQuietly(pid, 'SIGKILL');
  await box.waitForState('api', 'running', 10_000, (service) => service.pid !== pid);
  supervisor.child!.kill('SIGTERM');
  assert.equal((await supervisor.exited).code, 0);
});
