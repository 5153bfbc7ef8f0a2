/** What every boot hook starts, with absolute paths only: cron, Jupyter and systemd start with a bare environment. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStateDirLenient, stateDirHash } from '../config/paths.ts';

export const HOOK_KINDS = ['cron', 'jupyter', 'systemd'] as const;
export type HookKind = typeof HOOK_KINDS[number];

export interface HookTarget {
  /** Absolute path of the config file: also the tag that marks this config's hook. */
  configFile: string;
  /** state_dir as the file sets it: a hook runs without this shell's RESTART_CONTROL_* variables. */
  stateDir: string;
  hookLog: string;
  runTs: string;
  cliTs: string;
  /** The node that runs this CLI, passed to the entry points as NODE= (cron's PATH has no nvm or conda). */
  node: string;
}

export interface HookOptions {
  dryRun: boolean;
}

/** Output of one hook command; `exitCode` 0 unless something failed. */
export interface HookReport {
  lines: string[];
  exitCode: number;
}

export function hookTarget(configFile: string): HookTarget {
  const root = projectRoot();
  const stateDir = readStateDirLenient(configFile, {});
  return {
    configFile,
    stateDir,
    hookLog: join(stateDir, 'hook.log'),
    runTs: join(root, 'run.ts'),
    cliTs: join(root, 'restart-control.ts'),
    node: process.execPath,
  };
}

/** The line (or comment) that marks this config's hook. */
export function hookTag(configFile: string): string {
  return `restart-control: ${configFile}`;
}

/** 8 hex chars per config path, for names that must differ between configs (systemd units). */
export function configHash(configFile: string): string {
  return stateDirHash(configFile).slice(0, 8);
}

/** The folder with package.json, run.ts and restart-control.ts: lib/boot/ and dist/ sit at different depths. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
