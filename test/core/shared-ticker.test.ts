import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { everyInterval, sharedTimerCount } from '../../lib/core/shared-ticker.ts';
import { RotatingLog } from '../../lib/logs/rotating-log.ts';
import { makeTempDir, waitFor } from '../helpers.ts';

describe('shared ticker', () => {
  test('500 subscribers of one interval share one timer, each ticked; the timer stops with the last', async () => {
    const before = sharedTimerCount();
    const ticks = new Array<number>(500).fill(0);
    const stops = ticks.map((_, i) => everyInterval(15, () => { ticks[i]!++; }));
    assert.equal(sharedTimerCount(), before + 1);
    await waitFor(() => ticks.every((count) => count >= 2), 5000, 'every subscriber ticked twice');
    for (const stop of stops) stop();
    assert.equal(sharedTimerCount(), before);
  });

  test('200 open log files use one timer between them', async () => {
    const temp = makeTempDir('rc-ticker-');
    const before = sharedTimerCount();
    const logs = Array.from({ length: 200 }, (_, i) => new RotatingLog({ file: `${temp.path}/s${i}.log`, maxSizeBytes: 0, keep: 1, compress: false }));
    assert.equal(sharedTimerCount(), before + 1);
    await Promise.all(logs.map((log) => log.close()));
    assert.equal(sharedTimerCount(), before);
    temp.remove();
  });
});
