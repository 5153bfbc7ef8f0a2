import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { handOverPort } from '../../lib/supervisor/port-handover.ts';
import { FIXTURES, MARKER_ENV, alive, cleanEnv, killQuietly } from '../support.ts';
import { freePort } from '../helpers.ts';


/** A listener on `port` carrying `marker`, in its own session (as a setsid'd daemon would be). */
async function listener(port: number, marker: string): Promise<ChildProcess> {
  const child = spawn('node', [join(FIXTURES, 'late-listen.mjs'), String(port), '0'], { env: cleanEnv({ [MARKER_ENV]: marker }), detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('GUI')) resolve(); }));
  return child;
}

const options = (port: number, marker: string) => ({ port, marker, stopSignal: 'SIGTERM' as const, stopTimeoutMs: 1000, portWaitMs: 800, signal: new AbortController().signal });

describe('port hand-over', () => {
  test('a free port: nothing to do', async () => {
    assert.equal(await handOverPort(options(await freePort(), 'x/none')), null);
  });

  test('a holder of this service (its marker) is stopped; the port is then free', async (t) => {
    const port = await freePort();
    const marker = `test-${process.pid}/svc`;
    const leftover = await listener(port, marker);
    t.after(() => killQuietly(leftover.pid!, 'SIGKILL'));
    const stopped: number[] = [];
    assert.equal(await handOverPort({ ...options(port, marker), stoppedLeftover: (holder) => stopped.push(holder.pid) }), null);
    assert.deepEqual(stopped, [leftover.pid]);
    assert.equal(alive(leftover.pid!), false);
  });

  test('a foreign holder is waited for, never signalled, and named', async (t) => {
    const port = await freePort();
    const foreign = await listener(port, `test-${process.pid}/other`);
    t.after(() => killQuietly(foreign.pid!, 'SIGKILL'));
    const started = Date.now();
    const problem = await handOverPort(options(port, `test-${process.pid}/svc`));
    assert.ok(Date.now() - started >= 700);
    assert.match(problem ?? '', new RegExp(`^port ${port} is held by pid ${foreign.pid} \\(node .*late-listen\\.mjs ${port} 0\\), not by this service$`));
    assert.ok(alive(foreign.pid!));
  });

  test('a foreign holder that goes away within port_wait lets the start go on', async (t) => {
    const port = await freePort();
    const foreign = await listener(port, `test-${process.pid}/other`);
    t.after(() => killQuietly(foreign.pid!, 'SIGKILL'));
    setTimeout(() => killQuietly(foreign.pid!, 'SIGTERM'), 200);
    assert.equal(await handOverPort({ ...options(port, `test-${process.pid}/svc`), portWaitMs: 5000 }), null);
  });
});
