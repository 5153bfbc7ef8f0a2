/**
 * The sparkline history: per service, a fixed-size ring of resource samples (the last hour at the sampling interval).
 * Memory is allocated once per service and never grows with uptime; services removed by a reload are dropped.
 */

/** One service's figures at one moment; null = not measured (no process, no GPU, no sampler for it yet). */
export interface ResourceSample {
  cpu_percent: number | null;
  rss_bytes: number | null;
  gpu_memory_bytes: number | null;
}

export const SAMPLE_FIELDS = ['cpu_percent', 'rss_bytes', 'gpu_memory_bytes'] as const;

/** What the page draws: columns oldest first, times in epoch seconds (uPlot's unit). */
export interface SeriesColumns {
  time: number[];
  cpu_percent: (number | null)[];
  rss_bytes: (number | null)[];
  gpu_memory_bytes: (number | null)[];
}

class Ring {
  private readonly times: Float64Array;
  private readonly values: Float64Array[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity);
    // NaN stands for null: typed arrays keep the ring's memory fixed
    this.values = SAMPLE_FIELDS.map(() => new Float64Array(capacity).fill(Number.NaN));
  }

  push(timeMs: number, sample: ResourceSample): void {
    this.times[this.next] = timeMs / 1000;
    SAMPLE_FIELDS.forEach((field, index) => { this.values[index]![this.next] = sample[field] ?? Number.NaN; });
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  columns(): SeriesColumns {
    const start = (this.next - this.size + this.capacity) % this.capacity;
    const order = Array.from({ length: this.size }, (_, i) => (start + i) % this.capacity);
    const column = (values: Float64Array) => order.map((at) => (Number.isNaN(values[at]!) ? null : values[at]!));
    return {
      time: order.map((at) => this.times[at]!),
      cpu_percent: column(this.values[0]!),
      rss_bytes: column(this.values[1]!),
      gpu_memory_bytes: column(this.values[2]!),
    };
  }

  get length(): number { return this.size; }
}

export class ResourceHistory {
  private readonly rings = new Map<string, Ring>();
  readonly capacity: number;

  /** `windowMs / intervalMs` samples per service (the last hour by default). */
  constructor(readonly intervalMs: number, windowMs = 3_600_000) {
    this.capacity = Math.max(2, Math.ceil(windowMs / intervalMs));
  }

  /** One sampling round: every current service, at one time. Services not in `samples` are forgotten. */
  record(timeMs: number, samples: ReadonlyMap<string, ResourceSample>): void {
    for (const name of this.rings.keys()) if (!samples.has(name)) this.rings.delete(name);
    for (const [name, sample] of samples) {
      let ring = this.rings.get(name);
      if (!ring) this.rings.set(name, ring = new Ring(this.capacity));
      ring.push(timeMs, sample);
    }
  }

  columns(name: string): SeriesColumns | null {
    return this.rings.get(name)?.columns() ?? null;
  }

  all(): Record<string, SeriesColumns> {
    return Object.fromEntries([...this.rings].map(([name, ring]) => [name, ring.columns()]));
  }

  /** Samples held for `name` (≤ capacity). */
  length(name: string): number {
    return this.rings.get(name)?.length ?? 0;
  }
}
