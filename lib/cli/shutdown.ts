/** `shutdown`: ask the supervisor to stop everything, then wait for it, boundedly, and say what is left when it takes too long. */
import { readFileSync } from 'node:fs';
import type { CliContext, CliIo } from './context.ts';
import { statePaths } from '../config/paths.ts';
import { isAlive } from '../process/proc.ts';
import { runningSupervisorPid } from '../process/pid-file.ts';
import type { StateFile } from '../core/types.ts';

/** Beyond the services' longest stop_timeout: SIGKILL and its wait, the webhooks' flush, one-shots, margin. */
const SHUTDOWN_MARGIN_MS = 20_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 20;

export type ControlCall = () => Promise<number>;

/** How long a shutdown may take: the config's longest stop_timeout (services stop in parallel) plus a margin. */
export async function shutdownLimitMs(context: CliContext, io: CliIo): Promise<number> {
  try {
    const { loadConfig } = await import('../config/load.ts');
    const { config } = loadConfig({ flag: context.configFile, env: io.env, cwd: io.cwd });
    return Math.max(DEFAULT_STOP_TIMEOUT_MS, ...config.services.map((service) => service.stopTimeoutMs)) + SHUTDOWN_MARGIN_MS;
  } catch {
    return DEFAULT_STOP_TIMEOUT_MS + SHUTDOWN_MARGIN_MS; // an invalid config must not block a shutdown
  }
}

export async function shutdownCommand(io: CliIo, context: CliContext, request: ControlCall, limitMs?: number): Promise<number> {
  const paths = statePaths(context.stateDir);
  const pid = runningSupervisorPid(paths.supervisorPid);
  const code = await request();
  if (code !== 0 || pid === null) return code;
  const limit = limitMs ?? (await shutdownLimitMs(context, io));
  const deadline = Date.now() + limit;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      const left = stillRunning(paths.state);
      io.stderr(`error: the supervisor (pid ${pid}) is still shutting down after ${Math.round(limit / 1000)}s; still running: ${left.length ? left.join(', ') : 'no service (it may be flushing notifications or stuck)'}\n`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  io.stdout('supervisor stopped\n');
  return 0;
}

/** Services state.json still shows with a live pid. */
function stillRunning(stateFile: string): string[] {
  try {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as StateFile;
    return state.services.filter((service) => service.pid !== null && isAlive(service.pid)).map((service) => `${service.name} (pid ${service.pid}, ${service.state})`);
  } catch {
    return [];
  }
}
