/**
 * A real nats-server (Debian's package) for tests: a free port on 127.0.0.1, a temp dir, an optional config file
 * (auth), stop and start again on the same port. And a subscriber that records what arrives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { freePort, waitFor } from './helpers.ts';
export { freePort };

export function natsServerPath(): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', ...(process.env.PATH ?? '').split(':')]) {
    if (dir && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return null;
}


function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export class NatsServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'rc-nats-'));
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  output = '';

  private constructor(readonly binary: string, readonly port: number, private readonly config: string) {}

  /** `config`: nats-server config text (authorization blocks); listen address and port are set here. */
  static async start(binary: string, config = ''): Promise<NatsServer> {
    const server = new NatsServer(binary, await freePort(), config);
    await server.start();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const file = join(this.dir, 'nats.conf');
    writeFileSync(file, `listen: 127.0.0.1:${this.port}\n${this.config}\n`);
    const child = spawn(this.binary, ['-c', file], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { this.output += chunk; });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { this.output += chunk; });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(() => canConnect(this.port), 10_000, `nats-server on port ${this.port}\n${this.output}`, 20);
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Received {
  subject: string;
  data: Record<string, unknown>;
}

/** Subscribes to `subject` and keeps every message; reconnects fast by itself. */
export class Subscriber {
  readonly messages: Received[] = [];

  private constructor(private readonly connection: NatsConnection) {}

  static async open(url: string, subject = 'svc.registry.>', auth: Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator'> = {}): Promise<Subscriber> {
    const connection = await connect({ servers: url, reconnectTimeWait: 50, maxReconnectAttempts: -1, ...auth });
    const subscriber = new Subscriber(connection);
    const subscription = connection.subscribe(subject);
    void (async () => {
      for await (const message of subscription) subscriber.messages.push({ subject: message.subject, data: message.json<Record<string, unknown>>() });
    })();
    await connection.flush();
    return subscriber;
  }

  of(subjectPrefix: string): Received[] {
    return this.messages.filter((message) => message.subject.startsWith(subjectPrefix));
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
