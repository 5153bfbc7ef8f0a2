/** Probes against real sockets and processes on 127.0.0.1: results, errors in words, timeouts, capped output. */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runProbe } from '../../lib/health/probes.ts';
import { makeTempDir, waitFor } from '../helpers.ts';
import { processesMentioning } from '../support.ts';

const temp = makeTempDir('rc-probes-');
after(() => temp.remove());

describe('http probe', () => {
  let server: Server;
  let base = '';
  const body = Buffer.alloc(8 << 20);
  before(async () => {
    server = createHttpServer((request, response) => {
      if (request.url === '/hang') return; // never answers
      if (request.url === '/redirect') { response.writeHead(302, { location: '/ok' }); return response.end(); }
      if (request.url === '/big') { response.write(body); return response.end(); }
      response.writeHead(request.url === '/fail' ? 503 : 200);
      response.end('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server.closeAllConnections(); server.close(); });
  const http = (path: string, expectStatus: [number, number][] = [[200, 399]]) => ({ kind: 'http' as const, url: `${base}${path}`, expectStatus });

  test('200 passes, with a latency', async () => {
    const result = await runProbe(http('/ok'), { timeoutMs: 2000, cwd: temp.path });
    assert.equal(result.ok, true);
    assert.equal(result.error, null);
    assert.ok(result.latencyMs >= 0);
  });
  test('a status outside expect_status fails, naming both', async () => {
    const result = await runProbe(http('/fail'), { timeoutMs: 2000, cwd: temp.path });
    assert.equal(result.error, `GET ${base}/fail: status 503, expected 200-399`);
  });
  test('redirects are not followed: 302 is judged as 302', async () => {
    assert.equal((await runProbe(http('/redirect'), { timeoutMs: 2000, cwd: temp.path })).ok, true);
    assert.match((await runProbe(http('/redirect', [[200, 200]]), { timeoutMs: 2000, cwd: temp.path })).error ?? '', /status 302, expected 200$/);
  });
  test('a handler that never answers: timed out after the timeout, in time', async () => {
    const result = await runProbe(http('/hang'), { timeoutMs: 300, cwd: temp.path });
    assert.equal(result.error, `GET ${base}/hang: timed out after 300ms`);
    assert.ok(result.latencyMs >= 290 && result.latencyMs < 1500, String(result.latencyMs));
  });
  test('a big body is not kept', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const result = await runProbe(http('/big'), { timeoutMs: 5000, cwd: temp.path });
    assert.equal(result.ok, true);
    assert.ok(process.memoryUsage().arrayBuffers - before < 4 << 20);
  });
  test('nothing listening: connect ECONNREFUSED', async () => {
    const result = await runProbe({ kind: 'http', url: 'http://127.0.0.1:1/', expectStatus: [[200, 399]] }, { timeoutMs: 2000, cwd: temp.path });
    assert.equal(result.error, 'GET http://127.0.0.1:1/: connect ECONNREFUSED 127.0.0.1:1');
  });
});

describe('http probe: edge cases', () => {
  test('https: through TLS (refused here: nothing listens)', async () => {
    const result = await runProbe({ kind: 'http', url: 'https://127.0.0.1:1/x', expectStatus: [[200, 399]] }, { timeoutMs: 2000, cwd: temp.path });
    assert.equal(result.error, 'GET https://127.0.0.1:1/x: connect ECONNREFUSED 127.0.0.1:1');
  });
  test('a listener that does not speak HTTP fails', async () => {
    const server = createTcpServer((socket) => socket.end('SSH-2.0-OpenSSH\r\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const result = await runProbe({ kind: 'http', url: `http://127.0.0.1:${port}/`, expectStatus: [[200, 399]] }, { timeoutMs: 2000, cwd: temp.path });
    server.close();
    assert.match(result.error ?? '', /not an HTTP response/);
  });
});

describe('tcp probe', () => {
  test('connects to a listener; refused without one', async () => {
    const server = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    assert.equal((await runProbe({ kind: 'tcp', host: '127.0.0.1', port }, { timeoutMs: 2000, cwd: temp.path })).ok, true);
    server.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await runProbe({ kind: 'tcp', host: '127.0.0.1', port }, { timeoutMs: 2000, cwd: temp.path });
    assert.equal(refused.error, `connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});

describe('command probe', () => {
  test('exit 0 passes; exit 1 fails with the first line of its output', async () => {
    assert.equal((await runProbe({ kind: 'command', command: 'true' }, { timeoutMs: 2000, cwd: temp.path })).ok, true);
    const failed = await runProbe({ kind: 'command', command: 'echo "model not loaded"; echo more; exit 1' }, { timeoutMs: 2000, cwd: temp.path });
    assert.equal(failed.error, 'exit code 1: model not loaded');
  });
  test('runs in the given folder', async () => {
    const result = await runProbe({ kind: 'command', command: `test "$(pwd)" = "${temp.path}"` }, { timeoutMs: 2000, cwd: temp.path });
    assert.equal(result.ok, true);
  });
  test('the timeout kills its whole tree', async () => {
    const unique = `987.${process.pid}`; // only this test's sleeps carry it
    const result = await runProbe({ kind: 'command', command: `sleep ${unique} & sleep ${unique}; echo never` }, { timeoutMs: 300, cwd: temp.path });
    assert.match(result.error ?? '', /timed out after 300ms/);
    await waitFor(() => processesMentioning(unique).length === 0, 3000, 'the probe tree gone');
  });
  test('output is capped', async () => {
    const result = await runProbe({ kind: 'command', command: 'head -c 5000000 /dev/zero | tr "\\0" x; exit 3' }, { timeoutMs: 5000, cwd: temp.path });
    assert.ok((result.error ?? '').length < 300);
  });
});
