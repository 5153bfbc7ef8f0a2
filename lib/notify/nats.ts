/**
 * The NATS sink: one connection, opened at the first event, reconnecting by itself. The client library loads only
 * here, only when notify.nats is configured. While the server is away, deliveries wait on the sink's bounded queue
 * (notifier.ts) instead of failing one by one; the outage is reported once through `stalled`.
 */
import { readFileSync } from 'node:fs';
import { probeNatsServers } from './nats-probe.ts';
import type { NatsConnection, ConnectionOptions } from '@nats-io/transport-node';
import { natsAccepts, natsMessages } from './nats-format.ts';
import { redactUrl } from './redact.ts';
import type { NatsConfig } from '../core/types.ts';
import type { Attempt, Sink } from './sink-types.ts';

/** How long a delivery waits for the connection before the outage is reported (it keeps waiting after). */
export const NATS_STALL_REPORT_MS = 1000;
const CONNECT_TIMEOUT_MS = 2000;
const RECONNECT_WAIT_MS = 1000;
const FLUSH_TIMEOUT_MS = 5000;
/** After a publish that did not go through, before trying again on the same connection. */
const RETRY_PAUSE_MS = 200;

export interface NatsSinkOptions {
  /** null: wait for the server as long as it takes (the supervisor); a number: give up after that long (`notify test`). */
  maxWaitMs: number | null;
}

export function natsLabel(config: NatsConfig): string {
  return `nats ${config.servers.map((server) => (/^[a-z]+:\/\//.test(server) ? redactUrl(server) : server)).join(',')}`;
}

export function buildNatsSink(config: NatsConfig, options: NatsSinkOptions): Sink {
  const link = new NatsLink(config);
  return {
    key: `nats:${JSON.stringify(config)}`,
    label: natsLabel(config),
    retries: 0,
    oncePerOutage: true,
    accepts: (event) => natsAccepts(config, event),
    attempt: (payload, signal, stalled) => publishAll(link, natsMessages(config, payload), signal, stalled, options.maxWaitMs),
    close: () => link.close(),
  };
}

async function publishAll(link: NatsLink, messages: ReturnType<typeof natsMessages>, signal: AbortSignal, stalled: ((error: string) => void) | undefined, maxWaitMs: number | null): Promise<Attempt> {
  if (messages.length === 0) return { ok: true, retryable: false };
  const deadline = maxWaitMs === null ? null : Date.now() + maxWaitMs;
  for (;;) {
    let connection: NatsConnection;
    try {
      connection = await link.ready(signal, deadline, stalled);
    } catch (error) {
      return { ok: false, error: signal.aborted ? 'aborted' : describe(error), retryable: false };
    }
    try {
      for (const message of messages) connection.publish(message.subject, JSON.stringify(message.payload));
      await withTimeout(connection.flush(), FLUSH_TIMEOUT_MS, `no answer from the server within ${FLUSH_TIMEOUT_MS} ms`);
      return { ok: true, retryable: false };
    } catch (error) {
      // A message the server refuses (too large, bad subject) will never go; a lost connection is waited out
      if (!connection.isClosed() && !isConnectionTrouble(error)) return { ok: false, error: describe(error), retryable: false };
      link.lastError = describe(error);
      if (deadline !== null && Date.now() >= deadline) return { ok: false, error: link.lastError, retryable: false };
      stalled?.(link.lastError);
      await pause(RETRY_PAUSE_MS, signal);
      if (signal.aborted) return { ok: false, error: 'aborted', retryable: false };
    }
  }
}

