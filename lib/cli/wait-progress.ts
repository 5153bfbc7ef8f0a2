/**
 * While `start`, `restart` or `force-restart` waits for readiness: what each service waits for and for how long,
 * read from state.json (never through the busy supervisor). One updating line on a TTY, plain lines otherwise.
 */
import { readStateFile } from './status-report.ts';
import { statePaths } from '../config/paths.ts';
import type { StateFile } from '../core/types.ts';

const POLL_MS = 500;
/** Without a TTY, a service's waiting line repeats at most this often. */
const PLAIN_EVERY_MS = 5_000;

/** `comfyui: waiting for http://127.0.0.1:8188/ (41s)` for each service still starting and not ready. */
export function waitingLines(state: StateFile | null, names: string[], now: number): string[] {
  return (state?.services ?? [])
    .filter((service) => (names.length === 0 || names.includes(service.name)) && service.state === 'starting' && service.ready && service.ready.since === null && service.started_at)
    .map((service) => `${service.name}: waiting for ${service.ready!.condition} (${Math.max(0, Math.round((now - Date.parse(service.started_at!)) / 1000))}s)`);
}

/** Starts the progress display; the returned function stops it (and clears the TTY line). */
export function showWaitProgress(stateDir: string, names: string[], write: (text: string) => void, tty: boolean): () => void {
  const file = statePaths(stateDir).state;
  const lastPrinted = new Map<string, number>();
  let shown = '';
  const tick = () => {
    const now = Date.now();
    const lines = waitingLines(readStateFile(file), names, now);
    if (tty) {
      const text = lines.join('; ');
      if (text !== shown) write(`\r\x1b[2K${text}`);
      shown = text;
      return;
    }
    for (const line of lines) {
      const name = line.slice(0, line.indexOf(':'));
      if (now - (lastPrinted.get(name) ?? 0) < PLAIN_EVERY_MS) continue;
      lastPrinted.set(name, now);
      write(`${line}\n`);
    }
  };
  const timer = setInterval(tick, POLL_MS);
  return () => {
    clearInterval(timer);
    if (tty && shown) write('\r\x1b[2K');
    shown = '';
  };
}
