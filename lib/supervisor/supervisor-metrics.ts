/** The supervisor's side of the metrics: per-service resources for the registry, and /metrics on the web page. */
import { errorMessage } from '../core/errors.ts';
import type { CpuSecondsTotal } from '../metrics/cpu-total.ts';
import type { MetricsEndpoint } from '../metrics/endpoint.ts';
import type { ServiceResources } from '../metrics/registry.ts';
import type { ServiceWatch } from '../health/watch.ts';
import type { AttachedWeb } from '../web/attach.ts';

type WatchedService = Parameters<ServiceWatch['health']>[0];

/** Resources and health of one service, from the health checks and the resource sampler; undefined for an unknown name. */
export function resourcesOf(name: string, service: WatchedService | undefined, watch: Pick<ServiceWatch, 'health' | 'resources'>, cpuTotals: CpuSecondsTotal): ServiceResources | undefined {
  if (!service) return undefined;
  const sample = watch.resources(service);
  const health = watch.health(service);
  return {
    ...(sample ? { rss_bytes: sample.rss_bytes, ...(sample.gpu_memory_bytes === null ? {} : { gpu_memory_bytes: sample.gpu_memory_bytes }) } : {}),
    ...(sample || cpuTotals.read(name, null) !== undefined ? { cpu_seconds: cpuTotals.read(name, sample) } : {}),
    ...(health ? { health: health.status } : {}),
  };
}

/** GET /metrics on web.listen, under the page's own access rules (free on loopback, the token beyond it). */
export function mountWebMetrics(web: AttachedWeb | null, metrics: () => MetricsEndpoint | null): void {
  web?.server.mount('metrics', async (_request, response) => {
    try {
      const { contentType, body } = await metrics()!.metrics.render();
      response.writeHead(200, { 'content-type': contentType }).end(body);
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${errorMessage(error)}\n`);
    }
  });
}
