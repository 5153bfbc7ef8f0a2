/**
 * The metrics registry with a made-up supervisor state: counters move with events, gauges follow the state,
 * missing resource data leaves series absent, Debian's promtool accepts the text, a 50-service scrape is fast.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import * as client from 'prom-client';
import { createMetrics, type MetricsSource, type ServiceMetricsView, type ServiceResources } from '../../lib/metrics/registry.ts';
import type { EventRecord } from '../../lib/core/types.ts';

function source(services: ServiceMetricsView[], resources: Record<string, ServiceResources> = {}, next: Date | null = null): MetricsSource {
  return { services: () => services, nextScheduledRestart: () => next, notifySinks: () => ['nats nats://127.0.0.1:4222'], resources: (name) => resources[name] };
}

const running = (name: string): ServiceMetricsView => ({ name, state: 'running', startedAt: 1_700_000_000_000, lastExit: null });

function event(fields: Omit<EventRecord, 'time'>): EventRecord {
  return { time: new Date().toISOString(), ...fields } as EventRecord;
}

/** The value of one sample line, e.g. sample(text, 'restartctl_gave_up_total{service="a"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function promtool(): string | null {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return found.status === 0 ? 'promtool' : null;
}

describe('restartctl metrics', () => {
  test('restart counters move with the events, one reason each', async () => {
    const metrics = createMetrics(client, source([running('cam')]), '9.9.9');
    const restartsOf = async (reason: string) => sample((await metrics.render()).body, `restartctl_service_restarts_total{service="cam",reason="${reason}"}`);
    metrics.record(event({ event: 'started', service: 'cam', reason: 'supervisor start' }));
    assert.equal(await restartsOf('crash'), 0, 'a first start is not a restart, but the series exists');
    metrics.record(event({ event: 'crashed', service: 'cam', exit_code: 1 }));
    metrics.record(event({ event: 'restarting', service: 'cam', restart_attempt: 1 }));
    metrics.record(event({ event: 'started', service: 'cam', reason: 'automatic restart' }));
    assert.equal(await restartsOf('crash'), 1);
    for (const [reason, cause] of [['scheduled restart', 'schedule'], ['user restart', 'manual'], ['user force-restart', 'manual'], ['watched files changed', 'watch'], ['config changed; watched files changed', 'reload']]) {
      metrics.record(event({ event: 'started', service: 'cam', reason: reason! }));
      assert.ok((await restartsOf(cause!))! >= 1, `${reason} counts as ${cause}`);
    }
    metrics.record(event({ event: 'unhealthy', service: 'cam', failures: 3 }));
    metrics.record(event({ event: 'started', service: 'cam', reason: 'automatic restart' }));
    assert.equal(await restartsOf('health'), 1, 'an automatic restart announced by unhealthy');
    metrics.record(event({ event: 'memory_limit', service: 'cam', rss_bytes: 5 }));
    metrics.record(event({ event: 'started', service: 'cam', reason: 'automatic restart' }));
    assert.equal(await restartsOf('memory'), 1);
    assert.equal(await restartsOf('crash'), 1, 'health and memory restarts are not crashes');
    metrics.record(event({ event: 'started', service: 'cam', reason: 'user start' }));
    assert.equal(await restartsOf('manual'), 2, 'a user start of a stopped service is not a restart');

    metrics.record(event({ event: 'gave_up', service: 'cam', reason: 'limit' }));
    metrics.record(event({ event: 'notify_failed', service: 'cam', sink: 'nats nats://127.0.0.1:4222', error: 'x' }));
    const text = (await metrics.render()).body;
    assert.equal(sample(text, 'restartctl_gave_up_total{service="cam"}'), 1);
    assert.equal(sample(text, 'restartctl_notify_failures_total{sink="nats nats://127.0.0.1:4222"}'), 1);
    assert.equal(sample(text, 'restartctl_build_info{version="9.9.9"}'), 1);
    metrics.close();
  });

  test('gauges follow the state; no resource data leaves those series absent, not 0', async () => {
    const services: ServiceMetricsView[] = [
      running('cam'),
      { name: 'dome', state: 'failed', startedAt: null, lastExit: { code: null, signal: 'SIGKILL' } },
      { name: 'ccd', state: 'exited', startedAt: null, lastExit: { code: 0, signal: null } },
    ];
    const metrics = createMetrics(client, source(services, { cam: { rss_bytes: 1024, cpu_seconds: 2.5, gpu_memory_bytes: 4096, health: 'unhealthy' } }, new Date(1_800_000_000_000)), '1');
    const text = (await metrics.render()).body;
    assert.equal(sample(text, 'restartctl_service_up{service="cam"}'), 1);
    assert.equal(sample(text, 'restartctl_service_up{service="dome"}'), 0);
    assert.equal(sample(text, 'restartctl_service_state{service="dome",state="failed"}'), 1);
    assert.equal(sample(text, 'restartctl_service_state{service="dome",state="running"}'), 0);
    assert.equal(sample(text, 'restartctl_service_start_time_seconds{service="cam"}'), 1_700_000_000);
    assert.equal(sample(text, 'restartctl_service_start_time_seconds{service="dome"}'), undefined);
    assert.equal(sample(text, 'restartctl_service_last_exit_code{service="dome"}'), 137, 'SIGKILL as 128 + 9');
    assert.equal(sample(text, 'restartctl_service_last_exit_code{service="ccd"}'), 0);
    assert.equal(sample(text, 'restartctl_service_memory_rss_bytes{service="cam"}'), 1024);
    assert.equal(sample(text, 'restartctl_service_cpu_seconds_total{service="cam"}'), 2.5);
    assert.equal(sample(text, 'restartctl_service_gpu_memory_bytes{service="cam"}'), 4096);
    assert.equal(sample(text, 'restartctl_service_health_status{service="cam"}'), 0);
    for (const name of ['restartctl_service_memory_rss_bytes', 'restartctl_service_health_status', 'restartctl_service_cpu_seconds_total']) {
      assert.equal(sample(text, `${name}{service="dome"}`), undefined, `${name} absent without data`);
    }
    assert.equal(sample(text, 'restartctl_schedule_next_restart_timestamp_seconds'), 1_800_000_000);
    assert.equal(sample(text, 'restartctl_notify_failures_total{sink="nats nats://127.0.0.1:4222"}'), 0, 'a configured sink starts at 0');
    assert.ok(text.includes('process_cpu_seconds_total'), 'the default process metrics');
    assert.ok(!text.includes('nodejs_active_handles_total'), 'the lint-failing default is dropped');
    metrics.close();
  });

  test('Debian promtool accepts the output of 50 services without a lint warning', async (t) => {
    const tool = promtool();
    if (!tool) return t.skip('promtool is not installed (Debian package prometheus)');
    const services = Array.from({ length: 50 }, (_, index) => running(`service-${index}`));
    const resources = Object.fromEntries(services.map((service, index) => [service.name, { rss_bytes: index * 1000, cpu_seconds: index, gpu_memory_bytes: index, health: 'healthy' as const }]));
    const metrics = createMetrics(client, source(services, resources, new Date()), '0.1.0');
    for (const service of services) {
      metrics.record(event({ event: 'started', service: service.name, reason: 'supervisor start' }));
      metrics.record(event({ event: 'started', service: service.name, reason: 'automatic restart' }));
      metrics.record(event({ event: 'gave_up', service: service.name }));
    }
    metrics.record(event({ event: 'notify_failed', sink: 'https://hooks.example/***', error: 'x' }));
    const { body } = await metrics.render();
    const checked = spawnSync(tool, ['check', 'metrics'], { input: body, encoding: 'utf8' });
    assert.equal(checked.status, 0, `promtool check metrics: ${checked.stdout}${checked.stderr}`);
    assert.equal(`${checked.stdout}${checked.stderr}`.trim(), '', 'no lint output');
    metrics.close();
  });

  test('a scrape with 50 services takes well under 50 ms (bound here generous; figure in bench/)', async () => {
    const services = Array.from({ length: 50 }, (_, index) => running(`service-${index}`));
    const metrics = createMetrics(client, source(services, {}, new Date()), '0.1.0');
    for (const service of services) metrics.record(event({ event: 'started', service: service.name, reason: 'automatic restart' }));
    await metrics.render(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await metrics.render();
      times.push(performance.now() - started);
    }
    const median = times.sort((a, b) => a - b)[10]!;
    assert.ok(median < 200, `median scrape ${median.toFixed(1)} ms`);
    metrics.close();
  });
});
