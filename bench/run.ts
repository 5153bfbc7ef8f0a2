/** `npm run bench`: prints the benchmark table and writes it to bench/RESULTS.md. Never part of `npm test`. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processRssBytes } from '../lib/process/proc.ts';
import type { LogsBenchResult } from './logs.bench.ts';
import { benchTree } from './tree.bench.ts';
import { benchWeb } from './web.bench.ts';
import { benchMetricsScrape } from './metrics.bench.ts';
import { benchCrashLoop, benchScale, benchWalk, hasSupervisord, type ScaleFigures } from './scale.bench.ts';
import { benchHangToNewPid, benchHealthOverhead } from './health.bench.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const RUN = join(ROOT, 'run.ts');
const CLI = join(ROOT, 'restart-control.ts');

interface Row { what: string; result: string; target: string; reference: string }

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function waitFor<T>(check: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function readEvents(dir: string): { event: string; service?: string; pid?: number; time: string }[] {
  try {
    return readFileSync(join(dir, '.restart-control', 'events.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

async function withSupervisor<T>(yaml: string, work: (dir: string, supervisorPid: number) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-bench-'));
  writeFileSync(join(dir, 'rc.yaml'), yaml);
  const supervisor = spawn(RUN, ['--config', join(dir, 'rc.yaml')], { stdio: 'ignore' });
  try {
    await waitFor(() => readEvents(dir).some((e) => e.event === 'supervisor_started') && spawnSync(CLI, ['--config', join(dir, 'rc.yaml'), 'status']).status === 0, 30_000, 'supervisor');
    return await work(dir, supervisor.pid!);
  } finally {
    spawnSync(CLI, ['--config', join(dir, 'rc.yaml'), 'shutdown'], { stdio: 'ignore' });
    supervisor.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SIGKILL the service, then read the supervisor's `started` event time for the new pid. */
async function benchCrashToNewPid(crashes = 100): Promise<number[]> {
  // Each run lasts ~30 ms: min_uptime 10ms keeps it a "long" run, so this measures the immediate restart, not the
  // 100 ms crash-loop floor that runs shorter than min_uptime get (see README, "Crash loops").
  const yaml = 'services:\n  - name: victim\n    command: [sleep, "1000"]\n    restart: always\n    restart_sec: 0\n    min_uptime: 10ms\n';
  return withSupervisor(yaml, async (dir) => {
    const samples: number[] = [];
    for (let i = 0; i < crashes; i++) {
      const started = () => readEvents(dir).filter((e) => e.event === 'started' && e.service === 'victim');
      const before = await waitFor(() => started().at(-1), 5000, 'victim started');
      const count = started().length;
      await new Promise((resolve) => setTimeout(resolve, 30));
      const killedAt = Date.now();
      process.kill(before.pid!, 'SIGKILL');
      const next = await waitFor(() => (started().length > count ? started().at(-1) : undefined), 5000, 'new pid');
      samples.push(Date.parse(next.time) - killedAt);
    }
    return samples;
  });
}

