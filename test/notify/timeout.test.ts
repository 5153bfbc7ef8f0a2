import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { Notifier } from '../../lib/notify/notifier.ts';
import { type EventRecord } from '../../lib/core/types.ts';
import { waitFor } from '../helpers.ts';

// A hung endpoint: accepts the request and never answers.
const sockets = new Set<import('node:net').Socket>();
const server: Server = createServer(() => undefined);
server.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('a webhook timeout fires even while the heap is busy (every try to a hung endpoint fails after `timeout`)', async () => {
  const { port } = server.address() as AddressInfo;
  const failures: unknown[] = [];
  const notifier = new Notifier({
    webhooks: [{ url: `http://127.0.0.1:${port}/hook`, format: 'json', events: null, services: null, secret: null, headers: {}, timeoutMs: 200, retries: 0 }],
    command: null,
  }, { host: 'test', cwd: process.cwd(), logTail: () => [], record: (event) => failures.push(event) });
  for (let i = 0; i < 5; i++) notifier.publish({ time: new Date().toISOString(), event: 'crashed', service: 'x', n: i } as EventRecord);
  // Garbage, so that collections run while the timeouts are pending
  let keep: unknown[] = [];
  const churn = setInterval(() => { keep = Array.from({ length: 20_000 }, (_, i) => ({ i, s: `x${i}` })); }, 5);
  try {
    await waitFor(() => notifier.stats()[0]!.failed === 5, 8000, 'five timed-out deliveries');
  } finally {
    clearInterval(churn);
    void keep;
  }
  assert.equal(failures.length, 5);
  await notifier.close(500);
});
