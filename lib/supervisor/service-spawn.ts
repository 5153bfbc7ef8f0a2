/** Starting one run of a service's command: its own process group, and the markers that find its whole tree later. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ServiceConfig } from '../core/types.ts';
import { MARKER_ENV, RUN_ENV } from '../process/tree.ts';
import { spawnGate } from './spawn-gate.ts';

export interface SpawnMarkers {
  /** MARKER_ENV: the service, inherited by every descendant. */
  marker: string;
  /** RUN_ENV: this run, tells its processes from a previous run's leftovers. */
  run: string;
}

/** Rejects on failures such as E2BIG or a cwd that is not a folder; others come later as the child's 'error'. */
export function spawnServiceProcess(config: ServiceConfig, baseEnv: NodeJS.ProcessEnv, markers: SpawnMarkers): Promise<ChildProcess> {
  const { command, cwd, env } = config;
  const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0]!, command.slice(1)];
  const environment = { ...baseEnv, ...env, [MARKER_ENV]: markers.marker, [RUN_ENV]: markers.run };
  return spawnGate.run(() => spawn(file, args, { cwd, env: environment, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * For a child without a pid yet: resolves once it spawned (after `spawned`), or once `failed` took its error; `failed`
 * returns false for an error that is no longer its to handle, and the promise then stays pending.
 */
export function whenSpawned(child: ChildProcess, spawned: () => void, failed: (error: Error) => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    child.once('spawn', () => {
      spawned();
      resolve();
    });
    child.once('error', (error) => {
      if (failed(error)) resolve();
    });
  });
}
