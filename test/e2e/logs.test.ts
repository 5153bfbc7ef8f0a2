/**
 * End to end: service output captured by a real supervisor (./run.ts) into rotating logs, read back with
 * ./restart-control.ts `logs` and `events`; status while a service floods; a log file that cannot be written.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { sendControlRequest } from '../../lib/control/client.ts';
import { parseSizeBytes } from '../../lib/config/duration.ts';
import { socketPath } from '../../lib/config/paths.ts';
import { waitFor } from '../helpers.ts';
import { CLI, FIXTURES, ROOT, RUN, Sandbox, alive, cleanEnv, configText, type ServiceSpec } from '../support.ts';

const SUITE = { timeout: 90_000 };
const NODE = JSON.stringify(process.execPath);
const NUMBERED = JSON.stringify(join(FIXTURES, 'numbered-lines.mjs'));
const LOCAL_STAMP = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] /;
const ISO_STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

interface RunningSupervisor {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Like Sandbox.startSupervisor, for configs with sections the Sandbox does not write (logs:). */
async function startSupervisor(box: Sandbox): Promise<RunningSupervisor> {
  const child = spawn(RUN, ['--config', box.configFile], { cwd: box.dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  let gone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => {
    gone = true;
    resolve({ code, signal });
  }));
  box.track(child.pid!);
  await waitFor(() => gone || box.isReady(), 20_000, 'supervisor ready', 25);
  if (gone) throw new Error(`the supervisor exited before it was ready:\n${output}`);
  return { pid: child.pid!, exited, output: () => output };
}

async function stopSupervisor(supervisor: RunningSupervisor): Promise<void> {
  process.kill(supervisor.pid, 'SIGTERM');
  const exit = await Promise.race([supervisor.exited, delay(15_000).then(() => null)]);
  assert.ok(exit, 'the supervisor exits within 15 s of SIGTERM');
  assert.equal(exit.code, 0, supervisor.output());
}

const boxes: Sandbox[] = [];
after(() => Promise.all(boxes.map((box) => box.cleanup())));

