import { createServer, type Server } from 'node:net';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { listeningInodes, portHolders, portInUse } from '../../lib/process/ports.ts';

const listen = (host: string): Promise<Server> => new Promise((resolve) => {
  const server = createServer();
  server.listen(0, host, () => resolve(server));
});

describe('who holds a port (/proc/net/tcp and tcp6)', () => {
  test('parses listening sockets only, on the given port, v4 and v6', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1FFC 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0000 100 0 0 10 0',
      '   1: 0100007F:1FFC 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 222 1 0000 100 0 0 10 0',
      '   2: 0100007F:1FFD 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000 100 0 0 10 0',
    ].join('\n');
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:1FFC 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 444 1 0000 100 0 0 10 0',
    ].join('\n');
    assert.deepEqual([...listeningInodes([tcp, tcp6], 0x1ffc)], ['111', '444']);
    assert.deepEqual([...listeningInodes([tcp], 0x1ffe)], []);
  });

  test('maps a real listener to this process, on 127.0.0.1 and ::1', async (t) => {
    for (const host of ['127.0.0.1', '::1']) {
      let server: Server;
      try {
        server = await listen(host);
      } catch {
        t.diagnostic(`${host} not available`);
        continue;
      }
      const port = (server.address() as { port: number }).port;
      assert.ok(portInUse(port));
      const holders = portHolders(port);
      assert.deepEqual(holders.map((holder) => holder.pid), [process.pid]);
      assert.match(holders[0]!.command, /node/);
      await new Promise((resolve) => server.close(resolve));
      assert.equal(portInUse(port), false);
      assert.deepEqual(portHolders(port), []);
    }
  });
});