/** Runs of a command, timed by bench/time-command.mjs (a small process of its own). */
function timeCommand(runs: number, file: string, args: string[], env: NodeJS.ProcessEnv = process.env): number[] {
  const result = spawnSync(process.execPath, [join(ROOT, 'bench', 'time-command.mjs'), String(runs), file, ...args], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`timing ${file} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as number[];
}

async function benchStatus(runs = 20): Promise<number[]> {
  const yaml = 'services:\n  - name: a\n    command: [sleep, "1000"]\n  - name: b\n    command: [sleep, "1000"]\n';
  return withSupervisor(yaml, async (dir) => timeCommand(runs, CLI, ['--config', join(dir, 'rc.yaml'), 'status', '--json']));
}

/** `node -e 0` as this machine runs it, and without NODE_EXTRA_CA_CERTS (which the CLI skips: see restart-control.ts). */
function benchNodeBaseline(runs = 10): { asIs: number[]; withoutExtraCa: number[] } {
  const { NODE_EXTRA_CA_CERTS: _extraCa, ...withoutExtraCa } = process.env;
  return { asIs: timeCommand(runs, process.execPath, ['-e', '0']), withoutExtraCa: timeCommand(runs, process.execPath, ['-e', '0'], withoutExtraCa) };
}

async function benchRss50(): Promise<number> {
  const services = Array.from({ length: 50 }, (_, i) => `  - name: s${i}\n    command: [sleep, "1000"]\n`).join('');
  return withSupervisor(`services:\n${services}`, async (dir, pid) => {
    await waitFor(() => readEvents(dir).filter((e) => e.event === 'started').length >= 50, 30_000, '50 services');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return (processRssBytes(pid) ?? 0) / 1024 / 1024;
  });
}

/** Log capture measured in a process with the supervisor's own V8 flags (line 2 of run.ts): no TurboFan. */
function benchLogsAsTheSupervisor(): LogsBenchResult {
  const flags = ['--max-semi-space-size=1', '--no-turbofan', '--import', 'tsx'];
  const result = spawnSync(process.execPath, [...flags, join(ROOT, 'bench', 'logs.bench.ts')], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`logs bench exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as LogsBenchResult;
}

const SCALE_SERVICES = 500;

function ratio(ours: number | null, theirs: number | null | undefined): string {
  return ours === null || theirs === null || theirs === undefined || theirs === 0 ? '' : ` (${(ours / theirs).toFixed(2)}× supervisord)`;
}

/** 500 services side by side with supervisord (when installed): idle, crash storm, status, shutdown. */
async function scaleRows(rows: Row[]): Promise<void> {
  let ours: ScaleFigures;
  try {
    ours = await benchScale('rc', SCALE_SERVICES);
  } catch (error) {
    rows.push({ what: `${SCALE_SERVICES} services`, result: `not run: ${(error as Error).message}`, target: '', reference: '' });
    return;
  }
  const theirs = hasSupervisord() ? await benchScale('supervisord', SCALE_SERVICES).catch(() => null) : null;
  const ref = (text: string) => (theirs ? `supervisord ${text}` : 'supervisord not installed');
  const n = SCALE_SERVICES;
  rows.push({ what: `${n} services, idle: supervisor CPU over 10 s`, result: `${ours.idleCpuPercent.toFixed(2)} % of one core${ratio(ours.idleCpuPercent, theirs?.idleCpuPercent)}`, target: '≤ supervisord (≈ 0.5 %)', reference: ref(`${theirs?.idleCpuPercent.toFixed(2)} %`) });
  rows.push({ what: `${n} services, idle: supervisor RSS`, result: `${ours.rssMiB.toFixed(1)} MiB${ratio(ours.rssMiB, theirs?.rssMiB)}`, target: '≤ 50 MiB', reference: ref(`${theirs?.rssMiB.toFixed(1)} MiB`) });
  rows.push({ what: `all ${n} SIGKILLed at once: every service on a new running pid (supervisor CPU meanwhile)`, result: `${(ours.stormMs / 1000).toFixed(2)} s (${(ours.stormCpuMs / 1000).toFixed(1)} s CPU)${ratio(ours.stormMs, theirs?.stormMs)}`, target: '≤ 2 s', reference: ref(`${((theirs?.stormMs ?? 0) / 1000).toFixed(2)} s (${((theirs?.stormCpuMs ?? 0) / 1000).toFixed(1)} s CPU)`) });
  rows.push({ what: '`ping` through the socket during that storm: median / max (failed)', result: `${ours.pingMedianMs?.toFixed(0) ?? '-'} / ${ours.pingMaxMs?.toFixed(0) ?? '-'} ms (${ours.pingFailures})`, target: '≤ 50 ms', reference: '' });
  rows.push({ what: `\`status --json\` with ${n} services, median of 5`, result: `${ours.statusMs?.toFixed(0)} ms`, target: '≤ 100 ms', reference: '' });
  rows.push({ what: `shutdown (SIGTERM to the supervisor), ${n} services that exit at SIGTERM`, result: `${(ours.shutdownMs / 1000).toFixed(2)} s${ratio(ours.shutdownMs, theirs?.shutdownMs)}`, target: '≤ 1 s', reference: ref(`${((theirs?.shutdownMs ?? 0) / 1000).toFixed(2)} s`) });
  rows.push({ what: `shutdown, ${n} services, 5 ignoring SIGTERM (stop_timeout ${ours.stopTimeoutS} s)`, result: `${(ours.shutdownIgnoringMs / 1000).toFixed(2)} s${ratio(ours.shutdownIgnoringMs, theirs?.shutdownIgnoringMs)}`, target: `≤ ${ours.stopTimeoutS + 0.3} s`, reference: ref(`${((theirs?.shutdownIgnoringMs ?? 0) / 1000).toFixed(2)} s (stopwaitsecs ${ours.stopTimeoutS})`) });
  const loop = await benchCrashLoop();
  rows.push({ what: `a service that exits at once, \`restart_sec: 0\`, no limit: restarts / supervisor CPU over ${loop.seconds} s`, result: `${loop.restarts} / ${loop.cpuPercent.toFixed(1)} % of one core`, target: '≤ 10 a second (100 ms floor)', reference: 'main: 2,300 restarts, 76 % of a core' });
  const walk = await benchWalk(2000);
  rows.push({ what: `one /proc walk at ${walk.processes} processes: whole, in one go / each slice of the shared walk (median)`, result: `${walk.wholeMs.toFixed(1)} ms / ${walk.sliceMs.toFixed(1)} ms`, target: 'a few ms per slice', reference: '' });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const crash = await benchCrashToNewPid();
  rows.push({ what: `crash-to-new-pid, median of ${crash.length} crashes (min ${Math.min(...crash)} / max ${Math.max(...crash)} ms)`, result: `${median(crash)} ms`, target: '≤ 10 ms', reference: 'PM2 ~5 ms, supervisord ~1000 ms' });
  const status = await benchStatus();
  const baseline = benchNodeBaseline();
  rows.push({ what: `\`status --json\` wall time incl. process start, median of ${status.length}`, result: `${median(status).toFixed(0)} ms`, target: '≤ 100 ms', reference: `pm2 jlist ~150 ms, supervisorctl ~135 ms; \`node -e 0\` here: ${median(baseline.asIs).toFixed(0)} ms, ${median(baseline.withoutExtraCa).toFixed(0)} ms without NODE_EXTRA_CA_CERTS` });
  const rss = await benchRss50();
  rows.push({ what: 'supervisor RSS with 50 services', result: `${rss.toFixed(1)} MiB`, target: '≤ 58 MiB', reference: "PM2's daemon" });
  const tree = await benchTree();
  rows.push({ what: '15-process tree, 5 ignoring SIGTERM: survivors / stop time', result: `${tree.survivors} / ${tree.stopMs.toFixed(0)} ms (stop_timeout ${tree.timeoutMs} ms)`, target: `0 / ≤ ${tree.timeoutMs + 100} ms`, reference: 'PM2 1.9 s; supervisord leaves 10–15 orphans' });
  const metrics = await benchMetricsScrape();
  rows.push({ what: `GET /metrics with ${metrics.services} services over HTTP, median of ${metrics.scrapes} (p95 ${metrics.p95Ms} / max ${metrics.maxMs} ms, ${Math.round(metrics.bytes / 1024)} KiB)`, result: `${metrics.medianMs} ms`, target: '< 50 ms', reference: '' });
  rows.push({ what: `supervisor RSS with ${metrics.services} services and metrics on: idle / after the scrapes back to back`, result: `${metrics.idleRssMiB} / ${metrics.rssMiB} MiB`, target: '—', reference: 'compare with the 50-service row above' });
  const hang = await benchHangToNewPid();
  rows.push({ what: `hang (SIGSTOP) → new pid running; health interval 1s, failures 3, timeout 500ms, stop_timeout 1s; median of ${hang.length} (min ${Math.min(...hang)} / max ${Math.max(...hang)} ms)`, result: `${median(hang)} ms`, target: '≈ 3 × interval + stop_timeout = 4000 ms', reference: '' });
  const health = await benchHealthOverhead();
  rows.push({ what: `supervisor CPU over ${health.with.seconds} s: 50 services, each with an HTTP probe every 1 s, resources sampled every 1 s (without them: ${health.without.cpuPercent.toFixed(1)} %)`, result: `${health.with.cpuPercent.toFixed(1)} % of one core (+${(health.with.cpuPercent - health.without.cpuPercent).toFixed(1)})`, target: '< +3 % of one core', reference: '' });
  rows.push({ what: 'supervisor RSS, the same 50 services with / without probes and sampling', result: `${health.with.rssMiB.toFixed(1)} / ${health.without.rssMiB.toFixed(1)} MiB (+${(health.with.rssMiB - health.without.rssMiB).toFixed(1)})`, target: '< +10 MB', reference: '' });
  try {
    const logs = benchLogsAsTheSupervisor();
    rows.push({ what: `${logs.lines} lines written as fast as possible, max_size 1MB, keep 5: writer start → last line on disk`, result: `${logs.ms.toFixed(0)} ms`, target: '≤ ~75 ms', reference: 'PM2 and supervisord ~70–80 ms' });
    rows.push({ what: 'lines lost / duplicated / torn', result: `${logs.lost} / ${logs.duplicated} / ${logs.torn}`, target: '0 / 0 / 0', reference: 'supervisord tears 1–4 lines per run' });
    rows.push({ what: 'largest log file', result: `${logs.largestFile} bytes`, target: `≤ ${logs.maxSize} + one line`, reference: "PM2's logrotate: 4 MiB at a 1 MiB limit" });
    rows.push({ what: 'capture CPU time for it', result: `${logs.cpuMs.toFixed(0)} ms`, target: '—', reference: '' });
  } catch (error) {
    rows.push({ what: 'log capture', result: `not run: ${(error as Error).message}`, target: '', reference: '' });
  }
  const web = await benchWeb();
  rows.push({ what: `supervisor RSS, 5 services: web off / web on with ${web.clients} pages open (event + log streams each)`, result: `${web.off.rssMiB.toFixed(1)} / ${web.on.rssMiB.toFixed(1)} MiB`, target: '≤ +10 MiB', reference: '' });
  rows.push({ what: `supervisor idle CPU over ${web.windowS} s: web off / web on with ${web.clients} pages open`, result: `${web.off.idleCpuPercent.toFixed(2)} / ${web.on.idleCpuPercent.toFixed(2)} %`, target: '≤ +1 % of a core', reference: '' });
  await scaleRows(rows);
  const table = [
    `Measured ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${loadavg().map((load) => load.toFixed(1)).join(' ')} at the end (other work on the machine skews every figure).`,
    '',
    '| benchmark | result | target | reference |',
    '|---|---|---|---|',
    ...rows.map((row) => `| ${row.what} | ${row.result} | ${row.target} | ${row.reference} |`),
    '',
  ].join('\n');
  process.stdout.write(table);
  const results = join(ROOT, 'bench', 'RESULTS.md');
  // The soak section stays unless the soak runs again
  const previous = readFileSync(results, 'utf8');
  const soakAt = previous.indexOf('\n## Soak\n');
  writeFileSync(results, `# Benchmark results (\`npm run bench\`)\n\n${table}${soakAt < 0 ? '' : previous.slice(soakAt)}`);
  // SOAK_MINUTES=0 leaves it out (it takes 10 minutes by default)
  const soakMinutes = Number(process.env.SOAK_MINUTES ?? 10);
  if (soakMinutes > 0) {
    const { benchSoak, soakTable, writeSoakSection } = await import('./soak.bench.ts');
    const soak = soakTable(await benchSoak(soakMinutes));
    process.stdout.write(`\n${soak}`);
    writeSoakSection(soak);
  }
}

await main();
