/**
 * The NATS sink against servers that do not help: a port nobody listens on, and a "server" that accepts the
 * connection and never speaks. Neither blocks the event loop; both are reported once as an outage.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildNatsSink, NATS_STALL_REPORT_MS } from '../../lib/notify/nats.ts';
import { buildPayload } from '../../lib/notify/format.ts';
import { NATS_DEFAULTS } from '../../lib/config/integrations.ts';
import { freePort } from '../nats-server.ts';
import { waitFor } from '../helpers.ts';
import type { NatsConfig } from '../../lib/core/types.ts';

const sockets: Socket[] = [];
let blackHole: Server | null = null;
after(() => {
  for (const socket of sockets) socket.destroy();
  blackHole?.close();
});

function natsConfig(url: string): NatsConfig {
  return { servers: [url], subjectPrefix: 'svc.registry', serviceId: '{service}', events: [...NATS_DEFAULTS.events], credentials: null };
}

const payload = buildPayload({ time: new Date().toISOString(), event: 'crashed', service: 'dome', exit_code: 1, will_restart: true }, 'scope1');

async function timedAttempt(url: string, maxWaitMs: number): Promise<{ ok: boolean; error?: string; ms: number; stalls: string[]; maxLagMs: number }> {
  const sink = buildNatsSink(natsConfig(url), { maxWaitMs });
  const stalls: string[] = [];
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const started = performance.now();
  try {
    const result = await sink.attempt(payload, new AbortController().signal, (error) => stalls.push(error));
    return { ...result, ms: performance.now() - started, stalls, maxLagMs: lag.max / 1e6 };
  } finally {
    lag.disable();
    await sink.close?.();
  }
}

describe('NATS sink without a working server', () => {
  test('nobody listening: waits, reports the outage once, fails at the deadline; the event loop stays free', async () => {
    const port = await freePort();
    const result = await timedAttempt(`nats://127.0.0.1:${port}`, 3000);
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /ECONNREFUSED|connection refused|CONNECTION_REFUSED/i);
    assert.equal(result.stalls.length, 1, `one outage report: ${JSON.stringify(result.stalls)}`);
    assert.ok(result.ms >= 2900 && result.ms < 6000, `gave up after ${Math.round(result.ms)} ms (deadline 3000)`);
    assert.ok(result.maxLagMs < 500, `event loop lag at most ${result.maxLagMs.toFixed(1)} ms`);
  });

  test('a server that accepts and never answers: the same, after the connect timeout, and no socket left open', async () => {
    let open = 0;
    blackHole = createServer((socket) => {
      sockets.push(socket);
      open++;
      socket.on('close', () => open--);
    });
    await new Promise<void>((resolve) => blackHole!.listen(0, '127.0.0.1', resolve));
    const address = blackHole.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const result = await timedAttempt(`nats://127.0.0.1:${port}`, 3000);
    assert.equal(result.ok, false);
    assert.ok(result.error, 'an error in words');
    assert.equal(result.stalls.length, 1);
    assert.ok(result.ms >= NATS_STALL_REPORT_MS && result.ms < 7000, `gave up after ${Math.round(result.ms)} ms`);
    assert.ok(result.maxLagMs < 500, `event loop lag at most ${result.maxLagMs.toFixed(1)} ms`);
    assert.ok(sockets.length >= 1, 'it did connect');
    // @nats-io/transport-node leaves its socket open when the greeting never comes: none of ours may stay
    await waitFor(() => open === 0, 5000, `the sink's connections to the silent server closed (${open} open)`);
  });
});
