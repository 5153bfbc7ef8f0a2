import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sendControlRequest } from '../../lib/control/client.ts';
import { startControlServer } from '../../lib/control/server.ts';
import { ControlError } from '../../lib/core/errors.ts';
import { makeTempDir } from '../helpers.ts';

const temp = makeTempDir('rc-control-');
after(() => temp.remove());

test('a request is acknowledged and answered; the socket is mode 0600', async () => {
  const path = join(temp.path, 'a.sock');
  const server = await startControlServer(path, async (request) => ({ ok: true, messages: [`did ${request.command}`] }));
  try {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(await sendControlRequest(path, { command: 'ping' }), { ok: true, messages: ['did ping'] });
  } finally {
    server.close();
  }
});

test('a supervisor that never acknowledges (stopped, wedged) is reported after the ack timeout', async () => {
  const path = join(temp.path, 'b.sock');
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(path, resolve));
  try {
    const started = Date.now();
    await assert.rejects(sendControlRequest(path, { command: 'stop' }, 300), (error: unknown) => error instanceof ControlError && error.code === 'control.unresponsive');
    assert.ok(Date.now() - started < 2000);
  } finally {
    silent.close();
  }
});

test('a request whose client already went away is not carried out', async () => {
  const path = join(temp.path, 'c.sock');
  const handled: string[] = [];
  const server = await startControlServer(path, async (request) => {
    handled.push(request.command);
    return { ok: true };
  });
  try {
    const client = connect(path);
    await new Promise<void>((resolve) => client.on('connect', () => resolve()));
    client.resume();
    client.end(`${JSON.stringify({ command: 'shutdown' })}\n`); // request and FIN together, as after a killed client
    await new Promise((resolve) => client.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(handled, []);
    assert.deepEqual((await sendControlRequest(path, { command: 'ping' })).ok, true);
    assert.deepEqual(handled, ['ping']);
  } finally {
    server.close();
  }
});

test('no supervisor: exit code 3 and a clear message', async () => {
  await assert.rejects(sendControlRequest(join(temp.path, 'missing.sock'), { command: 'ping' }),
    (error: unknown) => error instanceof ControlError && error.exitCode === 3 && /no supervisor is running/.test(error.message));
});