function newBox(services: ServiceSpec[], extra: Record<string, unknown> = {}): Sandbox {
  const box = new Sandbox(services);
  boxes.push(box);
  // Sandbox wrote a services-only config in its constructor; this replaces it before anything reads it.
  writeFileSync(box.configFile, configText(services) + (Object.keys(extra).length > 0 ? stringify(extra) : ''));
  return box;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The last `bytes` of a file (cheap, for polling a growing log). */
function tailOf(file: string, bytes = 256): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function linesOf(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Every number of `line NNNNNNNN xxxxx` lines must be first..last, each once, in order: returns the first problem. */
function checkNumbered(lines: string[], first: number, last: number): string | null {
  let expected = first;
  for (const [index, line] of lines.entries()) {
    const match = /^line (\d{8}) xxxxx$/.exec(line);
    if (!match) return `line ${index}: not a whole numbered line: ${JSON.stringify(line)}`;
    if (Number(match[1]) !== expected) return `line ${index}: expected number ${expected}, got ${Number(match[1])}`;
    expected++;
  }
  return expected === last + 1 ? null : `ended at ${expected - 1}, expected ${last}`;
}

describe('capture, the restart log, `logs` and `events`', SUITE, () => {
  let box: Sandbox;
  let supervisor: RunningSupervisor;
  const talk = 'echo out-1; echo err-1 >&2; echo out-2; sleep 0.3; echo err-2 >&2; exec sleep 1000';
  const ANCIENT = '[2020-01-01 00:00:00] an ancient line, from before the supervisor';

  before(async () => {
    box = newBox([
      { name: 'talker', command: talk },
      { name: 'stamped', command: talk, log_timestamps: true },
      { name: 'crashy', command: 'if [ -e ran ]; then exec sleep 1000; fi; touch ran; exit 1', restart: 'on-failure' },
    ]);
    mkdirSync(join(box.stateDir, 'logs'), { recursive: true });
    writeFileSync(join(box.stateDir, 'logs', 'restart.log'), `${ANCIENT}\n`);
    supervisor = await startSupervisor(box);
  });

  test('stdout and stderr land in <state>/logs/<service>.log, stderr lines tagged `[stderr] `', async () => {
    const file = join(box.stateDir, 'logs', 'talker.log');
    await waitFor(() => readText(file).includes('err-2'), 10_000, 'talker output');
    const lines = linesOf(readText(file));
    assert.deepEqual([...lines].sort(), ['[stderr] err-1', '[stderr] err-2', 'out-1', 'out-2'], `talker.log:\n${lines.join('\n')}`);
    assert.ok(lines.indexOf('out-1') < lines.indexOf('out-2') && lines.indexOf('out-2') < lines.indexOf('[stderr] err-2'), 'in order of arrival');
  });

  test('log_timestamps prefixes each line with an ISO time (before the stderr tag)', async () => {
    const file = join(box.stateDir, 'logs', 'stamped.log');
    await waitFor(() => readText(file).includes('err-2'), 10_000, 'stamped output');
    const lines = linesOf(readText(file));
    assert.equal(lines.length, 4, lines.join('\n'));
    for (const line of lines) {
      const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\[stderr\] err-\d|out-\d)$/.exec(line);
      assert.ok(match, `an ISO time, then the line: ${JSON.stringify(line)}`);
      assert.ok(Math.abs(Date.now() - Date.parse(match[1]!)) < 60_000, `a current time: ${match[1]}`);
    }
  });

  describe('with the supervisor stopped', () => {
    let restartLog: string[];
    before(async () => {
      await box.waitForEvent('crashy', 'started', 2, 10_000);
      await waitFor(() => readText(join(box.stateDir, 'logs', 'talker.log')).includes('err-2'), 10_000, 'talker output');
      await stopSupervisor(supervisor);
      restartLog = linesOf(readText(join(box.stateDir, 'logs', 'restart.log')));
    });

    test('`logs`: the restart log, human lines `[YYYY-MM-DD HH:MM:SS] ...`', async () => {
      const result = await box.cli(['logs', '-n', '1000']);
      assert.equal(result.code, 0, result.stderr);
      const lines = linesOf(result.stdout);
      assert.deepEqual(lines, restartLog);
      for (const line of lines) assert.match(line, LOCAL_STAMP);
      assert.equal(lines[0], ANCIENT);
      const text = lines.join('\n');
      assert.match(text, /\] Supervisor started \(pid \d+/);
      assert.match(text, /\] crashy exited unexpectedly \(exit code 1\)/);
      assert.match(text, /\] crashy restarting in 0\.1s \(attempt 1\)/);
      assert.match(text, /\] Supervisor stopped/);
    });

    test('`logs -n 5` prints the last 5 lines; default -n is 50', async () => {
      const five = await box.cli(['logs', '-n', '5']);
      assert.equal(five.code, 0, five.stderr);
      assert.deepEqual(linesOf(five.stdout), restartLog.slice(-5));
      const all = await box.cli(['logs']);
      assert.deepEqual(linesOf(all.stdout), restartLog.slice(-50));
    });

    test('`logs --since 1h` leaves out older lines', async () => {
      const result = await box.cli(['logs', '--since', '1h', '-n', '1000']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(linesOf(result.stdout), restartLog.slice(1), 'everything but the 2020 line');
    });

    test('`logs SERVICE -n 2`: the service output', async () => {
      const result = await box.cli(['logs', 'talker', '-n', '2']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(linesOf(result.stdout), linesOf(readText(join(box.stateDir, 'logs', 'talker.log'))).slice(-2));
    });

    test('`events --json --type crashed --service crashy`: raw JSON lines, filtered', async () => {
      const result = await box.cli(['events', '--json', '--type', 'crashed', '--service', 'crashy']);
      assert.equal(result.code, 0, result.stderr);
      const events = linesOf(result.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(events, box.eventsOf('crashy', 'crashed'));
      assert.equal(events.length, 1);
      assert.equal(events[0]!.exit_code, 1);
    });

    test('`events -n 3`: the last three events, as the restart log writes them; --json gives the raw lines', async () => {
      const raw = await box.cli(['events', '-n', '3', '--json']);
      assert.deepEqual(linesOf(raw.stdout), linesOf(readText(join(box.stateDir, 'events.jsonl'))).slice(-3));
      const human = await box.cli(['events', '-n', '3']);
      assert.equal(human.code, 0, human.stderr);
      const lines = linesOf(human.stdout);
      assert.ok(lines.length >= 3, human.stdout);
      for (const line of lines) assert.match(line, LOCAL_STAMP);
      assert.deepEqual(lines, restartLog.slice(-lines.length), 'the same text as the restart log');
      assert.match(lines.at(-1)!, /Supervisor stopped/);
    });

    test('no supervisor was running for any of this', async () => {
      assert.equal(await box.isReady(), false);
      assert.ok(!existsSync(join(box.stateDir, 'supervisor.pid')));
    });
  });
});

describe('rotation under a fast writer, and `logs -f` across rotations', SUITE, () => {
  const LINES = 200_000;
  const MAX_SIZE = '64KB';
  const maxBytes = parseSizeBytes(MAX_SIZE)!;
  /** Prints a ready marker, waits for its go file, writes `count` numbered lines as fast as it can, then a done marker. */
  const gated = (name: string, count: number) =>
    `echo ready-${name}; while [ ! -e go-${name} ]; do sleep 0.05; done; ${NODE} ${NUMBERED} ${count}; echo done-${name}; exec sleep 1000`;
  let box: Sandbox;
  let logsDir: string;

  before(async () => {
    box = newBox([
      { name: 'writer', command: `exec ${NODE} ${NUMBERED} ${LINES}`, restart: 'no' },
      { name: 'one', command: gated('one', 4_000) },
      { name: 'many', command: gated('many', 50_000) },
    ], { logs: { max_size: MAX_SIZE, keep: 1000, compress: true } });
    logsDir = join(box.stateDir, 'logs');
    await startSupervisor(box);
  });

  const rotatedOf = (service: string) => readdirSync(logsDir).filter((name) => name.startsWith(`${service}.log.`));

  test(`${LINES} lines as fast as possible, max_size ${MAX_SIZE}: every number once, in order, no torn line, no file too big`, async (t) => {
    const [exited] = await box.waitForEvent('writer', 'exited', 1, 30_000);
    assert.equal(exited!.exit_code, 0);
    const current = join(logsDir, 'writer.log');
    await waitFor(() => tailOf(current).endsWith(`line ${String(LINES).padStart(8, '0')} xxxxx\n`), 10_000, 'the last line on disk');
    const [started] = box.eventsOf('writer', 'started');
    const lastOnDiskMs = statSync(current).mtimeMs - Date.parse(started!.time);
    // Compression runs in the background: wait until every rotated file is gzipped and no temp file is left.
    await waitFor(() => readdirSync(logsDir).every((name) => !/^writer\.log\.\d+$/.test(name) && !name.endsWith('.tmp')), 20_000,
      `compression to finish (${readdirSync(logsDir).join(' ')})`);
    const rotated = rotatedOf('writer');
    const indexes = rotated.map((name) => {
      const match = /^writer\.log\.(\d+)\.gz$/.exec(name);
      assert.ok(match, `rotated names are writer.log.N.gz: ${name}`);
      return Number(match[1]);
    }).sort((a, b) => a - b);
    assert.deepEqual(indexes, Array.from({ length: indexes.length }, (_, i) => i + 1), 'numbered 1..N without gaps');
    assert.ok(indexes.length >= 20, `at least 20 rotations, got ${indexes.length}`);
    // Oldest first: .N … .1, then the current file. Newest = 1.
    const files = [...indexes].reverse().map((index) => ({ name: `writer.log.${index}.gz`, text: gunzipSync(readFileSync(join(logsDir, `writer.log.${index}.gz`))).toString('latin1') }));
    files.push({ name: 'writer.log', text: readFileSync(current, 'latin1') });
    let largest = 0;
    for (const { name, text } of files) {
      largest = Math.max(largest, text.length);
      assert.ok(text.length <= maxBytes + 20, `${name}: ${text.length} bytes, more than max_size (${maxBytes}) + one line`);
      assert.ok(text.endsWith('\n'), `${name} ends with a whole line`);
    }
    const problem = checkNumbered(files.flatMap(({ text }) => linesOf(text)), 1, LINES);
    assert.equal(problem, null, `across ${files.length} files: ${problem}`);
    t.diagnostic(`${LINES} lines (${(LINES * 20 / 1e6).toFixed(1)} MB), ${indexes.length} rotations: writer start → last line on disk ${Math.round(lastOnDiskMs)} ms; writer ran ${Date.parse(exited!.time) - Date.parse(started!.time)} ms; largest file ${largest} bytes (max_size ${maxBytes})`);
  });

  /** Runs `logs SERVICE -f -n 1` from before the service writes until its done marker shows; returns every line printed. */
  async function followWhileWriting(service: string): Promise<string[]> {
    const child = spawn(CLI, ['logs', service, '-f', '-n', '1', '--config', box.configFile], { cwd: box.dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => stdout.includes(`ready-${service}\n`), 15_000, `logs -f to print its backlog (stderr: ${stderr})`);
      writeFileSync(box.path(`go-${service}`), '');
      await waitFor(() => stdout.includes(`done-${service}\n`), 30_000, `logs -f to print the done marker (stderr: ${stderr})`);
      child.kill('SIGINT');
      const code = await Promise.race([exited, delay(5_000).then(() => 'still running')]);
      assert.equal(code, 0, `logs -f exits 0 on Ctrl-C (stderr: ${stderr})`);
      return linesOf(stdout);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  function assertFollowed(lines: string[], service: string, count: number): void {
    assert.equal(lines[0], `ready-${service}`, 'the backlog line');
    assert.equal(lines.at(-1), `done-${service}`);
    const problem = checkNumbered(lines.slice(1, -1), 1, count);
    assert.equal(problem, null, `logs -f output (${lines.length - 2} numbered lines, ${rotatedOf(service).length} rotated files): ${problem}`);
  }

  test('`logs SERVICE -f` started before a rotation sees every line written after it started (one rotation)', async () => {
    const lines = await followWhileWriting('one');
    assert.ok(rotatedOf('one').length >= 1, 'the log rotated while followed');
    assertFollowed(lines, 'one', 4_000);
  });

  test('`logs SERVICE -f` sees every line across many fast rotations (50,000 lines, gzip on)', async () => {
    const lines = await followWhileWriting('many');
    assert.ok(rotatedOf('many').length >= 10, `many rotations while followed: ${rotatedOf('many').join(' ')}`);
    assertFollowed(lines, 'many', 50_000);
  });
});

describe('status while a service floods its output', SUITE, () => {
  let box: Sandbox;
  after(() => box?.cleanup());

  test('status --json answers within 1 s (median of 5; target 100 ms); the supervisor answers pings within 100 ms (median)', async (t) => {
    box = newBox([{ name: 'flood', command: `exec yes 'flood line ${'x'.repeat(50)}'`, autostart: false }], { logs: { max_size: '1MB', keep: 2 } });
    await startSupervisor(box);
    const statusMs = async (): Promise<number> => {
      const result = await box.cli(['status', '--json']);
      assert.equal(result.code, 0, result.stderr);
      return result.ms;
    };
    const pingMs = async (): Promise<number> => {
      const started = performance.now();
      const answer = await sendControlRequest(socketPath(box.stateDir), { command: 'ping' });
      assert.equal(answer.ok, true);
      return performance.now() - started;
    };
    const quiet = { status: [] as number[], ping: [] as number[] };
    for (let i = 0; i < 3; i++) quiet.status.push(await statusMs());
    for (let i = 0; i < 10; i++) quiet.ping.push(await pingMs());

    const start = await box.cli(['start', 'flood']);
    assert.equal(start.code, 0, start.stderr);
    const logsDir = join(box.stateDir, 'logs');
    await waitFor(() => readdirSync(logsDir).some((name) => name.startsWith('flood.log.')), 10_000, 'the flood to rotate its log');
    const { pid: floodPid } = await box.waitForState('flood', 'running');
    const writtenBefore = bytesWritten(floodPid!);
    const flooding = { status: [] as number[], ping: [] as number[] };
    for (let i = 0; i < 5; i++) {
      flooding.status.push(await statusMs());
      for (let j = 0; j < 4; j++) flooding.ping.push(await pingMs());
    }
    const report = await box.cli(['status', '--json']);
    const flood = (JSON.parse(report.stdout) as { services: Array<{ name: string; state: string; pid: number | null }> }).services.find((s) => s.name === 'flood');
    assert.equal(flood?.state, 'running');
    assert.ok(flood.pid !== null && alive(flood.pid), 'the flooding service runs');
    assert.equal(flood.pid, floodPid);
    const written = bytesWritten(floodPid!) - writtenBefore;
    assert.ok(written > 1_000_000, `still flooding while measured: ${written} bytes written`);
    t.diagnostic(`the flood wrote ${(written / 1e6).toFixed(0)} MB while status and ping were measured`);
    const fmt = (values: number[]) => `median ${Math.round(median(values))} ms, max ${Math.round(Math.max(...values))} ms`;
    t.diagnostic(`status --json (whole CLI run): quiet ${fmt(quiet.status)}; flooding ${fmt(flooding.status)}`);
    t.diagnostic(`control socket ping round trip: quiet ${fmt(quiet.ping)}; flooding ${fmt(flooding.ping)}`);
    const stale = staleBundle() ? ' (dist/ is older than lib/: the CLI ran through tsx, ~0.5 s slower; run `npm run build`)' : '';
    // The machine is shared and noisy: the median of five CLI runs. 1 s when a quiet run takes its usual ~250 ms; when
    // the machine is slower than that today (others' tests, a stale bundle), the budget grows by as much.
    const budget = Math.max(1000, median(quiet.status) + 750);
    assert.ok(median(flooding.status) < budget, `status --json took ${fmt(flooding.status)} while a service floods (quiet: ${fmt(quiet.status)}; budget ${budget} ms)${stale}`);
    assert.ok(Math.max(...flooding.status) < 2 * budget, `status --json took ${fmt(flooding.status)} while a service floods${stale}`);
    // The supervisor's own event loop: the 100 ms target applies here.
    assert.ok(median(flooding.ping) < 100, `the supervisor answered pings in ${fmt(flooding.ping)} while a service floods`);
    assert.ok(Math.max(...flooding.ping) < 1000, `the supervisor answered pings in ${fmt(flooding.ping)} while a service floods`);
  });
});

/** The entry points run dist/*.cjs only when no file of lib/ is newer (see line 2 of ./restart-control.ts). */
function staleBundle(): boolean {
  const bundle = join(ROOT, 'dist', 'restart-control.cjs');
  if (!existsSync(bundle)) return true;
  const built = statSync(bundle).mtimeMs;
  const sources = readdirSync(join(ROOT, 'lib'), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));
  return [CLI, ...sources.map((name) => join(ROOT, 'lib', name))].some((file) => statSync(file).mtimeMs > built);
}

/** Bytes a process has written so far (/proc/PID/io wchar): grows only while the supervisor reads its pipe. */
function bytesWritten(pid: number): number {
  return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

describe('a log file that cannot be written, through the real supervisor', SUITE, () => {
  test('symlink to /dev/full, then a directory: the service keeps running, one log_error each time, log_recovered when fixed', async () => {
    const box = newBox([{ name: 'ticker', command: 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done' }]);
    await startSupervisor(box);
    const logsDir = join(box.stateDir, 'logs');
    const file = join(logsDir, 'ticker.log');
    await waitFor(() => readText(file).includes('tick 5\n'), 10_000, 'ticks in the log');
    const { pid } = await box.waitForState('ticker', 'running');
    const logErrors = () => box.events().filter((event) => event.event === 'log_error');
    const saved: string[] = [];

    for (const [round, breakIt] of [
      ['/dev/full', () => symlinkSync('/dev/full', file)],
      ['a directory', () => mkdirSync(file)],
    ] as const) {
      const episode = saved.length + 1;
      // Moved, not deleted: lines already written through the old fd stay readable.
      const keep = join(logsDir, `saved-${episode}.txt`);
      renameSync(file, keep);
      saved.push(keep);
      breakIt();
      await waitFor(() => logErrors().length >= episode, 10_000, `a log_error (${round})`);
      await delay(2_500); // two more retries at 1 s: none may record another log_error
      assert.equal(logErrors().length, episode, `exactly one log_error per failure episode (${round}): ${JSON.stringify(logErrors())}`);
      const error = logErrors().at(-1)!;
      assert.equal(error.service, 'ticker');
      assert.equal(error.file, file);
      assert.equal(box.service('ticker')?.state, 'running', 'the service keeps running');
      assert.equal(box.service('ticker')?.pid, pid);
      assert.ok(alive(pid!), 'same process, alive');
      rmSync(file, { recursive: true, force: true });
      const [recovered] = await waitFor(() => {
        const list = box.events().filter((event) => event.event === 'log_recovered' && event.service === 'ticker');
        return list.length >= episode ? list.slice(episode - 1) : null;
      }, 10_000, `log_recovered (${round})`);
      assert.equal(recovered!.dropped_lines, 0, 'a few KB were buffered, nothing dropped');
      const lastSaved = Number(/tick (\d+)\n$/.exec(readText(keep))?.[1] ?? 0);
      await waitFor(() => readText(file).includes(`tick ${lastSaved + 40}\n`), 10_000, `writing resumed in a fresh ${file}`);
    }
    // What the service printed while the file was broken was held and written after: every tick once, in order.
    const ticks = [...saved, file].flatMap((path) => linesOf(readText(path)));
    const numbers = ticks.map((line) => Number(/^tick (\d+)$/.exec(line)?.[1] ?? NaN));
    assert.deepEqual(numbers, Array.from({ length: numbers.length }, (_, i) => i + 1), 'ticks 1..N, none lost or doubled');
    assert.equal(box.eventsOf('ticker', 'started').length, 1, 'never restarted');
  });
});
