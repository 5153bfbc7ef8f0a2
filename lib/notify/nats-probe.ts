/** Is there a NATS server at this address? Connect and wait for its INFO line, then hang up. */
import { connect } from 'node:net';

const DEFAULT_PORT = 4222;

export type ProbeResult = { ok: true; server: string } | { ok: false; error: string };

/** The first server (in the configured order) that sends INFO within `timeoutMs`; otherwise the last error in words. */
export async function probeNatsServers(servers: string[], timeoutMs: number): Promise<ProbeResult> {
  let error = 'no server configured';
  for (const server of servers) {
    const result = await probeNatsServer(server, timeoutMs);
    if (result === null) return { ok: true, server };
    error = result;
  }
  return { ok: false, error };
}

/** null when the server greeted us with INFO; else why not. */
export function probeNatsServer(server: string, timeoutMs: number): Promise<string | null> {
  const { host, port } = hostPort(server);
  return new Promise((settle) => {
    const socket = connect({ host, port });
    let received = '';
    const done = (result: string | null) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      settle(result);
    };
    const timer = setTimeout(() => done(received === '' && socket.connecting ? `connect to ${host}:${port} timed out after ${timeoutMs} ms` : `no NATS greeting (INFO) from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.startsWith('INFO')) done(null);
      else if (received.length >= 4 || received.includes('\n')) done(`${host}:${port} is not a NATS server (it said ${JSON.stringify(received.slice(0, 40))})`);
    });
    socket.on('error', (failure: NodeJS.ErrnoException) => done(`connect ${failure.code ?? failure.message} ${host}:${port}`));
    socket.on('close', () => done(`${host}:${port} closed the connection before its greeting`));
  });
}

/** nats://user:pass@host:port, tls://host:port or host:port; IPv6 in brackets. */
export function hostPort(server: string): { host: string; port: number } {
  const withScheme = /^[a-z]+:\/\//.test(server) ? server : `nats://${server}`;
  try {
    const url = new URL(withScheme);
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : DEFAULT_PORT };
  } catch {
    return { host: server, port: DEFAULT_PORT };
  }
}
