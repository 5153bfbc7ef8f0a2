/**
 * Signals while the supervisor starts: before the fix the handlers were installed only after start-up, so a SIGTERM
 * during chokidar's first scan of a big watched tree killed the supervisor outright and left its services running.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { waitFor } from '../helpers.ts';
import { RUN, Sandbox, alive, cleanEnv } from '../support.ts';

/** 300 folders × 100 files: chokidar's first scan takes several seconds on this machine. */
function bigTree(root: string): void {
  for (let folder = 0; folder < 300; folder++) {
    mkdirSync(join(root, `d${folder}`), { recursive: true });
    for (let file = 0; file < 100; file++) writeFileSync(join(root, `d${folder}`, `f${file}.py`), '');
  }
}

/** The line the supervisor writes on RESTART_CONTROL_READY_FD (as for --detach): once started, or when a start ends early. */
function readyLine(stream: Readable): { line: string | null } {
  const state = { line: null as string | null };
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    if (state.line === null && buffer.includes('\n')) state.line = buffer.slice(0, buffer.indexOf('\n'));
  });
  return state;
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`${signal} during the first watch scan stops what started, gracefully, and exits 0`, async (t) => {
    const box = new Sandbox([
      { name: 'early', command: ['sleep', '1000'] },
      { name: 'watched', command: ['sleep', '1000'], watch: ['src'] },
    ]);
    t.after(() => box.cleanup());
    bigTree(box.path('src'));
    // Not readiness by ping: during the scan the supervisor may be too busy to acknowledge within the client's 5 s
    const child = spawn(RUN, ['--config', box.configFile], { cwd: box.dir, env: cleanEnv({ RESTART_CONTROL_READY_FD: '3' }), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    box.track(child.pid!);
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal })));
    const ready = readyLine(child.stdio[3] as Readable);
    // Services start before the watchers: both run while the start is not over (no ready line yet)
    await waitFor(() => box.serviceProcesses('early').length === 1 && box.serviceProcesses('watched').length === 1, 30_000, 'both services started');
    const services = box.serviceProcesses();
    if (ready.line !== null) {
      t.skip('the watch scan was over before the signal could be sent (machine too fast for this tree)');
      return;
    }
    child.kill(signal);
    const exit = await Promise.race([exited, delay(60_000).then(() => 'timeout' as const)]);
    assert.notEqual(exit, 'timeout', `the supervisor did not exit:\n${output}`);
    assert.deepEqual(exit, { code: 0, signal: null }, output);
    // The start itself reports that it ended because of the signal: it really came during start-up
    assert.deepEqual(JSON.parse(ready.line ?? 'null'), { ok: false, error: `received ${signal} while starting` });
    assert.deepEqual(services.filter((pid) => alive(pid)), [], 'every service started so far is stopped');
    assert.deepEqual(box.serviceProcesses(), []);
    const stopped = box.events().filter((event) => event.event === 'stopped').map((event) => event.service).sort();
    assert.deepEqual(stopped, ['early', 'watched'], 'stopped gracefully, with events');
    assert.ok(box.events().some((event) => event.event === 'supervisor_stopped' && String(event.reason).includes(signal)));
  });
}
