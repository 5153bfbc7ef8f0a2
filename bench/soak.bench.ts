/**
 * The soak bench: 20 services crashing at random (each after 1–20 s of output), log rotation (small max_size,
 * compressed), a webhook sink on 127.0.0.1, and a reload every 30 s, for SOAK_MINUTES (default 10). Reports the
 * supervisor's RSS after warm-up and at the end, its open file descriptors, and whether every crash (each service
 * writes a ledger line just before it crashes) appears in events.jsonl (rotated files included).
 *
 *   node --import tsx bench/soak.bench.ts [--minutes N]     (or SOAK_MINUTES=N; run by `npm run bench` too)
 *
 * Standalone, it writes its table into the "## Soak" section of bench/RESULTS.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { processRssBytes } from '../lib/process/proc.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const RUN = join(ROOT, 'run.ts');
const CLI = join(ROOT, 'restart-control.ts');
const SERVICES = 20;
const RELOAD_EVERY_MS = 30_000;
const SAMPLE_EVERY_MS = 5_000;

export interface SoakResult {
  minutes: number;
  warmupS: number;
  rssWarmMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  rssGrowthPct: number;
  fdWarm: number;
  fdEnd: number;
  fdMax: number;
  crashes: number;
  crashesInEvents: number;
  missingCrashes: number;
  /** Runs a reload stopped between their ledger line and their exit: not crashes, correctly recorded as stopped. */
  stoppedAfterLedger: number;
  reloads: number;
  rotatedFiles: number;
  webhookDeliveries: number;
  supervisorAlive: boolean;
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

function fdKinds(pid: number): string {
  const kinds = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '?';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/\[\d+\]/, '').replace(/\/tmp\/rc-soak-[^/]+/, '').replace(/\.\d+(\.gz)?$/, '.N');
    } catch {
      // closed meanwhile
    }
    kinds.set(target, (kinds.get(target) ?? 0) + 1);
  }
  return [...kinds].map(([kind, n]) => `${kind}×${n}`).join(', ');
}

interface SoakEvent { event: string; service?: string; pid?: number; time: string }

/** Every event of events.jsonl and its rotated (maybe gzipped) files, oldest file first. */
function allEvents(stateDir: string): SoakEvent[] {
  const events: SoakEvent[] = [];
  const index = (name: string) => Number(/\.(\d+)(\.gz)?$/.exec(name)?.[1] ?? 0);
  const files = readdirSync(stateDir).filter((name) => /^events\.jsonl(\.\d+(\.gz)?)?$/.test(name)).sort((a, b) => index(b) - index(a));
  for (const name of files) {
    let text: string;
    try {
      const raw = readFileSync(join(stateDir, name));
      text = name.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    } catch {
      continue; // rotated away while listing
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        events.push(JSON.parse(line));
      } catch {
        // a line being written
      }
    }
  }
  return events;
}