/** One connection and its state, watched through the client's status stream and closed() promise. */
class NatsLink {
  lastError: string;
  private connection: NatsConnection | null = null;
  private connected = false;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly config: NatsConfig) {
    this.lastError = `connecting to ${config.servers.join(', ')}`;
  }

  /** The open connection; waits for it (reporting a wait longer than NATS_STALL_REPORT_MS); throws on auth errors, abort or deadline. */
  async ready(signal: AbortSignal, deadline: number | null, stalled?: (error: string) => void): Promise<NatsConnection> {
    const started = Date.now();
    let reported = false;
    for (;;) {
      if (signal.aborted || this.closed) throw new Error('aborted');
      if (this.connection && this.connected) return this.connection;
      const attempt = this.connection ? null : this.connect();
      const now = Date.now();
      if (deadline !== null && now >= deadline) throw new Error(this.lastError);
      const reportIn = reported ? Infinity : started + NATS_STALL_REPORT_MS - now;
      const waitMs = Math.max(0, Math.min(reportIn, deadline === null ? Infinity : deadline - now));
      const failure = await this.waitForChange(signal, waitMs, attempt);
      if (failure) throw failure;
      if (!reported && !(this.connection && this.connected) && Date.now() - started >= NATS_STALL_REPORT_MS) {
        reported = true;
        stalled?.(this.lastError);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    const connection = this.connection;
    this.connection = null;
    await connection?.close().catch(() => undefined);
  }

  /** Resolves on a state change, after waitMs, or on abort; with the connect error when it is one that retrying cannot fix. */
  private waitForChange(signal: AbortSignal, waitMs: number, attempt: Promise<Error | null> | null): Promise<Error | null> {
    return new Promise((settle) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (error: Error | null) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        settle(error);
      };
      const wake = () => done(null);
      this.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
      if (Number.isFinite(waitMs)) timer = setTimeout(wake, waitMs);
      attempt?.then((error) => done(error), () => done(null));
    });
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** One first connection at a time; the client reconnects by itself afterwards. Resolves with an error only for auth failures. */
  private connect(): Promise<Error | null> {
    this.connecting ??= this.openConnection().finally(() => { this.connecting = null; });
    return this.connecting.then(() => this.permanentError);
  }

  private permanentError: Error | null = null;

  private async openConnection(): Promise<void> {
    this.permanentError = null;
    const { connect } = await import('@nats-io/transport-node');
    while (!this.closed) {
      // The client leaks its socket when a server accepts and never sends INFO (its handshake timeout does not
      // destroy it): only a server that answered a probe is handed to it
      const probe = await probeNatsServers(this.config.servers, CONNECT_TIMEOUT_MS);
      if (!probe.ok) {
        this.lastError = probe.error;
        this.wake();
        await pause(RECONNECT_WAIT_MS);
        continue;
      }
      try {
        const connection = await connect(await this.options(probe.server));
        if (this.closed) {
          await connection.close().catch(() => undefined);
          return;
        }
        this.adopt(connection);
        return;
      } catch (error) {
        this.lastError = describe(error);
        if (isAuthProblem(error)) {
          this.permanentError = new Error(this.lastError);
          this.wake();
          return;
        }
        this.wake();
        await pause(RECONNECT_WAIT_MS);
      }
    }
  }

  private adopt(connection: NatsConnection): void {
    this.connection = connection;
    this.connected = true;
    this.wake();
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect') {
          this.connected = false;
          this.lastError = `disconnected from ${status.server}`;
        } else if (status.type === 'reconnect') {
          this.connected = true;
        } else if (status.type === 'error') {
          this.lastError = describe(status.error);
        }
        this.wake();
      }
    })().catch(() => undefined);
    void connection.closed().then((error) => {
      if (this.connection !== connection) return;
      this.connection = null;
      this.connected = false;
      this.lastError = error ? describe(error) : `connection to ${this.config.servers.join(', ')} closed`;
      this.wake();
    });
  }

  private async options(server: string): Promise<ConnectionOptions> {
    // No reconnect by the client: its reconnect loop has the same socket leak. A closed connection is replaced
    // through openConnection (probe first); deliveries not confirmed by flush() are published again.
    const options: ConnectionOptions = { servers: [server], name: 'restart-control', timeout: CONNECT_TIMEOUT_MS, reconnect: false };
    const credentials = this.config.credentials;
    if (credentials?.kind === 'user') Object.assign(options, { user: credentials.user, pass: credentials.password });
    else if (credentials?.kind === 'token') options.token = credentials.token;
    else if (credentials?.kind === 'creds') {
      const { credsAuthenticator } = await import('@nats-io/transport-node');
      // Read at each connect: a rotated creds file is picked up without a reload
      const file = credentials.file;
      options.authenticator = credsAuthenticator(() => readFileSync(file));
    }
    return options;
  }
}

function isAuthProblem(error: unknown): boolean {
  const text = describe(error).toLowerCase();
  return text.includes('authorization') || text.includes('authentication') || text.includes('user authentication') || text.includes('creds') || text.includes('nkey') || text.includes('jwt');
}

function isConnectionTrouble(error: unknown): boolean {
  const text = describe(error).toLowerCase();
  return /closed|disconnect|timeout|no answer|connection|reconnect|econn|epipe/.test(text);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const message = error.message || error.name;
  return cause instanceof Error && cause.message && !message.includes(cause.message) ? `${message}: ${cause.message}` : message;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    }
    signal?.addEventListener('abort', finish, { once: true });
  });
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
