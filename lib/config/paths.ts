/**
 * Where things live. Kept free of yaml/zod so `status` starts fast and works while the
 * config file on disk is invalid (state_dir is read leniently, line by line).
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export const DEFAULT_CONFIG_FILE = 'restart-control.yaml';
export const DEFAULT_STATE_DIR = '.restart-control';
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, flag ?? env.RESTART_CONTROL_CONFIG ?? DEFAULT_CONFIG_FILE);
}

/**
 * Why there is no config, naming every place looked at, in the order they are tried: `--config`, then
 * `$RESTART_CONTROL_CONFIG`, then `./restart-control.yaml` in the current directory.
 */
export function missingConfigMessage(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const file = resolveConfigPath(flag, env, cwd);
  if (flag !== undefined) return `no config file: ${file} (--config) does not exist`;
  if (env.RESTART_CONTROL_CONFIG) return `no config file: ${file} ($RESTART_CONTROL_CONFIG; no --config given) does not exist`;
  return `no config file: no --config given, $RESTART_CONTROL_CONFIG not set, and no ./${DEFAULT_CONFIG_FILE} in ${cwd} (${file})`;
}

/** state_dir from env, else the file's top-level `state_dir:` line (even if the rest is broken), else the default. */
export function readStateDirLenient(configFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const folder = dirname(configFile);
  if (env.RESTART_CONTROL_STATE_DIR) return resolve(folder, env.RESTART_CONTROL_STATE_DIR);
  let text = '';
  try {
    text = readFileSync(configFile, 'utf8');
  } catch {
    return resolve(folder, DEFAULT_STATE_DIR);
  }
  // Block style at the top level first; then the flow / JSON form (`{"state_dir": "x", ...}`), quoted key or not
  const match = text.match(/^["']?state_dir["']?[ \t]*:[ \t]*(?:"([^"]*)"|'([^']*)'|([^#\r\n]*?))[ \t]*(?:#.*)?$/m)
    ?? text.match(/[{,][ \t\r\n]*["']?state_dir["']?[ \t]*:[ \t]*(?:"([^"]*)"|'([^']*)'|([^,}\r\n]*?))[ \t]*[,}\r\n]/);
  const value = match ? (match[1] ?? match[2] ?? match[3] ?? '').trim() : '';
  return resolve(folder, value || DEFAULT_STATE_DIR);
}

export function resolveStateDir(folder: string, value: string): string {
  return isAbsolute(value) ? value : resolve(folder, value);
}

export interface StatePaths {
  dir: string;
  lockTarget: string;
  supervisorPid: string;
  state: string;
  events: string;
  pidsDir: string;
  socket: string;
  schedule: string;
  supervisorLog: string;
  logsDir: string;
}

export function statePaths(stateDir: string, logsDir = join(stateDir, 'logs')): StatePaths {
  return {
    dir: stateDir,
    lockTarget: join(stateDir, 'supervisor'),
    supervisorPid: join(stateDir, 'supervisor.pid'),
    state: join(stateDir, 'state.json'),
    events: join(stateDir, 'events.jsonl'),
    pidsDir: join(stateDir, 'pids'),
    socket: socketPath(stateDir),
    schedule: join(stateDir, 'schedule.json'),
    supervisorLog: join(stateDir, 'supervisor.log'),
    logsDir,
  };
}

/**
 * `<state_dir>/control.sock`, or, when that path is too long for a unix socket, `<hash>.sock` in this user's private
 * folder of the temp dir (`restart-control-<uid>`, mode 0700, checked to be ours by both ends: see secure-fs.ts).
 */
export function socketPath(stateDir: string): string {
  const preferred = join(stateDir, 'control.sock');
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  return join(socketFallbackDir(), `${stateDirHash(stateDir)}.sock`);
}

/** The private folder for sockets whose state_dir path is too long. */
export function socketFallbackDir(): string {
  return join(tmpdir(), `restart-control-${process.getuid?.() ?? 'user'}`);
}

export function socketPathFits(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH;
}

/**
 * 16 hex chars identifying a state dir: part of every service's marker env var. FNV-1a (64 bit) rather than
 * node:crypto, whose loading costs `status` a few ms; nothing here needs a cryptographic hash.
 */
export function stateDirHash(stateDir: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(resolve(stateDir))) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash.toString(16).padStart(16, '0');
}

export function serviceMarker(stateDir: string, service: string): string {
  return `${stateDirHash(stateDir)}/${service}`;
}
