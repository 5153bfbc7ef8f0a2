#!/bin/sh
//bin/true; D=$(dirname "$(dirname "$(readlink -f "$0")")"); command -v "${NODE:-node}" >/dev/null || PATH="$PATH:/usr/local/bin"; exec "${NODE:-node}" --import "$D/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// Line 2 is for /bin/sh (TypeScript sees a comment): run this file through the project's tsx, from any directory.
/**
 * Lists GPU compute processes; optionally kills some and resets a GPU. For a wedged GPU by hand, or as a hook:
 *   ./scripts/gpu-reset.ts                  list only
 *   ./scripts/gpu-reset.ts --pid 1234       SIGTERM (then SIGKILL after 5 s) a listed GPU process
 *   ./scripts/gpu-reset.ts --all            the same for every listed GPU process of the current user
 *   ./scripts/gpu-reset.ts --reset 0        nvidia-smi --gpu-reset -i 0 (needs root and an idle GPU)
 * Exit 0 when all went well or nvidia-smi is missing, 1 when a kill or the reset failed, 2 for bad arguments.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const KILL_GRACE_MS = 5000;
const NVIDIA_SMI_TIMEOUT = '15s';

interface GpuProcess {
  pid: number;
  usedMb: number;
  name: string;
  /** null when /proc does not show it (another pid namespace, or it just ended). */
  uid: number | null;
}

function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

/** A zombie has released its GPU memory already: it counts as gone. */
function isAlive(pid: number): boolean {
  const stat = readProc(pid, 'stat');
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

function describeProcess(pid: number, usedMb: number): GpuProcess {
  const uidLine = readProc(pid, 'status')?.match(/^Uid:\s+(\d+)/m);
  return { pid, usedMb, name: readProc(pid, 'comm')?.trim() ?? '?', uid: uidLine ? Number(uidLine[1]) : null };
}

/** `pid, used_memory` CSV lines (nounits: MiB; "[N/A]" counts as 0). */
function parseComputeApps(csv: string): GpuProcess[] {
  return csv.split('\n').flatMap((line) => {
    const [pid, used] = line.split(',').map((field) => field.trim());
    if (!pid || !/^\d+$/.test(pid)) return [];
    return [describeProcess(Number(pid), Number(used) || 0)];
  });
}

async function terminate(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    console.log(`  pid ${pid}: ${(error as NodeJS.ErrnoException).code === 'ESRCH' ? 'already gone' : (error as Error).message}`);
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const deadline = Date.now() + KILL_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (!isAlive(pid)) return true;
  console.log(`  pid ${pid}: still alive after ${KILL_GRACE_MS / 1000}s, sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Ended between the check and the kill.
  }
  return true;
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseArgs({
      options: { pid: { type: 'string', multiple: true }, all: { type: 'boolean' }, reset: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (error) {
    console.error(`gpu-reset: ${(error as Error).message}`);
    return 2;
  }
  if (options.help) {
    console.log('usage: gpu-reset.ts [--pid PID]... [--all] [--reset GPU_INDEX]');
    return 0;
  }
  const pids = (options.pid ?? []).flatMap((value) => value.split(',')).map((value) => value.trim());
  const badPid = pids.find((value) => !/^\d+$/.test(value));
  if (badPid !== undefined) {
    console.error(`gpu-reset: --pid: expected a process id, got "${badPid}"`);
    return 2;
  }
  if (options.reset !== undefined && !/^\d+$/.test(options.reset)) {
    console.error(`gpu-reset: --reset: expected a GPU index such as 0, got "${options.reset}"`);
    return 2;
  }

  const { $, which } = await import('zx');
  if ((await which('nvidia-smi', { nothrow: true })) === null) {
    console.log('gpu-reset: nvidia-smi not found: no NVIDIA GPU to clean up');
    return 0;
  }
  const smi = $({ nothrow: true, quiet: true, timeout: NVIDIA_SMI_TIMEOUT });
  const query = await smi`nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`;
  if (query.exitCode !== 0) {
    console.error(`gpu-reset: nvidia-smi failed (exit ${query.exitCode}): ${query.stderr.trim()}`);
    return 1;
  }
  const gpuProcesses = parseComputeApps(query.stdout);
  console.log(gpuProcesses.length === 0 ? 'No GPU compute processes.' : 'GPU compute processes:');
  for (const app of gpuProcesses) console.log(`  pid ${app.pid}  ${app.usedMb} MiB  ${app.name}  uid ${app.uid ?? '?'}`);

  const listed = new Set(gpuProcesses.map((app) => app.pid));
  // Only processes nvidia-smi lists: a mistyped pid must never kill something unrelated.
  for (const pid of pids.map(Number).filter((pid) => !listed.has(pid))) console.log(`pid ${pid} is not a GPU compute process: skipped`);
  const targets = new Set(pids.map(Number).filter((pid) => listed.has(pid)));
  if (options.all) for (const app of gpuProcesses) if (app.uid === process.getuid?.()) targets.add(app.pid);

  let ok = true;
  for (const pid of targets) {
    console.log(`Stopping pid ${pid} (SIGTERM)...`);
    ok = (await terminate(pid)) && ok;
  }
  if (options.reset !== undefined) {
    console.log(`Running nvidia-smi --gpu-reset -i ${options.reset}...`);
    const reset = await smi`nvidia-smi --gpu-reset -i ${options.reset}`;
    const output = `${reset.stdout}${reset.stderr}`.trim();
    if (output) console.log(output);
    if (reset.exitCode !== 0) {
      console.error(`gpu-reset: the reset failed (exit ${reset.exitCode}); it needs root and no process using the GPU`);
      ok = false;
    }
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
