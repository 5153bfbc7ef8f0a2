/** notify.nats and metrics: defaults, ${VAR} expansion, and the checks a schema cannot make (files, addresses). */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { RawConfig } from './schema.ts';
import type { MetricsConfig, NatsConfig, NatsCredentials } from '../core/types.ts';

export const NATS_DEFAULTS = {
  subjectPrefix: 'svc.registry',
  serviceId: '{service}',
  events: ['crashed', 'restarting', 'stopped', 'gave_up', 'started', 'ready', 'unhealthy', 'scheduled_restart', 'restart_completed'],
} as const;

type At = (path: (string | number)[], key: string, message: string) => void;

export interface IntegrationContext {
  folder: string;
  env: NodeJS.ProcessEnv;
  at: At;
  /** `${VAR}` expansion; a missing variable is reported at `path`. */
  expand: (value: string, path: (string | number)[], key: string) => string;
}

const SERVER_URL = /^(nats|tls):\/\/[^\s/]+(:\d+)?\/?$|^[^\s:/]+:\d+$/;

export function normaliseNats(raw: RawConfig, context: IntegrationContext): NatsConfig | null {
  const nats = raw.notify?.nats;
  if (!nats) return null;
  const base = ['notify', 'nats'];
  const servers = context.expand(nats.url, [...base, 'url'], 'notify.nats.url').split(',').map((url) => url.trim()).filter(Boolean);
  if (servers.length === 0) context.at([...base, 'url'], 'notify.nats.url', 'expected one or more nats://host:port URLs, comma-separated');
  for (const server of servers) {
    if (!SERVER_URL.test(server)) context.at([...base, 'url'], 'notify.nats.url', `expected nats://host:port, got "${server}"`);
  }
  return {
    servers,
    subjectPrefix: nats.subject_prefix ?? NATS_DEFAULTS.subjectPrefix,
    serviceId: nats.service_id ?? NATS_DEFAULTS.serviceId,
    events: nats.events ?? [...NATS_DEFAULTS.events],
    credentials: nats.credentials ? normaliseCredentials(nats.credentials, context) : null,
  };
}

/**
 * A string is a creds file when it contains a `/` or ends in `.creds` (it must exist), `user:password` when it
 * has a colon, and a token otherwise. A mistyped creds path is refused here, not sent as a token.
 */
function normaliseCredentials(raw: NonNullable<NonNullable<NonNullable<RawConfig['notify']>['nats']>['credentials']>, context: IntegrationContext): NatsCredentials {
  const path = ['notify', 'nats', 'credentials'];
  const key = 'notify.nats.credentials';
  const expand = (value: string, field?: string) => context.expand(value, field ? [...path, field] : path, field ? `${key}.${field}` : key);
  const credsFile = (value: string, field?: string): NatsCredentials => {
    const file = resolve(context.folder, value);
    if (!isFile(file)) context.at(field ? [...path, field] : path, field ? `${key}.${field}` : key, `creds file not found: ${file}`);
    return { kind: 'creds', file };
  };
  if (typeof raw === 'string') {
    const value = expand(raw);
    if (value.includes('/') || value.endsWith('.creds')) return credsFile(value);
    const colon = value.indexOf(':');
    if (colon > 0) return { kind: 'user', user: value.slice(0, colon), password: value.slice(colon + 1) };
    return { kind: 'token', token: value };
  }
  if ('user' in raw) return { kind: 'user', user: expand(raw.user, 'user'), password: expand(raw.password, 'password') };
  if ('token' in raw) return { kind: 'token', token: expand(raw.token, 'token') };
  return credsFile(expand(raw.creds_file, 'creds_file'), 'creds_file');
}

export function normaliseMetrics(raw: RawConfig, context: IntegrationContext): MetricsConfig | null {
  if (!raw.metrics) return null;
  const token = raw.metrics.token ? context.expand(raw.metrics.token, ['metrics', 'token'], 'metrics.token') : null;
  const listen = raw.metrics.listen;
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  if (port > 65535) context.at(['metrics', 'listen'], 'metrics.listen', `expected a port from 0 to 65535, got ${port}`);
  if (token === null && !isLoopbackHost(listenHost(listen))) {
    context.at(['metrics', 'listen'], 'metrics.listen', `${listen} is reachable from other machines: set metrics.token, or listen on 127.0.0.1`);
  }
  return { listen, token };
}

export function listenHost(listen: string): string {
  return listen.slice(0, listen.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host.startsWith('::ffff:127.');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
