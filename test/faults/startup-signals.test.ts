/**
 * Signals while the supervisor starts: before the fix the handlers were installed only after start-up, so a SIGTERM
 * during chokidar's first scan of a big watched tree killed the supervisor outright and left its services running.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { sendControlRequest } from '../../lib/control/client.ts';
import { socketPath } from '../../lib/config/paths.ts';
import { waitFor } from '../helpers.ts';
import { Sandbox, alive } from '../support.ts';

/** 400 folders × 100 files: chokidar's first scan takes several seconds on this machine. */
function bigTree(root: string): void {
  for (let folder = 0; folder < 400; folder++) {
    mkdirSync(join(root, `d${folder}`), { recursive: true });
    for (let file = 0; file < 100; file++) writeFileSync(join(root, `d${folder}`, `f${file}.py`), '');
  }
}

async function ping(stateDir: string): Promise<{ ready?: boolean } | null> {
  try {
    return (await sendControlRequest(socketPath(stateDir), { command: 'ping' })).data as { ready?: boolean };
  } catch {
    return null;
  }
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`${signal} during the first watch scan stops what started, gracefully, and exits 0`, async (t) => {
    const box = new Sandbox([
      { name: 'early', command: ['sleep', '1000'] },
      { name: 'watched', command: ['sleep', '1000'], watch: ['src'] },
    ]);
    t.after(() => box.cleanup());
    bigTree(box.path('src'));
    const supervisor = await box.startSupervisor({ waitReady: false });
    // Services start before the watchers: both run, and the supervisor answers but is not ready (scanning)
    await waitFor(() => box.serviceProcesses('early').length === 1 && box.serviceProcesses('watched').length === 1, 20_000, 'both services started');
    const services = box.serviceProcesses();
    const answer = await waitFor(() => ping(box.stateDir), 10_000, 'ping answered');
    if (answer.ready) {
      t.skip('the watch scan was over before the signal could be sent (machine too fast for this tree)');
      return;
    }
    supervisor.child!.kill(signal);
    const exit = await Promise.race([supervisor.exited, delay(20_000).then(() => 'timeout' as const)]);
    assert.notEqual(exit, 'timeout', `the supervisor did not exit:\n${supervisor.output()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, supervisor.output());
    assert.deepEqual(services.filter((pid) => alive(pid)), [], 'every service started so far is stopped');
    assert.deepEqual(box.serviceProcesses(), []);
    const stopped = box.events().filter((event) => event.event === 'stopped').map((event) => event.service).sort();
    assert.deepEqual(stopped, ['early', 'watched'], 'stopped gracefully, with events');
    assert.ok(box.events().some((event) => event.event === 'supervisor_stopped' && String(event.reason).includes(signal)));
  });
}
