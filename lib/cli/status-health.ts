/** Status table cells for health and resources (issue #10); null = the header. Light: status stays fast. */
import { formatBytes } from '../config/duration.ts';
import type { HealthStatus, ResourceSample } from '../core/types.ts';

interface WithHealth {
  health?: HealthStatus | null;
  resources?: ResourceSample | null;
}

/** `healthy`, `unhealthy`, `starting` (start period, or no probe yet), `-` without a health check. */
export function healthCells(service: WithHealth | null): string[] {
  if (service === null) return ['HEALTH'];
  return [service.health?.status ?? '-'];
}

/** CPU % and RSS of the whole tree; GPU memory only when nvidia-smi exists (some sample has it). */
export function resourceCells(service: WithHealth | null, gpu: boolean): string[] {
  if (service === null) return ['CPU', 'RSS', ...(gpu ? ['GPU MEM'] : [])];
  const sample = service.resources;
  if (!sample) return ['-', '-', ...(gpu ? ['-'] : [])];
  const gpuCell = sample.gpu_memory_bytes === null ? '-' : formatBytes(sample.gpu_memory_bytes);
  return [`${sample.cpu_percent.toFixed(1)}%`, formatBytes(sample.rss_bytes), ...(gpu ? [gpuCell] : [])];
}
