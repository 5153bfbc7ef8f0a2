/** Starts the web page beside the supervisor: the server, the event feed, and the sparkline sampling. Never throws. */
import type { ControlRequest, ControlResponse } from '../control/protocol.ts';
import { errorMessage } from '../core/errors.ts';
import type { EventLog } from '../core/events.ts';
import type { Config } from '../core/types.ts';
import { ResourceHistory, type ResourceSample } from './history.ts';
import { ProcSampler } from './sampler.ts';
import { startWebServer, type WebServer } from './server.ts';

/** How often the sparklines get a point when the supervisor has no resource sampler of its own (tests, stand-ins). */
export const RESOURCES_INTERVAL_MS = 5_000;
const FIRST_SAMPLE_MS = 1_000;

/** What the web page needs of the supervisor (it passes itself). */
export interface WebSupervisor {
  readonly config: Config;
  readonly events: EventLog;
  readonly services: ReadonlyMap<string, { readonly name: string; readonly pid: number | null }>;
  handle(request: ControlRequest): Promise<ControlResponse>;
  /** The resource sampler's latest figures for a service (resources.interval); null before its first sample. */
  resourceSampleOf?(name: string): ResourceSample | null;
}

export interface AttachedWeb {
  readonly server: WebServer;
  readonly history: ResourceHistory;
  reconfigure(config: Config): void;
  close(): Promise<void>;
}

export async function attachWeb(supervisor: WebSupervisor): Promise<AttachedWeb | null> {
  const web = supervisor.config.web;
  if (!web) return null;
  // One point per resources.interval, from the supervisor's own sampler: no polling faster than it
  const ownSampler = supervisor.resourceSampleOf?.bind(supervisor);
  const intervalMs = ownSampler ? supervisor.config.resources.intervalMs : RESOURCES_INTERVAL_MS;
  const history = new ResourceHistory(intervalMs);
  let server: WebServer;
  try {
    server = await startWebServer(web, {
      get config() { return supervisor.config; },
      handle: (request) => supervisor.handle(request),
      record: (event) => supervisor.events.record(event),
      serviceNames: () => [...supervisor.services.keys()],
    }, history);
  } catch (error) {
    supervisor.events.record({ event: 'web_error', reason: `${web.host}:${web.port}: ${errorMessage(error)}` });
    return null;
  }
  supervisor.events.addSink((event) => server.publishEvent(event));
  const sampler = new ProcSampler();
  const sample = () => {
    try {
      const now = Date.now();
      const samples = ownSampler
        ? new Map([...supervisor.services.keys()].map((name) => [name, ownSampler(name) ?? { cpu_percent: null, rss_bytes: null, gpu_memory_bytes: null }]))
        : sampler.sample([...supervisor.services.values()].map((service) => ({ name: service.name, pid: service.pid })), now);
      history.record(now, samples);
      server.publishResources(now, samples);
    } catch {
      // /proc unreadable for a moment: the next round tries again
    }
  };
  // The first point once the autostart services are up (they start after the web server), then one per interval
  const first = setTimeout(sample, FIRST_SAMPLE_MS);
  first.unref();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  supervisor.events.record({ event: 'web_started', reason: `http://${web.host.includes(':') ? `[${web.host}]` : web.host}:${server.port}${web.basePath}`, port: server.port });
  return {
    server,
    history,
    reconfigure: (config) => { if (config.web) server.reconfigure(config.web); },
    close: async () => {
      clearTimeout(first);
      clearInterval(timer);
      await server.close();
    },
  };
}
