/**
 * The Prometheus metrics: counters move with the event stream (`record`), gauges are read from the supervisor's
 * state at each scrape (`MetricsSource`). prom-client is loaded by the caller (endpoint.ts), only when metrics are on.
 */
import { constants } from 'node:os';
import type * as PromClient from 'prom-client';
import { RESTART_REASONS, RestartCauses } from './restart-reasons.ts';
import { SERVICE_STATES, visibleState, type EventRecord, type VisibleState } from '../core/types.ts';

/** What one service looks like at scrape time. */
export interface ServiceMetricsView {
  name: string;
  state: VisibleState;
  /** ms since the epoch of the current run's start; null when not running. */
  startedAt: number | null;
  lastExit: { code: number | null; signal: string | null } | null;
}

/**
 * Per-service resources and health (issue #10's sampler and health checks feed this). A field left out leaves its
 * series absent: no data is never reported as 0.
 */
export interface ServiceResources {
  rss_bytes?: number;
  /** Cumulative user + system CPU of the service's tree. */
  cpu_seconds?: number;
  gpu_memory_bytes?: number;
  health?: 'healthy' | 'unhealthy' | 'starting';
}

export type ResourceReader = (service: string) => ServiceResources | undefined;

export interface MetricsSource {
  services: () => ServiceMetricsView[];
  /** null: no schedule, or disabled. */
  nextScheduledRestart: () => Date | null;
  /** Labels of the configured notification sinks, so their failure counters exist (at 0) before a failure. */
  notifySinks: () => string[];
  resources: ResourceReader;
}

/** Health as a number: 1 healthy, 0 unhealthy, -1 not judged yet (start period). */
export const HEALTH_VALUES = { healthy: 1, unhealthy: 0, starting: -1 } as const;

/** prom-client defaults that `promtool check metrics` rejects (gauges named _total); their labelled siblings stay. */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const VISIBLE_STATES = [...new Set(SERVICE_STATES.map(visibleState))];

export interface Metrics {
  registry: PromClient.Registry;
  /** The event sink: counts restarts, give-ups and notification failures. */
  record: (event: EventRecord) => void;
  /** Text exposition format and its content type. */
  render: () => Promise<{ contentType: string; body: string }>;
  close: () => void;
}

export function createMetrics(client: typeof PromClient, source: MetricsSource, version: string): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  const registers = [registry];

  const restarts = new client.Counter({ name: 'restartctl_service_restarts_total', help: 'Restarts of a service, by cause.', labelNames: ['service', 'reason'] as const, registers });
  const gaveUp = new client.Counter({ name: 'restartctl_gave_up_total', help: 'Times a service reached its restart limit and was given up.', labelNames: ['service'] as const, registers });
  const notifyFailures = new client.Counter({
    name: 'restartctl_notify_failures_total', help: 'Notification failures (notify_failed events: one per failed webhook delivery, one per NATS outage).', labelNames: ['sink'] as const, registers,
    collect() { for (const sink of source.notifySinks()) this.inc({ sink }, 0); },
  });
  new client.Gauge({ name: 'restartctl_build_info', help: 'restart-control version; always 1.', labelNames: ['version'] as const, registers }).set({ version }, 1);

  const perService = (name: string, help: string, value: (service: ServiceMetricsView) => number | undefined) => new client.Gauge({
    name, help, labelNames: ['service'] as const, registers,
    collect() {
      this.reset();
      for (const service of source.services()) {
        const current = value(service);
        if (current !== undefined && Number.isFinite(current)) this.set({ service: service.name }, current);
      }
    },
  });
  perService('restartctl_service_up', 'Whether the service runs (1) or not (0).', (service) => (service.state === 'running' ? 1 : 0));
  perService('restartctl_service_start_time_seconds', 'Start time of the running process, seconds since the epoch.', (service) => (service.startedAt === null ? undefined : service.startedAt / 1000));
  perService('restartctl_service_last_exit_code', 'Exit code of the last run; a signal death is 128 + the signal number, as in a shell.', (service) => exitCode(service.lastExit));
  const resource = (service: ServiceMetricsView) => safeResources(source, service.name);
  perService('restartctl_service_health_status', 'Health check: 1 healthy, 0 unhealthy, -1 not judged yet (start period). Absent without a health check.', (service) => {
    const health = resource(service)?.health;
    return health === undefined ? undefined : HEALTH_VALUES[health];
  });
  perService('restartctl_service_memory_rss_bytes', 'Resident memory of the service\'s whole process tree.', (service) => resource(service)?.rss_bytes);
  perService('restartctl_service_gpu_memory_bytes', 'GPU memory used by the service\'s processes (nvidia-smi).', (service) => resource(service)?.gpu_memory_bytes);
  // A counter in meaning, but its value comes from /proc samples of a changing process tree: exposed as a
  // counter whose value is set at each scrape, so rate() works and the type is what the _total name promises
  new client.Counter({
    name: 'restartctl_service_cpu_seconds_total', help: 'CPU time (user + system) used by the service\'s process tree.', labelNames: ['service'] as const, registers,
    collect() {
      this.reset();
      for (const service of source.services()) {
        const seconds = resource(service)?.cpu_seconds;
        if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) this.inc({ service: service.name }, seconds);
      }
    },
  });
  new client.Gauge({
    name: 'restartctl_service_state', help: 'Where each service is: 1 for its current state, 0 for the others (a state set).', labelNames: ['service', 'state'] as const, registers,
    collect() {
      this.reset();
      for (const service of source.services()) {
        for (const state of VISIBLE_STATES) this.set({ service: service.name, state }, service.state === state ? 1 : 0);
      }
    },
  });
  new client.Gauge({
    name: 'restartctl_schedule_next_restart_timestamp_seconds', help: 'When the next scheduled restart fires, seconds since the epoch. Absent without an enabled schedule.', registers,
    collect() {
      this.reset();
      const next = source.nextScheduledRestart();
      if (next) this.set(next.getTime() / 1000);
    },
  });

  const causes = new RestartCauses();
  return {
    registry,
    record(event) {
      const reason = causes.observe(event);
      if (reason !== null && event.service !== undefined) restarts.inc({ service: event.service, reason });
      if (event.event === 'gave_up' && event.service !== undefined) gaveUp.inc({ service: event.service });
      if (event.event === 'notify_failed' && typeof event.sink === 'string') notifyFailures.inc({ sink: event.sink });
      // A new service's counters exist from its first start, so rate() has a starting point
      if (event.event === 'started' && event.service !== undefined) {
        for (const cause of RESTART_REASONS) restarts.inc({ service: event.service, reason: cause }, 0);
        gaveUp.inc({ service: event.service }, 0);
      }
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    close() {
      registry.clear();
    },
  };
}

function exitCode(lastExit: ServiceMetricsView['lastExit']): number | undefined {
  if (!lastExit) return undefined;
  if (lastExit.code !== null) return lastExit.code;
  const number = lastExit.signal ? constants.signals[lastExit.signal as NodeJS.Signals] : undefined;
  return number === undefined ? undefined : 128 + number;
}

/** The sampler is another module's code: a throw there must not break a scrape. */
function safeResources(source: MetricsSource, service: string): ServiceResources | undefined {
  try {
    return source.resources(service);
  } catch {
    return undefined;
  }
}
