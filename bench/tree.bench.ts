/** Stops a 15-process tree (tree.sh: setsid, orphans, 5 members ignoring SIGTERM) and counts what survives. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isAlive, procStartTime } from '../lib/process/proc.ts';
import { findMarked, MARKER_ENV, signalTree, stopTree } from '../lib/process/tree.ts';

const TREE_FIXTURE = fileURLToPath(new URL('../test/fixtures/tree.sh', import.meta.url));
const DESCENDANTS = 14;
const IGNORING_SIGTERM = 5;
const TIMEOUT_MS = 1000;
const READY_TIMEOUT_MS = 10_000;

async function waitForLines(file: string, count: number): Promise<string[]> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) throw new Error(`tree.sh recorded ${lines.length} of ${count} processes in ${READY_TIMEOUT_MS} ms`);
    await delay(10);
  }
}

export async function benchTree(): Promise<{ survivors: number; stopMs: number; timeoutMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-bench-tree-'));
  const marker = `rc-bench-${randomUUID()}/tree`;
  try {
    const pidsFile = join(dir, 'pids');
    const env = { ...process.env, TREE_PIDS_FILE: pidsFile, [MARKER_ENV]: marker };
    const child = spawn(TREE_FIXTURE, [String(DESCENDANTS), String(IGNORING_SIGTERM)], { detached: true, stdio: 'ignore', env });
    const members = (await waitForLines(pidsFile, DESCENDANTS + 1)).map((line) => {
      const pid = Number(line.split(' ')[0]);
      return { pid, startTime: procStartTime(pid) };
    });
    const result = await stopTree({ pid: child.pid!, startTime: members[0]!.startTime, marker, signal: 'SIGTERM', timeoutMs: TIMEOUT_MS });
    const survivors = members.filter((member) => isAlive(member.pid, member.startTime)).length;
    return { survivors: Math.max(survivors, result.survivors.length), stopMs: Math.round(result.durationMs), timeoutMs: TIMEOUT_MS };
  } finally {
    signalTree(findMarked(marker), 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
