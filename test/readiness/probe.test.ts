import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCheck } from '../../lib/readiness/probe.ts';
import { formatShortDuration, lineMatcher, waitUntilReady } from '../../lib/readiness/wait.ts';

const options = { timeoutMs: 1000, cwd: tmpdir() };

describe('checks (real sockets, real commands)', () => {
  test('http: 2xx/3xx pass, 5xx and refused fail with the reason', async () => {
    let status = 503;
    const server = createHttpServer((_, response) => { response.statusCode = status; response.end(); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    assert.deepEqual(await runCheck({ kind: 'http', url }, options), { ok: false, detail: 'HTTP 503' });
    status = 200;
    assert.deepEqual(await runCheck({ kind: 'http', url }, options), { ok: true, detail: 'HTTP 200' });
    await new Promise((resolve) => server.close(resolve));
    assert.deepEqual(await runCheck({ kind: 'http', url }, options), { ok: false, detail: 'connection refused' });
  });

  test('tcp: a connect passes; a closed port fails', async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    assert.equal((await runCheck({ kind: 'tcp', host: '127.0.0.1', port }, options)).ok, true);
    await new Promise((resolve) => server.close(resolve));
    assert.deepEqual(await runCheck({ kind: 'tcp', host: '127.0.0.1', port }, options), { ok: false, detail: 'connection refused' });
  });

  test('command: exit 0 passes; a timeout fails', async () => {
    assert.equal((await runCheck({ kind: 'command', command: 'true' }, options)).ok, true);
    assert.deepEqual(await runCheck({ kind: 'command', command: 'exit 3' }, options), { ok: false, detail: 'exit code 3' });
    assert.match((await runCheck({ kind: 'command', command: 'sleep 5' }, { ...options, timeoutMs: 200 })).detail, /timed out/);
  });
});

describe('waiting until ready', () => {
  test('log_line: substring or /regex/, on the lines of this run', async () => {
    assert.ok(lineMatcher('To see the GUI')('x To see the GUI go to'));
    assert.ok(lineMatcher('/^Uvicorn running on http:\\/\\/\\S+$/')('Uvicorn running on http://0.0.0.0:8000'));
    assert.equal(lineMatcher('/^ready$/')('not ready'), false);
    const output = new PassThrough();
    const outcome = waitUntilReady({ probe: { kind: 'log_line', pattern: 'models loaded' }, intervalMs: 1000, timeoutMs: 5000 }, {
      cwd: tmpdir(), signal: new AbortController().signal,
      onLine: (listener) => { const onData = (chunk: Buffer) => chunk.toString().split('\n').forEach(listener); output.on('data', onData); return () => output.off('data', onData); },
    });
    output.write('loading\n');
    output.write('all models loaded\n');
    assert.equal((await outcome).ok, true);
  });

  test('not ready within the timeout names it; an abort ends the wait', async () => {
    const ready = { probe: { kind: 'tcp' as const, host: '127.0.0.1', port: 1 }, intervalMs: 50, timeoutMs: 300 };
    const never = () => () => undefined;
    assert.deepEqual(await waitUntilReady(ready, { cwd: tmpdir(), signal: new AbortController().signal, onLine: never }), { ok: false, reason: 'not ready within 300ms' });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    assert.deepEqual(await waitUntilReady({ ...ready, timeoutMs: 60_000 }, { cwd: tmpdir(), signal: abort.signal, onLine: never }), { ok: false, reason: 'aborted' });
    assert.equal(formatShortDuration(300_000), '5m');
    assert.equal(formatShortDuration(1500), '1.5s');
  });
});
