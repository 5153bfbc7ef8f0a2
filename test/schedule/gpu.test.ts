import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, test } from 'node:test';
import { gpuCleanup, hasNvidiaSmi, parseComputeAppsCsv, parseGpuCsv, queryComputeApps, queryGpus } from '../../lib/schedule/gpu.ts';
import { makeTempDir } from '../helpers.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));
const MIB = 1024 * 1024;
const savedPath = process.env.PATH;
const savedFakeDir = process.env.FAKE_NVIDIA_DIR;
let dir: ReturnType<typeof makeTempDir>;
const children: ChildProcess[] = [];

function startSleeper(): ChildProcess {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function calls(): string[] {
  try {
    return readFileSync(join(dir.path, 'calls.log'), 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

before(() => {
  dir = makeTempDir('rc-gpu-');
  process.env.PATH = `${FIXTURES}${delimiter}${savedPath}`;
  process.env.FAKE_NVIDIA_DIR = dir.path;
});

beforeEach(() => {
  for (const file of ['gpus.csv', 'apps.csv', 'calls.log', 'delay']) rmSync(join(dir.path, file), { force: true });
});

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  process.env.PATH = savedPath;
  if (savedFakeDir === undefined) delete process.env.FAKE_NVIDIA_DIR;
  else process.env.FAKE_NVIDIA_DIR = savedFakeDir;
  dir.remove();
});

describe('parsing', () => {
  test('GPU rows: MiB to bytes, ordered by index, commas in names, [N/A] as 0', () => {
    assert.deepEqual(parseGpuCsv('1, Tesla T4, [N/A], 15360\n0, NVIDIA RTX A4000, 1234, 16376\n\n0, bad\n'), [
      { name: 'NVIDIA RTX A4000', memory_used: 1234 * MIB, memory_total: 16376 * MIB },
      { name: 'Tesla T4', memory_used: 0, memory_total: 15360 * MIB },
    ]);
    assert.deepEqual(parseGpuCsv('0, Weird, Inc. GPU, 1, 2'), [{ name: 'Weird, Inc. GPU', memory_used: MIB, memory_total: 2 * MIB }]);
  });

  test('compute app rows', () => {
    assert.deepEqual(parseComputeAppsCsv('4242, 500\n77, [Not Supported]\nNo running processes found\n'), [
      { pid: 4242, usedMemoryBytes: 500 * MIB },
      { pid: 77, usedMemoryBytes: 0 },
    ]);
  });
});

describe('queries through the fake nvidia-smi', () => {
  test('hasNvidiaSmi finds it on PATH', async () => {
    assert.equal(await hasNvidiaSmi(), true);
  });

  test('queryGpus asks with the documented flags and parses the answer', async () => {
    writeFileSync(join(dir.path, 'gpus.csv'), '0, NVIDIA RTX A4000, 1200, 16376\n1, NVIDIA RTX A4000, 0, 16376\n');
    assert.deepEqual(await queryGpus(), [
      { name: 'NVIDIA RTX A4000', memory_used: 1200 * MIB, memory_total: 16376 * MIB },
      { name: 'NVIDIA RTX A4000', memory_used: 0, memory_total: 16376 * MIB },
    ]);
    assert.deepEqual(calls(), ['--query-gpu=index,name,memory.used,memory.total --format=csv,noheader,nounits']);
  });

  test('queryComputeApps lists live processes only', async () => {
    const live = startSleeper();
    writeFileSync(join(dir.path, 'apps.csv'), `${live.pid}, 700\n999999999, 5\n`);
    assert.deepEqual(await queryComputeApps(), [{ pid: live.pid, usedMemoryBytes: 700 * MIB }]);
    assert.deepEqual(calls(), ['--query-compute-apps=pid,used_memory --format=csv,noheader,nounits']);
  });

  test('a hanging nvidia-smi is killed at the timeout and gives no GPUs', async () => {
    writeFileSync(join(dir.path, 'gpus.csv'), '0, NVIDIA RTX A4000, 1200, 16376\n');
    writeFileSync(join(dir.path, 'delay'), '30');
    const started = Date.now();
    assert.deepEqual(await queryGpus(300), []);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  test('without nvidia-smi on PATH: no GPUs, no apps', async () => {
    const empty = makeTempDir('rc-gpu-path-');
    process.env.PATH = empty.path;
    try {
      assert.equal(await hasNvidiaSmi(), false);
      assert.deepEqual(await queryGpus(), []);
      assert.deepEqual(await queryComputeApps(), []);
    } finally {
      process.env.PATH = `${FIXTURES}${delimiter}${savedPath}`;
      empty.remove();
    }
  });
});

describe('gpuCleanup', () => {
  test('kills our compute process, spares the other, runs the reset, no leak once memory is freed', async () => {
    const ours = startSleeper();
    const theirs = startSleeper();
    const oursExit = once(ours, 'exit');
    writeFileSync(join(dir.path, 'gpus.csv'), '0, NVIDIA RTX A4000, 9000, 16376\n');
    writeFileSync(join(dir.path, 'apps.csv'), `${ours.pid}, 8000\n${theirs.pid}, 900\n`);
    // The reset "frees" the memory by rewriting what the fake reports, and proves it ran in cwd.
    const resetCommand = `echo reset > reset.log; echo '0, NVIDIA RTX A4000, 12, 16376' > gpus.csv`;

    const result = await gpuCleanup({ ourPids: (pid) => pid === ours.pid, resetCommand, maxUsedMb: 100, cwd: dir.path, timeoutMs: 5000 });

    assert.deepEqual(result.killed, [ours.pid]);
    assert.deepEqual(await oursExit, [null, 'SIGKILL']);
    assert.equal(theirs.exitCode, null);
    assert.equal(theirs.signalCode, null);
    process.kill(theirs.pid!, 0); // Still alive: throws otherwise.
    assert.deepEqual(result.reset, { ok: true, code: 0 });
    assert.equal(readFileSync(join(dir.path, 'reset.log'), 'utf8'), 'reset\n');
    assert.equal(result.before[0]!.memory_used, 9000 * MIB);
    assert.equal(result.after[0]!.memory_used, 12 * MIB);
    assert.equal(result.leak, false);
    assert.deepEqual(
      calls().map((line) => line.split(' ')[0]),
      ['--query-gpu=index,name,memory.used,memory.total', '--query-compute-apps=pid,used_memory', '--query-gpu=index,name,memory.used,memory.total'],
    );
  });

  test('memory still held above maxUsedMb is a leak; no reset command means reset null', async () => {
    writeFileSync(join(dir.path, 'gpus.csv'), '0, NVIDIA RTX A4000, 50, 16376\n1, NVIDIA RTX A4000, 4000, 16376\n');
    const result = await gpuCleanup({ ourPids: () => true, resetCommand: null, maxUsedMb: 100, cwd: dir.path });
    assert.deepEqual(result.killed, []);
    assert.equal(result.reset, null);
    assert.equal(result.leak, true);
  });

  test('a failing reset command is reported, not thrown', async () => {
    writeFileSync(join(dir.path, 'gpus.csv'), '0, NVIDIA RTX A4000, 0, 16376\n');
    const result = await gpuCleanup({ ourPids: () => false, resetCommand: 'exit 4', maxUsedMb: 100, cwd: dir.path });
    assert.deepEqual(result.reset, { ok: false, code: 4 });
    assert.equal(result.leak, false);
  });
});
