/** NVIDIA GPUs through nvidia-smi (found on PATH): memory per GPU, compute processes, cleanup after a stop. */
import { readFileSync } from 'node:fs';
import { runHook } from './hooks.ts';

const MIB = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5000;
/** A query killed on timeout normally settles at once; this covers an nvidia-smi stuck in the driver (state D). */
const SETTLE_MARGIN_MS = 1000;
/** How long killed compute processes get to vanish before GPU memory is read again. */
const KILL_WAIT_MS = 3000;
const KILL_POLL_MS = 50;

export interface GpuInfo {
  name: string;
  /** Bytes. */
  memory_used: number;
  /** Bytes. */
  memory_total: number;
}

export interface ComputeApp {
  pid: number;
  usedMemoryBytes: number;
}

export async function hasNvidiaSmi(): Promise<boolean> {
  const { which } = await import('zx');
  return (await which('nvidia-smi', { nothrow: true })) !== null;
}

/** stdout of `nvidia-smi args`, or null when it is missing, fails or times out. Never throws. */
async function nvidiaSmi(args: string[], timeoutMs: number): Promise<string | null> {
  if (!(await hasNvidiaSmi())) return null;
  const { $ } = await import('zx');
  // Own process group and own timer: zx's timeout kill walks the tree with `ps`, which may be missing.
  const run = $({ nothrow: true, quiet: true, detached: true })`nvidia-smi ${args}`;
  const killGroup = (): void => {
    if (run.pid === undefined) return;
    try {
      process.kill(-run.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  let backstop: NodeJS.Timeout | undefined;
  const killTimer = setTimeout(killGroup, timeoutMs);
  const gaveUp = new Promise<null>((resolve) => {
    backstop = setTimeout(() => resolve(null), timeoutMs + SETTLE_MARGIN_MS);
  });
  try {
    const output = await Promise.race([run, gaveUp]);
    return output !== null && output.exitCode === 0 ? output.stdout : null;
  } catch {
    return null;
  } finally {
    clearTimeout(killTimer);
    clearTimeout(backstop);
  }
}

/** nvidia-smi prints `[N/A]` or `[Not Supported]` for values it cannot read: those count as 0. */
function mibToBytes(field: string | undefined): number {
  const mib = Number(field?.trim());
  return Number.isFinite(mib) ? Math.round(mib * MIB) : 0;
}

function csvRows(text: string): string[][] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => line.split(',').map((field) => field.trim()));
}

/** Parses `index, name, memory.used, memory.total` rows (MiB, `nounits`), ordered by index. */
export function parseGpuCsv(text: string): GpuInfo[] {
  return csvRows(text)
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[0]!))
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map((fields) => ({
      // A name may itself contain a comma: it is everything between the index and the two numbers.
      name: fields.slice(1, -2).join(', '),
      memory_used: mibToBytes(fields.at(-2)),
      memory_total: mibToBytes(fields.at(-1)),
    }));
}

/** Parses `pid, used_memory` rows (MiB, `nounits`). */
export function parseComputeAppsCsv(text: string): ComputeApp[] {
  return csvRows(text)
    .filter((fields) => fields.length >= 2 && /^\d+$/.test(fields[0]!))
    .map((fields) => ({ pid: Number(fields[0]), usedMemoryBytes: mibToBytes(fields[1]) }));
}

/** Empty when nvidia-smi is missing or fails. */
export async function queryGpus(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<GpuInfo[]> {
  const csv = await nvidiaSmi(['--query-gpu=index,name,memory.used,memory.total', '--format=csv,noheader,nounits'], timeoutMs);
  return csv === null ? [] : parseGpuCsv(csv);
}

/** Empty when nvidia-smi is missing or fails. */
export async function queryComputeApps(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ComputeApp[]> {
  const csv = await nvidiaSmi(['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], timeoutMs);
  return csv === null ? [] : parseComputeAppsCsv(csv);
}

export interface GpuCleanupOptions {
  /** True for a pid that belongs to our services (typically: it carries our marker env var). */
  ourPids: (pid: number) => boolean;
  /** Runs under /bin/sh -c after the kills; null = none. */
  resetCommand: string | null;
  /** A GPU using more than this many MiB afterwards is a leak. */
  maxUsedMb: number;
  cwd: string;
  /** Per nvidia-smi call and for the reset command. @default 5000 */
  timeoutMs?: number;
}

export interface GpuCleanupResult {
  before: GpuInfo[];
  after: GpuInfo[];
  killed: number[];
  reset: { ok: boolean; code: number | null } | null;
  leak: boolean;
}

/** SIGKILLs our leftover compute processes, runs the reset command, and reports whether memory is still held. */
export async function gpuCleanup(options: GpuCleanupOptions): Promise<GpuCleanupResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const before = await queryGpus(timeoutMs);
  const apps = await queryComputeApps(timeoutMs);
  const killed = apps.map((app) => app.pid).filter((pid) => safeOwnership(options.ourPids, pid) && sigkill(pid));
  await waitUntilGone(killed, Math.min(KILL_WAIT_MS, timeoutMs));
  let reset: GpuCleanupResult['reset'] = null;
  if (options.resetCommand !== null) {
    const result = await runHook(options.resetCommand, { cwd: options.cwd, timeoutMs });
    reset = { ok: result.ok, code: result.code };
  }
  const after = await queryGpus(timeoutMs);
  const limitBytes = options.maxUsedMb * MIB;
  return { before, after, killed, reset, leak: after.some((gpu) => gpu.memory_used > limitBytes) };
}

function safeOwnership(ourPids: (pid: number) => boolean, pid: number): boolean {
  try {
    return ourPids(pid);
  } catch {
    // A process that vanished while being inspected is not ours to kill.
    return false;
  }
}

function sigkill(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** Gone = no such process, or a zombie (its GPU memory is already released). */
function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').startsWith('Z');
  } catch {
    try {
      process.kill(pid, 0);
      return false; // No /proc (macOS) but alive.
    } catch {
      return true;
    }
  }
}

async function waitUntilGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => !isGone(pid)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, KILL_POLL_MS));
  }
}
