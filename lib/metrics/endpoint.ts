/**
 * The supervisor's metrics: prom-client is imported here, only when `metrics:` is configured. The registry lives as
 * long as the supervisor (counters survive a reload); the HTTP server follows metrics.listen through reloads.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMetrics, type Metrics, type MetricsSource, type ResourceReader } from './registry.ts';
import { closeServer, metricsHandler, startMetricsServer } from './server.ts';
import type { EventLog } from '../core/events.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { Scheduler } from '../schedule/timer.ts';
import type { Service } from '../supervisor/service.ts';
import type { EventRecord, MetricsConfig } from '../core/types.ts';

export class MetricsEndpoint {
  private server: Server | null = null;
  private current: MetricsConfig | null = null;
  /** Reconfigurations run one after another: a reload during a start must not open two servers. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(readonly metrics: Metrics) {}

  static async create(source: MetricsSource): Promise<MetricsEndpoint> {
    const module = await import('prom-client');
    // Named exports under tsx; a CommonJS bundle may hand over the module as `default`
    const client = (module.Registry ? module : (module as unknown as { default: typeof module }).default);
    return new MetricsEndpoint(createMetrics(client, source, projectVersion()));
  }

  record(event: EventRecord): void {
    this.metrics.record(event);
  }

  /** Opens, moves or closes the server to match the config. Rejects with a clear message when the address is taken. */
  reconfigure(config: MetricsConfig | null): Promise<void> {
    const run = this.queue.then(() => this.apply(config));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.reconfigure(null);
    this.metrics.close();
  }

  private async apply(config: MetricsConfig | null): Promise<void> {
    if (this.current && config && this.current.listen === config.listen && this.current.token === config.token) return;
    if (this.server) await closeServer(this.server);
    this.server = null;
    this.current = null;
    if (!config) return;
    try {
      this.server = await startMetricsServer(config.listen, metricsHandler(() => this.metrics.render(), config.token));
      this.current = config;
    } catch (error) {
      throw new Error(`metrics.listen ${config.listen}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }

  /** The bound address (port 0 in the config picks a free one). */
  address(): string | null {
    const address = this.server?.address();
    if (!address || typeof address === 'string') return null;
    return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  }
}

/** package.json's version, found by walking up (lib/metrics/ and dist/ sit at different depths). */
function projectVersion(): string {
  try {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
    return String((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/** What the metrics read of the supervisor (it passes itself), so this folder never imports supervisor.ts. */
export interface MetricsHost {
  readonly services: ReadonlyMap<string, Service>;
  readonly scheduler: Pick<Scheduler, 'nextRestart'>;
  readonly notifier: Pick<Notifier, 'stats'>;
  readonly events: EventLog;
  /** Per-service resources and health; the resource sampler (issue #10) plugs in here. */
  resourcesOf: ResourceReader;
}

/**
 * Starts, moves or stops the metrics endpoint for `config`, returning the endpoint to keep. Never throws: a port that
 * is taken is recorded as a `metrics_error` event and supervision goes on. `needed`: create the registry even without
 * a server of its own (a web server mounts `metricsHandler(() => endpoint.metrics.render(), token)` at /metrics).
 */
export async function syncMetrics(host: MetricsHost, existing: MetricsEndpoint | null, config: MetricsConfig | null, needed = config !== null): Promise<MetricsEndpoint | null> {
  let endpoint = existing;
  try {
    if (!endpoint && needed) {
      endpoint = await MetricsEndpoint.create(sourceOf(host));
      const created = endpoint;
      host.events.addSink((event) => created.record(event));
    }
    await endpoint?.reconfigure(config);
  } catch (error) {
    host.events.record({ event: 'metrics_error', reason: error instanceof Error ? error.message : String(error) });
  }
  return endpoint;
}

function sourceOf(host: MetricsHost): MetricsSource {
  return {
    services: () => [...host.services.values()].map((service) => {
      const snapshot = service.snapshot();
      return {
        name: snapshot.name,
        state: snapshot.state,
        startedAt: snapshot.state === 'running' && snapshot.started_at ? Date.parse(snapshot.started_at) : null,
        lastExit: snapshot.last_exit,
      };
    }),
    nextScheduledRestart: () => host.scheduler.nextRestart(),
    notifySinks: () => host.notifier.stats().map((stats) => stats.sink),
    resources: (service) => host.resourcesOf(service),
  };
}
