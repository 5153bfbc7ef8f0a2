import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { SupervisorLog } from '../../lib/logs/supervisor-log.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

const temp = makeTempDir('rc-suplog-');
after(() => temp.remove());

function lines(path: string): string[] {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8').split('\n').filter(Boolean);
}

describe('SupervisorLog', () => {
  test('rotates before max_size, keeps `keep` files, gzips rotated ones; the newest lines are all there, in order', async () => {
    const dir = temp.fresh();
    const file = join(dir, 'supervisor.log');
    const log = new SupervisorLog(file, { maxSizeBytes: 400, keep: 3, compress: true });
    for (let i = 1; i <= 200; i++) log.write(`line ${String(i).padStart(3, '0')} of the supervisor\n`);
    await waitFor(() => readdirSync(dir).filter((name) => name.endsWith('.gz')).length >= 2, 5000, 'compressed rotations');
    log.close();
    const names = readdirSync(dir).filter((name) => !name.endsWith('.tmp'));
    assert.ok(names.every((name) => /^supervisor\.log(\.[123](\.gz)?)?$/.test(name)), names.join(' '));
    for (const name of names) if (!name.endsWith('.gz')) assert.ok(statSync(join(dir, name)).size <= 400, name);
    const ordered = [3, 2, 1].flatMap((index) => {
      const plain = join(dir, `supervisor.log.${index}`);
      if (existsSync(plain)) return lines(plain);
      return existsSync(`${plain}.gz`) ? lines(`${plain}.gz`) : [];
    }).concat(lines(file));
    const numbers = ordered.map((line) => Number(line.split(' ')[1]));
    assert.equal(numbers.at(-1), 200);
    assert.deepEqual(numbers, numbers.map((_, index) => numbers[0]! + index), 'contiguous, nothing lost between the kept files');
  });

  test('a symlink at its path is never written through; a reconfigure with a lower keep deletes the extra files', () => {
    const dir = temp.fresh();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me\n');
    const file = join(dir, 'supervisor.log');
    symlinkSync(victim, file);
    const log = new SupervisorLog(file, { maxSizeBytes: 0, keep: 5, compress: false });
    log.write('must not land in the victim\n');
    assert.equal(readFileSync(victim, 'utf8'), 'keep me\n');
    log.close();

    const other = join(temp.fresh(), 'supervisor.log');
    for (const index of [1, 2, 3, 4]) writeFileSync(`${other}.${index}`, 'old\n');
    const second = new SupervisorLog(other, { maxSizeBytes: 0, keep: 5, compress: false });
    second.reconfigure({ maxSizeBytes: 0, keep: 2, compress: false });
    assert.deepEqual([1, 2, 3, 4].map((index) => existsSync(`${other}.${index}`)), [true, true, false, false]);
    second.close();
  });
});
