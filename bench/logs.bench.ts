/**
 * 200,000 numbered lines (4 MB) from a real child, as fast as it writes, through captureOutput into a RotatingLog with
 * max_size 1MB and keep 5 (compress off: gzip runs in the background and is not what is timed).
 *
 * The timed writer is `cat` of the lines test/fixtures/numbered-lines.sh produced before the clock started: seq's own
 * number formatting takes ~70 ms here and a node writer ~50 ms of startup, which would time the writer, not the capture.
 *
 * With keep 5 the oldest lines are deleted by design, so correctness is judged on what is retained: the retained
 * numbers must form one contiguous run ending at the last line, with no duplicate and no torn line. `lost` counts the
 * holes in that run plus any missing tail; the tests (test/capture.test.ts) check the full run with a keep large
 * enough to retain everything.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { captureOutput } from '../lib/logs/capture.ts';
import { logFiles } from '../lib/logs/reader.ts';
import { RotatingLog } from '../lib/logs/rotating-log.ts';

const GENERATOR = fileURLToPath(new URL('../test/fixtures/numbered-lines.sh', import.meta.url));
const LINE = /^line (\d{8}) xxxxx$/;

export interface LogsBenchResult {
  lines: number;
  /** Writer start → last line written to the file. */
  ms: number;
  lost: number;
  duplicated: number;
  torn: number;
  /** Bytes of the largest retained file. */
  largestFile: number;
  maxSize: number;
  /** CPU time (user + system) of this process, the capturing side, over `ms`. */
  cpuMs: number;
}

export async function benchLogs(options: { lines?: number; maxSizeBytes?: number; keep?: number } = {}): Promise<LogsBenchResult> {
  const lines = options.lines ?? 200_000;
  const maxSize = options.maxSizeBytes ?? 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'rc-bench-logs-'));
  try {
    const file = join(dir, 'bench.log');
    const prepared = join(dir, 'lines.txt');
    writeFileSync(prepared, execFileSync(GENERATOR, [String(lines)], { maxBuffer: lines * 64 }));
    const log = new RotatingLog({ file, maxSizeBytes: maxSize, keep: options.keep ?? 5, compress: false });
    await log.flush(); // the file is open before the clock starts, as it is for a running supervisor
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const child = spawn('cat', [prepared], { stdio: ['ignore', 'pipe', 'pipe'] });
    const { done } = captureOutput({ stdout: child.stdout, stderr: child.stderr, log, timestamps: false });
    await done;
    await log.flush();
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    await log.close();
    return { lines, ms, ...checkRetained(file, lines), maxSize, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkRetained(file: string, total: number): Pick<LogsBenchResult, 'lost' | 'duplicated' | 'torn' | 'largestFile'> {
  const seen = new Set<number>();
  let duplicated = 0;
  let torn = 0;
  let largestFile = 0;
  let first = Infinity;
  let last = 0;
  for (const path of logFiles(file)) {
    largestFile = Math.max(largestFile, statSync(path).size);
    const text = readFileSync(path, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) torn++;
    for (const line of text.split('\n').slice(0, -1)) {
      const match = LINE.exec(line);
      if (!match) { torn++; continue; }
      const number = Number(match[1]);
      if (seen.has(number)) duplicated++;
      seen.add(number);
      first = Math.min(first, number);
      last = Math.max(last, number);
    }
  }
  const holes = seen.size === 0 ? 0 : last - first + 1 - seen.size;
  return { lost: holes + (total - last), duplicated, torn, largestFile };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchLogs()));
}