function config(dir: string, port: number, generation: number): string {
  // Output every 0.2 s for 1–20 s, then the ledger line, then a crash (exit 1)
  const script = `n=$(( $(od -An -N1 -tu1 /dev/urandom) % 20 + 1 )); i=0; while [ $i -lt $((n*5)) ]; do echo "$SVC line $i of $$: the quick brown fox jumps over the lazy dog"; i=$((i+1)); sleep 0.2; done; echo "$SVC $$" >> ${join(dir, 'ledger')}; exit 1`;
  return `# generation ${generation}\n${stringify({
    state_dir: 'state',
    logs: { max_size: '64KB', keep: 40, compress: true },
    notify: { webhooks: [{ url: `http://127.0.0.1:${port}/hook`, events: ['crashed', 'started', 'config_reloaded', 'stopped'], timeout: 2 }] },
    services: Array.from({ length: SERVICES }, (_, index) => ({
      name: `s${index}`, command: ['sh', '-c', script], restart: 'always', restart_sec: 0.3, restart_max: 0, stop_timeout: 2,
      // One service's definition changes at each reload: a real restart, not only a re-read
      env: { SVC: `s${index}`, ...(index === 0 ? { GENERATION: String(generation) } : {}) },
    })),
  })}`;
}

export async function benchSoak(minutes: number): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-soak-'));
  let deliveries = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => { deliveries++; response.end('ok'); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const file = join(dir, 'rc.yaml');
  let generation = 0;
  writeFileSync(file, config(dir, port, generation));
  const supervisor = spawn(RUN, ['--config', file], { stdio: 'ignore' });
  const pid = supervisor.pid!;
  const stateDir = join(dir, 'state');
  const durationMs = minutes * 60_000;
  const warmupMs = Math.min(60_000, durationMs / 5);
  const samples: { at: number; rss: number; fds: number }[] = [];
  const started = Date.now();
  let reloads = 0;
  let nextReload = started + RELOAD_EVERY_MS;
  try {
    while (Date.now() - started < durationMs) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
      if (supervisor.exitCode !== null || supervisor.signalCode !== null) throw new Error(`the supervisor died: ${supervisor.exitCode ?? supervisor.signalCode}`);
      samples.push({ at: Date.now() - started, rss: (processRssBytes(pid) ?? 0) / 1024 / 1024, fds: fdCount(pid) });
      if (Date.now() >= nextReload) {
        writeFileSync(file, config(dir, port, ++generation));
        process.kill(pid, 'SIGHUP');
        reloads++;
        nextReload += RELOAD_EVERY_MS;
      }
    }
    const ledger = existsSync(join(dir, 'ledger')) ? readFileSync(join(dir, 'ledger'), 'utf8').split('\n').filter(Boolean) : [];
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // the last crashes reach events.jsonl
    // How each run ended, by pid: `started` names the pid, the next crashed/stopped of that service is its end
    const events = allEvents(stateDir);
    const ending = new Map<string, string>();
    const current = new Map<string, number>();
    let crashedEvents = 0;
    for (const event of events) {
      if (!event.service) continue;
      if (event.event === 'started' && event.pid) current.set(event.service, event.pid);
      if (event.event === 'crashed') crashedEvents++;
      const pid = current.get(event.service);
      if ((event.event === 'crashed' || event.event === 'stopped') && pid !== undefined && !ending.has(`${event.service} ${pid}`)) ending.set(`${event.service} ${pid}`, event.event);
    }
    let missing = 0;
    let stoppedAfterLedger = 0;
    const missingRuns: string[] = [];
    for (const line of ledger) {
      const end = ending.get(line);
      if (end === 'crashed') continue;
      if (end === 'stopped') stoppedAfterLedger++; // a reload's stop landed between the ledger line and exit 1
      else { missing++; missingRuns.push(line); }
    }
    if (process.env.SOAK_VERBOSE) process.stderr.write(`runs missing: ${missingRuns.join(', ') || 'none'}; stopped after their ledger line: ${stoppedAfterLedger}\n`);
    const warm = samples.find((sample) => sample.at >= warmupMs) ?? samples[0]!;
    const end = samples.at(-1)!;
    const logsDir = [join(stateDir, 'logs'), join(dir, 'logs')].find((folder) => existsSync(folder));
    const rotatedFiles = logsDir ? readdirSync(logsDir).filter((name) => /\.\d+(\.gz)?$/.test(name)).length : 0;
    if (process.env.SOAK_VERBOSE) process.stderr.write(`fds at the end: ${fdKinds(pid)}\n`);
    return {
      minutes, warmupS: Math.round(warm.at / 1000),
      rssWarmMiB: warm.rss, rssEndMiB: end.rss, rssMaxMiB: Math.max(...samples.map((sample) => sample.rss)),
      rssGrowthPct: ((end.rss - warm.rss) / warm.rss) * 100,
      fdWarm: warm.fds, fdEnd: end.fds, fdMax: Math.max(...samples.map((sample) => sample.fds)),
      crashes: ledger.length, crashesInEvents: crashedEvents, missingCrashes: missing, stoppedAfterLedger,
      reloads, rotatedFiles, webhookDeliveries: deliveries, supervisorAlive: supervisor.exitCode === null && supervisor.signalCode === null,
    };
  } finally {
    spawnSync(CLI, ['--config', file, 'shutdown', '--timeout', '60s'], { stdio: 'ignore' });
    supervisor.kill('SIGTERM');
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function soakRows(result: SoakResult): { what: string; result: string; target: string; reference: string }[] {
  const mib = (value: number) => `${value.toFixed(1)} MiB`;
  return [
    { what: `soak ${result.minutes} min: 20 services crashing at random, rotation, webhook, ${result.reloads} reloads: supervisor RSS after ${result.warmupS} s warm-up → end (max)`, result: `${mib(result.rssWarmMiB)} → ${mib(result.rssEndMiB)} (${mib(result.rssMaxMiB)}), ${result.rssGrowthPct >= 0 ? '+' : ''}${result.rssGrowthPct.toFixed(1)} %`, target: 'growth < 5 %', reference: '' },
    { what: 'soak: open fds after warm-up → end (max)', result: `${result.fdWarm} → ${result.fdEnd} (${result.fdMax})`, target: 'flat', reference: '' },
    { what: 'soak: crashes (ledger lines, by pid) / crashed events in events.jsonl (rotated files included) / ledger runs without a crashed event / of those, stopped by a reload just before their exit', result: `${result.crashes} / ${result.crashesInEvents} / ${result.missingCrashes + result.stoppedAfterLedger} / ${result.stoppedAfterLedger}`, target: 'unexplained 0', reference: '' },
    { what: 'soak: rotated service log files at the end / webhook deliveries / supervisor alive', result: `${result.rotatedFiles} / ${result.webhookDeliveries} / ${result.supervisorAlive ? 'yes' : 'NO'}`, target: '— / — / yes', reference: '' },
  ];
}

export function soakTable(result: SoakResult): string {
  return [
    `Soak measured ${new Date().toISOString()} (SOAK_MINUTES=${result.minutes}).`,
    '',
    '| benchmark | result | target | reference |',
    '|---|---|---|---|',
    ...soakRows(result).map((row) => `| ${row.what} | ${row.result} | ${row.target} | ${row.reference} |`),
    '',
  ].join('\n');
}

/** Replaces (or adds) the "## Soak" section of bench/RESULTS.md. */
export function writeSoakSection(table: string): void {
  const file = join(ROOT, 'bench', 'RESULTS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results (`npm run bench`)\n';
  const start = current.indexOf('\n## Soak\n');
  const before = start < 0 ? current.trimEnd() : current.slice(0, start).trimEnd();
  writeFileSync(file, `${before}\n\n## Soak\n\n${table}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const flag = process.argv.indexOf('--minutes');
  const minutes = Number(flag >= 0 ? process.argv[flag + 1] : process.env.SOAK_MINUTES ?? 10);
  if (!(minutes > 0)) throw new Error('--minutes: expected a positive number');
  const result = await benchSoak(minutes);
  const table = soakTable(result);
  process.stdout.write(table);
  writeSoakSection(table);
}
