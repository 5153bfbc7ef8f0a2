/**
 * `restartctl_service_cpu_seconds_total` from the resource sampler's per-interval CPU %: each new sample adds
 * cpu_percent × the time since the previous one. A counter must never go down, so a restart does not reset it;
 * CPU used by a process that lived and died between two samples is not seen (the sampler's own limit).
 */
import type { ResourceSample } from '../core/types.ts';

export class CpuSecondsTotal {
  private readonly totals = new Map<string, { seconds: number; sampledAtMs: number }>();

  read(service: string, sample: ResourceSample | null): number | undefined {
    const previous = this.totals.get(service);
    if (!sample) return previous?.seconds;
    const sampledAtMs = Date.parse(sample.sampled_at);
    if (!previous) {
      this.totals.set(service, { seconds: 0, sampledAtMs });
      return 0;
    }
    if (sampledAtMs > previous.sampledAtMs) {
      previous.seconds += (sample.cpu_percent / 100) * ((sampledAtMs - previous.sampledAtMs) / 1000);
      previous.sampledAtMs = sampledAtMs;
    }
    return previous.seconds;
  }
}
