import assert from 'node:assert/strict';
import { statfsSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { formatSystemLine, systemSnapshot, type SystemSnapshot } from '../../lib/process/system.ts';
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
    assert.deepEqual(snapshot.disk, { path: join(dir.path, 'missing'), used: 0, total: 0 });
    assert.ok(snapshot.memory.total > 0);
  });
});

describe('formatSystemLine', () => {
  test('memory, storage with percentage, each GPU', () => {
    const snapshot: SystemSnapshot = {
      memory: { used: 8.2 * GB, total: 16 * GB },
      disk: { path: '/', used: 45 * GB, total: 100 * GB },
      gpus: [
        { name: 'NVIDIA A4000', memory_used: 1.2 * GB, memory_total: 16 * GB },
        { name: 'Tesla T4', memory_used: 0, memory_total: 15 * GB },
      ],
    };
    assert.equal(formatSystemLine(snapshot), 'memory 8.2GB/16GB, storage 45GB/100GB (45% used), gpu0 NVIDIA A4000 1.2GB/16GB, gpu1 Tesla T4 0B/15GB');
  });

  test('unreadable parts say unknown; no GPUs, no GPU part', () => {
    const snapshot: SystemSnapshot = { memory: { used: 0, total: 0 }, disk: { path: '/x', used: 0, total: 0 }, gpus: [] };
    assert.equal(formatSystemLine(snapshot), 'memory unknown, storage unknown');
  });
});
