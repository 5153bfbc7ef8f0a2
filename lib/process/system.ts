/** A snapshot of memory, disk and GPU use for the restart log: `memory 8.2GB/16GB, storage 45GB/100GB (45% used), …`. */
import { readFileSync, statfsSync } from 'node:fs';
import { formatBytes } from '../config/duration.ts';
import type { GpuInfo } from '../schedule/gpu.ts';

/** All sizes in bytes; a part that could not be read is zeros (or no GPUs). */
export interface SystemSnapshot {
  memory: { used: number; total: number };
  /** `available`: what unprivileged users may still write (df's Avail); the blocks reserved for root are neither. */
  disk: { path: string; used: number; total: number; available: number };
  gpus: GpuInfo[];
}

export interface SystemSnapshotOptions {
  /** false = do not ask nvidia-smi (GPU cleanup off). @default true */
  nvidiaSmi?: boolean;
  /** @default 5000 */
  gpuTimeoutMs?: number;
}

/** Never throws. */
export async function systemSnapshot(diskPath: string, options: SystemSnapshotOptions = {}): Promise<SystemSnapshot> {
  const [memory, disk, gpus] = await Promise.all([
    readMemory(),
    readDisk(diskPath),
    // gpu.ts (and the hook runner under it) loads only where there is a GPU to ask
    options.nvidiaSmi === false ? [] : import('../schedule/gpu.ts').then(({ queryGpus }) => queryGpus(options.gpuTimeoutMs)).catch(() => []),
  ]);
  return { memory, disk, gpus };
}

async function readMemory(): Promise<SystemSnapshot['memory']> {
  // /proc/meminfo directly: importing systeminformation costs ~45 ms here, too much for `status`
  const fromProc = readMeminfo();
  if (fromProc) return fromProc;
  try {
    const { mem } = await import('systeminformation');
    const data = await mem();
    // `available` counts reclaimable cache as free, unlike `used`, which is what "memory in use" means to people.
    return { used: Math.max(0, data.total - data.available), total: data.total };
  } catch {
    return { used: 0, total: 0 };
  }
}

function readDisk(path: string): SystemSnapshot['disk'] {
  try {
    const stats = statfsSync(path);
    return { path, used: (stats.blocks - stats.bfree) * stats.bsize, total: stats.blocks * stats.bsize, available: stats.bavail * stats.bsize };
  } catch {
    return { path, used: 0, total: 0, available: 0 };
  }
}

/**
 * Percent of the disk in use as df's Use% says it: used / (used + available), rounded up. `used / total` reads low,
 * since the blocks reserved for root (5 % by default on ext4) count as neither. Without `available` (events recorded
 * by older versions): used / total.
 */
export function diskUsedPercent(disk: { used?: number; total?: number; available?: number }): number {
  const used = disk.used ?? 0;
  const whole = disk.available === undefined ? disk.total ?? 0 : used + disk.available;
  return whole > 0 ? Math.ceil((used * 100) / whole) : 0;
}

function usage(used: number, total: number): string {
  return `${formatBytes(used)}/${formatBytes(total)}`;
}

export function formatSystemLine(s: SystemSnapshot): string {
  const parts = [
    s.memory.total > 0 ? `memory ${usage(s.memory.used, s.memory.total)}` : 'memory unknown',
    s.disk.total > 0
      ? `storage ${usage(s.disk.used, s.disk.total)} (${diskUsedPercent(s.disk)}% used)`
      : 'storage unknown',
    ...s.gpus.map((gpu, index) => `gpu${index} ${gpu.name} ${usage(gpu.memory_used, gpu.memory_total)}`),
  ];
  return parts.join(', ');
}

function readMeminfo(): SystemSnapshot['memory'] | null {
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const kb = (key: string) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1]);
    const total = kb('MemTotal') * 1024;
    const available = kb('MemAvailable') * 1024;
    return Number.isFinite(total) && Number.isFinite(available) ? { used: Math.max(0, total - available), total } : null;
  } catch {
    return null;
  }
}
