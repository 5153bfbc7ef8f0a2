import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statfsSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { diskUsedPercent, formatSystemLine, systemSnapshot, type SystemSnapshot } from '../../lib/process/system.ts';
import { makeTempDir } from '../helpers.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));
const GB = 1024 ** 3;
const MIB = 1024 * 1024;
const savedPath = process.env.PATH;
const savedFakeDir = process.env.FAKE_NVIDIA_DIR;
let dir: ReturnType<typeof makeTempDir>;

before(() => {
  dir = makeTempDir('rc-system-');
  process.env.PATH = `${FIXTURES}${delimiter}${savedPath}`;
  process.env.FAKE_NVIDIA_DIR = dir.path;
  writeFileSync(join(dir.path, 'gpus.csv'), '0, NVIDIA RTX A4000, 1229, 16376\n');
});

after(() => {
  process.env.PATH = savedPath;
  if (savedFakeDir === undefined) delete process.env.FAKE_NVIDIA_DIR;
  else process.env.FAKE_NVIDIA_DIR = savedFakeDir;
  dir.remove();
});

describe('systemSnapshot', () => {
  test('reads real memory and disk, and GPUs through nvidia-smi', async () => {
    const snapshot = await systemSnapshot(dir.path);
    assert.ok(snapshot.memory.total > 0);
    assert.ok(snapshot.memory.used > 0 && snapshot.memory.used <= snapshot.memory.total);
    const stats = statfsSync(dir.path);
    assert.equal(snapshot.disk.path, dir.path);
    assert.equal(snapshot.disk.total, stats.blocks * stats.bsize);
    assert.ok(snapshot.disk.used > 0 && snapshot.disk.used <= snapshot.disk.total);
    assert.deepEqual(snapshot.gpus, [{ name: 'NVIDIA RTX A4000', memory_used: 1229 * MIB, memory_total: 16376 * MIB }]);
  });

  test('nvidiaSmi: false skips the GPU query', async () => {
    const snapshot = await systemSnapshot(dir.path, { nvidiaSmi: false });
    assert.deepEqual(snapshot.gpus, []);
  });

  test('a missing disk path gives zeros, not a throw', async () => {
    const snapshot = await systemSnapshot(join(dir.path, 'missing'), { nvidiaSmi: false });
    assert.deepEqual(snapshot.disk, { path: join(dir.path, 'missing'), used: 0, total: 0, available: 0 });
    assert.ok(snapshot.memory.total > 0);
  });
});

describe('formatSystemLine', () => {
  test('memory, storage with percentage, each GPU', () => {
    const snapshot: SystemSnapshot = {
      memory: { used: 8.2 * GB, total: 16 * GB },
      disk: { path: '/', used: 45 * GB, total: 100 * GB, available: 50 * GB },
      gpus: [
        { name: 'NVIDIA A4000', memory_used: 1.2 * GB, memory_total: 16 * GB },
        { name: 'Tesla T4', memory_used: 0, memory_total: 15 * GB },
      ],
    };
    assert.equal(formatSystemLine(snapshot), 'memory 8.2GB/16GB, storage 45GB/100GB (48% used), gpu0 NVIDIA A4000 1.2GB/16GB, gpu1 Tesla T4 0B/15GB');
  });

  test('unreadable parts say unknown; no GPUs, no GPU part', () => {
    const snapshot: SystemSnapshot = { memory: { used: 0, total: 0 }, disk: { path: '/x', used: 0, total: 0, available: 0 }, gpus: [] };
    assert.equal(formatSystemLine(snapshot), 'memory unknown, storage unknown');
  });
});

describe('the disk figure agrees with df', () => {
  test('Use% of `df -P` for the same folder, and reserved blocks count as neither used nor available', async (t) => {
    const df = spawnSync('df', ['-P', dir.path], { encoding: 'utf8' });
    if (df.error || df.status !== 0) return t.skip(`df is not usable here: ${df.error?.message ?? df.stderr}`);
    // Filesystem 1024-blocks Used Available Capacity Mounted-on
    const [, , used, available, capacity] = df.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/);
    const snapshot = await systemSnapshot(dir.path, { nvidiaSmi: false });
    // Other tests write meanwhile: a block or two may differ, the percentage may not by more than 1
    assert.ok(Math.abs(diskUsedPercent(snapshot.disk) - Number.parseInt(capacity!, 10)) <= 1, `ours ${diskUsedPercent(snapshot.disk)}%, df ${capacity}`);
    assert.ok(Math.abs(snapshot.disk.available / 1024 - Number(available)) / Number(available) < 0.01, 'Available as df says');
    assert.ok(Math.abs(snapshot.disk.used / 1024 - Number(used)) / Math.max(1, Number(used)) < 0.01, 'Used as df says');
    assert.match(formatSystemLine(snapshot), new RegExp(`storage \\S+/\\S+ \\(${diskUsedPercent(snapshot.disk)}% used\\)`));
  });

  test('diskUsedPercent: used / (used + available), rounded up like df; used / total without available', () => {
    assert.equal(diskUsedPercent({ used: 24, total: 264, available: 82 }), 23); // 22.6 -> 23
    assert.equal(diskUsedPercent({ used: 50, total: 100, available: 50 }), 50);
    assert.equal(diskUsedPercent({ used: 45, total: 100 }), 45);
    assert.equal(diskUsedPercent({ used: 0, total: 0, available: 0 }), 0);
  });
});
