/**
 * End to end: scheduled and forced restart sequences with real supervisors (./run.ts), driven through
 * ./restart-control.ts, with real processes, hooks, a fake nvidia-smi and environment overrides.
 * Every test owns its sandbox (temp dir, config, state_dir); cleanup kills what it started, even on failure.
 * Independent tests run concurrently: most of their time is spent waiting for 2 s intervals.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isoInZone } from '../../lib/core/time-format.ts';
import { stringify } from 'yaml';
import { type EventRecord } from '../../lib/core/types.ts';
import { waitFor } from '../helpers.ts';
import {
  FAST, FIXTURES, RUN, alive, cleanEnv, killQuietly, markedProcesses, procInfo, runCommand, sandbox,
  type CommandResult, type Sandbox, type ServiceSpec, type Supervisor,
} from '../support.ts';

const SUITE = { timeout: 150_000, concurrency: 5 };
const MIB = 1024 * 1024;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/;
/** The events of a restart sequence (service events included); anything else is noise here. */
const SEQUENCE_EVENTS = new Set(['scheduled_restart', 'force_restart', 'idle_wait', 'hook_failed', 'stopped', 'gpu_cleanup', 'started', 'restart_completed']);
const STARTS = new Set(['scheduled_restart', 'force_restart']);

// ---------- helpers ----------

/** A sandbox whose config also has the top-level sections (schedule, hooks, gpu) that Sandbox does not write. */
function box(t: TestContext, services: ServiceSpec[], sections: Record<string, unknown> = {}): Sandbox {
  const created = sandbox(t, services);
  writeConfig(created, services, sections);
  return created;
}

function writeConfig(target: Sandbox, services: ServiceSpec[], sections: Record<string, unknown>): void {
  writeFileSync(target.configFile, stringify({ state_dir: 'state', services: services.map((s) => ({ ...FAST, ...s })), ...sections }));
}

/** Sandbox.startSupervisor with extra environment for the supervisor. */
function startSupervisor(target: Sandbox, env: NodeJS.ProcessEnv = {}): Promise<Supervisor> {
  return target.startSupervisor({ env });
}

/** SIGTERM: the supervisor stops its services and exits 0. */
async function stopSupervisor(supervisor: Supervisor): Promise<void> {
  killQuietly(supervisor.pid, 'SIGTERM');
  const result = await Promise.race([supervisor.exited, delay(15_000).then(() => null)]);
  assert.ok(result, `the supervisor did not exit after SIGTERM\n${supervisor.output()}`);
  assert.equal(result.code, 0, supervisor.output());
}

function ok(result: CommandResult, what: string): CommandResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** Top-level events (no service) of `type`, at or after `since`. */
function topEvents(target: Sandbox, type: string, since = ''): EventRecord[] {
  return target.events().filter((event) => event.event === type && event.service === undefined && event.time >= since);
}

function waitForTop(target: Sandbox, type: string, since = '', timeoutMs = 15_000, count = 1): Promise<EventRecord[]> {
  return waitFor(() => {
    const found = topEvents(target, type, since);
    return found.length >= count ? found : null;
  }, timeoutMs, `${count} ${type} event(s) since ${since || 'the start'}`, 20);
}

/** The events of the first sequence (of kind `start`, if given) that starts at or after `since`: from its start event to its restart_completed. */
function sequenceFrom(target: Sandbox, since: string, start?: 'scheduled_restart' | 'force_restart'): EventRecord[] {
  const events = target.events().filter((event) => SEQUENCE_EVENTS.has(event.event));
  const first = events.findIndex((event) => (start ? event.event === start : STARTS.has(event.event)) && event.time >= since);
  assert.ok(first >= 0, `no sequence since ${since}`);
  const end = events.findIndex((event, index) => index > first && event.event === 'restart_completed');
  assert.ok(end > first, `the sequence since ${since} has not completed: ${JSON.stringify(events.slice(first))}`);
  return events.slice(first, end + 1);
}

/** Sequences never interleave: between a start and its restart_completed there is no other start. */
function assertNoInterleaving(target: Sandbox): void {
  let open: EventRecord | null = null;
  for (const event of target.events()) {
    if (STARTS.has(event.event)) {
      const running = open as EventRecord | null;
      assert.ok(running === null, `${event.event} at ${event.time} began while the ${running?.event} of ${running?.time} was running`);
      open = event;
    } else if (event.event === 'restart_completed') {
      assert.ok(open, `restart_completed at ${event.time} without a sequence`);
      open = null;
    }
  }
}

/** Waits until no restart sequence is running; returns that moment. */
async function quiet(target: Sandbox): Promise<string> {
  await waitFor(() => {
    const last = target.events().filter((e) => STARTS.has(e.event) || e.event === 'restart_completed').at(-1);
    return !last || last.event === 'restart_completed';
  }, 15_000, 'no restart sequence running', 20);
  return nowIso();
}

function brief(events: EventRecord[]): string[] {
  return events.map((event) => (event.service ? `${event.event}:${event.service}` : event.event));
}

function statusJson(target: Sandbox, env: NodeJS.ProcessEnv = {}): Promise<Record<string, any>> {
  return target.cli(['status', '--json'], { env: cleanEnv(env) }).then((result) => JSON.parse(result.stdout) as Record<string, any>);
}

function nowIso(): string {
  return new Date().toISOString();
}

/** A fake nvidia-smi folder with one GPU; PATH puts test/fixtures (with the fake) first. */
function fakeGpu(target: Sandbox, usedMib = 1200, totalMib = 40960): { dir: string; env: NodeJS.ProcessEnv; calls: () => string[] } {
  const dir = target.path('nvidia');
  mkdirSync(dir);
  writeFileSync(`${dir}/gpus.csv`, `0, NVIDIA Fake A100, ${usedMib}, ${totalMib}\n`);
  const calls = () => (existsSync(`${dir}/calls.log`) ? readFileSync(`${dir}/calls.log`, 'utf8').split('\n').filter(Boolean) : []);
  return { dir, env: { PATH: `${FIXTURES}:${process.env.PATH}`, FAKE_NVIDIA_DIR: dir }, calls };
}

/** A process the test owns (no marker), killed after the test. */
function stranger(t: TestContext): number {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore', detached: true });
  child.unref();
  t.after(() => killQuietly(child.pid!, 'SIGKILL'));
  return child.pid!;
}

function pidsOf(target: Sandbox, service: string, count: number): Promise<number[]> {
  return waitFor(() => {
    const pids = target.serviceProcesses(service);
    return pids.length === count ? pids.sort((a, b) => a - b) : null;
  }, 10_000, `${count} process(es) of ${service}`, 20);
}

/** The zone's UTC offset at `date` ("+02:00"), from Intl, independently of lib/time-format.ts. */
function zoneOffset(date: Date, timeZone: string): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(date).find((p) => p.type === 'timeZoneName')!.value;
  return name === 'GMT' ? '+00:00' : name.slice(3);
}

/** The first 03:00 wall-clock time in Europe/Warsaw after `now` (ms), computed with Intl, not with cron-parser. */
function nextWarsawThreeAm(now: number): number {
  const hourFormat = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Warsaw', hour: '2-digit', hourCycle: 'h23' });
  for (let t = Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000; ; t += 3_600_000) {
    if (hourFormat.format(new Date(t)) === '03') return t;
  }
}

function secondsBetween(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / 1000;
}

// ---------- tests ----------

describe('scheduled and forced restart sequences, end to end', SUITE, () => {
  test('a scheduled restart changes every pid and records the sequence in order', async (t) => {
    const sb = box(t, [
      { name: 'alpha', command: 'exec sleep 1000' },
      { name: 'beta', command: 'sleep 1000 & exec sleep 1000' },
    ], {
      schedule: { interval: '2s' },
      hooks: { pre_restart: ['exit 7'], post_stop: ['exit 8'], pre_start: ['exit 9'] },
    });
    await startSupervisor(sb);
    const before = [...await pidsOf(sb, 'alpha', 1), ...await pidsOf(sb, 'beta', 2)];
    const starts = before.map((pid) => procInfo(pid)!.startTime);
    // On a loaded machine a first restart may already be under way: study the first one that starts after this
    const taken = nowIso();

    const [scheduledAt] = await waitForTop(sb, 'scheduled_restart', taken, 15_000);
    const [completed] = await waitForTop(sb, 'restart_completed', scheduledAt!.time, 15_000);
    const after = [...await pidsOf(sb, 'alpha', 1), ...await pidsOf(sb, 'beta', 2)];
    before.forEach((pid, index) => assert.ok(!alive(pid, starts[index]), `old process ${pid} is gone`));
    assert.equal(after.filter((pid) => before.includes(pid)).length, 0, `every pid changed: ${before} -> ${after}`);

    const sequence = sequenceFrom(sb, taken);
    const names = brief(sequence);
    assert.deepEqual(names.slice(0, 2), ['scheduled_restart', 'hook_failed']);
    assert.deepEqual(names.slice(2, 4).sort(), ['stopped:alpha', 'stopped:beta']);
    assert.deepEqual(names.slice(4, 6), ['hook_failed', 'hook_failed']);
    assert.deepEqual(names.slice(6, 8).sort(), ['started:alpha', 'started:beta']);
    assert.deepEqual(names.slice(8), ['restart_completed'], names.join(' '));
    assert.deepEqual(sequence.filter((e) => e.event === 'hook_failed').map((e) => [e.stage, e.code]), [['pre_restart', 7], ['post_stop', 8], ['pre_start', 9]]);

    const scheduled = sequence[0]!;
    assert.deepEqual(scheduled.services, ['alpha', 'beta']);
    const system = scheduled.system as { memory: { used: number; total: number }; disk: { path: string; used: number; total: number }; gpus: unknown[] };
    assert.ok(system.memory.total > 0 && system.memory.used > 0 && system.memory.used <= system.memory.total, JSON.stringify(system.memory));
    assert.equal(system.disk.path, sb.stateDir);
    assert.ok(system.disk.total > 0 && system.disk.used > 0 && system.disk.used <= system.disk.total, JSON.stringify(system.disk));
    assert.deepEqual(system.gpus, [], 'no nvidia-smi on PATH');

    assert.equal(completed!.kind, 'scheduled');
    const durations = completed!.durations as Record<string, number>;
    for (const step of ['snapshot', 'pre_restart', 'stop', 'post_stop', 'pre_start', 'start']) {
      assert.equal(typeof durations[step], 'number', `durations.${step} in ${JSON.stringify(durations)}`);
    }
    assert.ok(!('gpu_cleanup' in durations) && !('wait_idle' in durations), JSON.stringify(durations));
    const next = completed!.next_restart as string;
    assert.ok(Math.abs(secondsBetween(completed!.time, next) - 2) < 0.5, `next_restart ${next} is 2s after ${completed!.time}`);

    // The interval counts from the last restart: the next one comes ~2 s after this one completed
    const [second] = await waitForTop(sb, 'scheduled_restart', completed!.time, 15_000);
    assert.ok(secondsBetween(completed!.time, second!.time) >= 1.9, `${completed!.time} -> ${second!.time}`);
    assertNoInterleaving(sb);
  });

  test('a cron schedule with a seconds field fires on its seconds', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], { schedule: { cron: '*/3 * * * * *' } });
    await startSupervisor(sb);
    const completed = await waitForTop(sb, 'restart_completed', '', 15_000, 2);
    for (const event of completed) {
      const next = new Date(event.next_restart as string);
      assert.deepEqual([next.getUTCSeconds() % 3, next.getUTCMilliseconds()], [0, 0], `cron next_restart ${next.toISOString()}`);
      assert.ok(next.getTime() > Date.parse(event.time) && next.getTime() <= Date.parse(event.time) + 3_000);
    }
    const [, second] = topEvents(sb, 'scheduled_restart');
    assert.ok(second && second.time >= (completed[0]!.next_restart as string), `fired at ${second?.time}, not before ${completed[0]!.next_restart}`);
  });

  test('status shows the schedule (enabled, mode, expression, next restart, in ...) and system resources with the fake GPU', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], { schedule: { cron: '0 3 * * *', timezone: 'Europe/Warsaw' } });
    const gpu = fakeGpu(sb);
    await startSupervisor(sb);
    const expected = nextWarsawThreeAm(Date.now());

    const before = Date.now();
    const status = await statusJson(sb, gpu.env);
    assert.deepEqual(Object.keys(status.schedule).sort(), ['enabled', 'expression', 'mode', 'next_restart', 'remaining_s']);
    assert.deepEqual([status.schedule.enabled, status.schedule.mode, status.schedule.expression], [true, 'cron', '0 3 * * * (Europe/Warsaw)']);
    assert.match(status.schedule.next_restart, ISO_WITH_OFFSET);
    assert.equal(Date.parse(status.schedule.next_restart), expected, `next 03:00 in Warsaw is ${new Date(expected).toISOString()}`);
    const remaining = (expected - before) / 1000;
    assert.ok(Math.abs(status.schedule.remaining_s - remaining) < 30, `remaining_s ${status.schedule.remaining_s} ~ ${remaining}`);

    const { memory, disk, gpus } = status.system;
    assert.ok(memory.total > 0 && memory.used > 0 && memory.used <= memory.total, JSON.stringify(memory));
    assert.deepEqual(Object.keys(disk).sort(), ['available', 'path', 'total', 'used']);
    assert.equal(disk.path, sb.stateDir);
    assert.ok(disk.total > 0 && disk.used <= disk.total);
    assert.deepEqual(gpus, [{ name: 'NVIDIA Fake A100', memory_used: 1200 * MIB, memory_total: 40960 * MIB }]);

    const text = ok(await sb.cli(['status'], { env: cleanEnv(gpu.env) }), 'status').stdout;
    assert.match(text, /scheduled restarts: enabled \(cron: 0 3 \* \* \* \(Europe\/Warsaw\)\)/);
    assert.ok(text.includes(`next restart ${isoInZone(new Date(expected), null)} (in `), text);
    assert.match(text, /\(in (\d+h \d+m|\d+m \d+s|\d+s)\)/);
    assert.match(text, /system: memory \S+\/\S+, disk \S+\/\S+ \(\d+% used\), gpu0 NVIDIA Fake A100 1\.2GB\/40GB/);
    assert.match(text, /recent events:\n( {2}\[[^\n]+\n)*.*alpha started/);
  });

  test('disable stops scheduled restarts, survives a supervisor restart; enable resumes', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], { schedule: { interval: '2s' } });
    const first = await startSupervisor(sb);
    await waitForTop(sb, 'restart_completed', '', 15_000);

    const disabled = ok(await sb.cli(['disable']), 'disable');
    assert.match(disabled.stdout, /disabled/);
    const status = await statusJson(sb);
    assert.equal(status.schedule.enabled, false);
    assert.equal(status.schedule.next_restart, null);
    assert.equal(status.schedule.remaining_s, null);
    // A sequence that fired just before the disable may still be running: from its end on, nothing more
    const since = await quiet(sb);
    const [pid] = await pidsOf(sb, 'alpha', 1);
    await delay(4_500); // more than two intervals
    assert.deepEqual(topEvents(sb, 'scheduled_restart', since), [], 'no scheduled restart while disabled');
    assert.ok(alive(pid!), 'disable does not stop services');

    await stopSupervisor(first);
    await startSupervisor(sb);
    const restartedAt = nowIso();
    const again = await statusJson(sb);
    assert.deepEqual([again.schedule.enabled, again.schedule.mode, again.schedule.expression, again.schedule.next_restart], [false, 'interval', 'every 2s', null]);
    await delay(3_000);
    assert.deepEqual(topEvents(sb, 'scheduled_restart', restartedAt), [], 'still disabled after the supervisor restarted');

    const enabled = ok(await sb.cli(['enable']), 'enable');
    assert.match(enabled.stdout, /enabled/);
    const enabledAt = nowIso();
    await waitForTop(sb, 'scheduled_restart', enabledAt, 15_000);
    assert.equal((await statusJson(sb)).schedule.enabled, true);
  });

  test('disable while no supervisor runs is persisted and honoured at the next start', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], { schedule: { interval: '2s' } });
    await stopSupervisor(await startSupervisor(sb)); // a previous run left its state_dir

    const disabled = ok(await sb.cli(['disable']), 'disable without a supervisor');
    assert.match(disabled.stdout, /disabled.*no supervisor running/);
    await startSupervisor(sb);
    const startedAt = nowIso();
    assert.equal((await statusJson(sb)).schedule.enabled, false);
    await delay(4_500);
    assert.deepEqual(topEvents(sb, 'scheduled_restart', startedAt), [], 'the persisted disable is honoured');

    ok(await sb.cli(['enable']), 'enable');
    await waitForTop(sb, 'scheduled_restart', startedAt, 15_000);
  });

  test('disable before the very first start (no state_dir yet) is persisted', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], { schedule: { interval: '2s' } });
    assert.ok(!existsSync(sb.stateDir));
    ok(await sb.cli(['disable']), 'disable on a fresh install');
    assert.equal(JSON.parse(readFileSync(`${sb.stateDir}/schedule.json`, 'utf8')).enabled, false);
    await startSupervisor(sb);
    assert.equal((await statusJson(sb)).schedule.enabled, false);
  });

  test('wait_idle defers a scheduled restart until the idle command succeeds', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], {
      schedule: { interval: '2s', wait_idle: { command: 'test -f idle.flag', poll: '200ms', max_wait: '30s' } },
    });
    await startSupervisor(sb);
    const [pid] = await pidsOf(sb, 'alpha', 1);
    const [scheduled] = await waitForTop(sb, 'scheduled_restart', '', 15_000);
    await delay(1_500);
    assert.deepEqual(sb.eventsOf('alpha', 'stopped'), [], 'nothing stopped while busy');
    assert.ok(alive(pid!), 'the busy service still runs');

    const flagged = nowIso();
    writeFileSync(sb.path('idle.flag'), '');
    const [completed] = await waitForTop(sb, 'restart_completed', '', 15_000);
    const sequence = sequenceFrom(sb, scheduled!.time);
    assert.deepEqual(brief(sequence), ['scheduled_restart', 'idle_wait', 'stopped:alpha', 'started:alpha', 'restart_completed']);
    const idle = sequence[1]!;
    assert.equal(idle.idle, true);
    assert.ok(idle.time >= flagged && sequence[2]!.time >= flagged, `restart only after the flag (${flagged}): ${idle.time}`);
    assert.ok((idle.waited_s as number) >= 1.4 && (idle.checks as number) >= 3, JSON.stringify(idle));
    assert.ok((completed!.durations as Record<string, number>).wait_idle! >= 1400);
    assert.ok(!alive(pid!));
  });

  test('wait_idle gives up at max_wait and restarts anyway, saying so', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], {
      schedule: { interval: '2s', wait_idle: { command: 'exit 1', poll: '200ms', max_wait: '1s' } },
    });
    await startSupervisor(sb);
    await waitForTop(sb, 'restart_completed', '', 15_000);
    const pid = sb.eventsOf('alpha', 'started')[0]!.pid as number;
    const sequence = sequenceFrom(sb, '');
    assert.deepEqual(brief(sequence), ['scheduled_restart', 'idle_wait', 'stopped:alpha', 'started:alpha', 'restart_completed']);
    const idle = sequence[1]!;
    assert.equal(idle.idle, false);
    assert.ok((idle.waited_s as number) >= 1 && (idle.waited_s as number) < 3, JSON.stringify(idle));
    assert.ok(secondsBetween(sequence[0]!.time, idle.time) >= 0.95);
    assert.match(String(idle.reason), /max_wait/);
    assert.ok(!alive(pid!), 'restarted anyway');
  });

  test('hooks run in order in the config folder; failing and timed-out hooks are recorded, the restart goes on', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'echo $$ > alpha.pid; exec sleep 1000' }], {
      hooks: {
        pre_restart: [
          'kill -0 $(cat alpha.pid) && echo pre_restart:service-alive >> hooks.txt',
          './hook.ts pre_restart-ts',
          'echo boom >&2; exit 3',
          'sleep 30',
        ],
        post_stop: ['kill -0 $(cat alpha.pid) 2>/dev/null || echo post_stop:service-gone >> hooks.txt'],
        pre_start: ['echo pre_start >> hooks.txt'],
        timeout: '3s',
      },
    });
    writeFileSync(sb.path('hook.ts'), "import { appendFileSync } from 'node:fs';\nconst stage: string = process.argv[2]!;\nappendFileSync('hooks.txt', `${stage}\\n`);\n");
    await startSupervisor(sb);
    const [pid] = await pidsOf(sb, 'alpha', 1);
    const since = nowIso();
    const forced = ok(await sb.cli(['force-restart'], { timeoutMs: 30_000 }), 'force-restart');
    assert.match(forced.stdout, /restarted alpha/);

    assert.deepEqual(readFileSync(sb.path('hooks.txt'), 'utf8').split('\n').filter(Boolean),
      ['pre_restart:service-alive', 'pre_restart-ts', 'post_stop:service-gone', 'pre_start']);
    await waitForTop(sb, 'restart_completed', since);
    const sequence = sequenceFrom(sb, since);
    assert.deepEqual(brief(sequence), ['force_restart', 'hook_failed', 'hook_failed', 'stopped:alpha', 'started:alpha', 'restart_completed']);
    const [failed, timedOut] = [sequence[1]!, sequence[2]!];
    assert.deepEqual([failed.stage, failed.hook, failed.code], ['pre_restart', 'echo boom >&2; exit 3', 3]);
    assert.match(String(failed.output), /boom/);
    assert.deepEqual([timedOut.stage, timedOut.hook], ['pre_restart', 'sleep 30']);
    assert.match(String(timedOut.reason), /timed out/);
    assert.ok(!alive(pid!));
    await pidsOf(sb, 'alpha', 1);
  });

  test('GPU cleanup runs between stop and start, kills our leftover compute process, spares a stranger', async (t) => {
    // `ghost` escapes the tree stop: re-parented to init, own session, and a marker of this state dir but of no service
    const gpuService = [
      `trap 'echo STOP >> "$FAKE_NVIDIA_DIR/calls.log"; exit 0' TERM`,
      'echo START >> "$FAKE_NVIDIA_DIR/calls.log"',
      '[ -f ghost.pid ] || (RESTART_CONTROL_SERVICE="${RESTART_CONTROL_SERVICE%/*}/ghost" setsid sleep 1000 & echo $! > ghost.pid)',
      'while :; do sleep 0.2; done',
    ].join('\n');
    const sb = box(t, [{ name: 'comfy', command: gpuService }], {
      gpu: { reset_command: 'echo RESET >> "$FAKE_NVIDIA_DIR/calls.log"', max_used_mb: 1000 },
      resources: { interval: '1h' },
    });
    const gpu = fakeGpu(sb);
    await startSupervisor(sb, gpu.env);
    // Found once it has its own session (setsid done) and its parent subshell is gone (re-parented)
    const ghost = await waitFor(() => {
      const found = markedProcesses(`${sb.markerPrefix}ghost`).map((p) => p.pid);
      const info = found.length === 1 ? procInfo(found[0]!) : null;
      return info && info.sid === info.pid && !sb.serviceProcesses().includes(info.ppid) && existsSync(sb.path('ghost.pid')) ? info.pid : null;
    }, 10_000, 'the ghost compute process');
    assert.equal(Number(readFileSync(sb.path('ghost.pid'), 'utf8')), ghost);
    const other = stranger(t);
    writeFileSync(`${gpu.dir}/apps.csv`, `${ghost}, 700\n${other}, 300\n`);
    await waitFor(() => gpu.calls().includes('START'), 5_000, 'the service to start');

    const since = nowIso();
    ok(await sb.cli(['force-restart'], { timeoutMs: 30_000 }), 'force-restart');
    await waitForTop(sb, 'restart_completed', since);
    const sequence = sequenceFrom(sb, since);
    assert.deepEqual(brief(sequence), ['force_restart', 'stopped:comfy', 'gpu_cleanup', 'started:comfy', 'restart_completed']);
    const gpuInfo = { name: 'NVIDIA Fake A100', memory_used: 1200 * MIB, memory_total: 40960 * MIB };
    assert.deepEqual((sequence[0]!.system as { gpus: unknown }).gpus, [gpuInfo]);
    const cleanup = sequence[2]!;
    assert.deepEqual(cleanup.before, [gpuInfo]);
    assert.deepEqual(cleanup.after, [gpuInfo]);
    assert.deepEqual(cleanup.killed, [ghost]);
    assert.deepEqual(cleanup.reset, { ok: true, code: 0 });
    assert.equal(cleanup.leak, true, '1200 MiB used > max_used_mb 1000');
    assert.equal(typeof (sequence[4]!.durations as Record<string, number>).gpu_cleanup, 'number');
    assert.ok(!alive(ghost), 'our leftover compute process was killed');
    assert.ok(alive(other), 'a compute process that is not ours survives');

    // The fake's log, with the service's own START/STOP lines: the GPU step sits between stop and start
    const calls = gpu.calls().map((line) => (line.startsWith('--query-gpu') ? 'GPU' : line.startsWith('--query-compute-apps') ? 'APPS' : line));
    const stop = calls.indexOf('STOP');
    assert.ok(stop > 0, calls.join(' '));
    // The resource sampler asks for compute apps too: once at start, then every resources.interval (1 h here).
    // The clean-up's own order is what is checked, from the first START on.
    const ordered = calls.filter((call, index) => call !== 'APPS' || index > stop);
    assert.deepEqual(ordered.slice(ordered.indexOf('START') + 1), ['GPU', 'STOP', 'GPU', 'APPS', 'RESET', 'GPU', 'START'], calls.join(' '));
  });

  test('GPU cleanup of a scheduled restart leaves compute processes of services outside schedule.services alone', async (t) => {
    const sb = box(t, [
      { name: 'comfy', command: 'exec sleep 1000' },
      { name: 'jupyter', command: 'exec sleep 1000' },
    ], { schedule: { interval: '2s', services: ['comfy'] } });
    const gpu = fakeGpu(sb);
    await startSupervisor(sb, gpu.env);
    const [kernel] = await pidsOf(sb, 'jupyter', 1);
    writeFileSync(`${gpu.dir}/apps.csv`, `${kernel}, 2000\n`);
    await waitForTop(sb, 'restart_completed', '', 15_000);
    const cleanup = topEvents(sb, 'gpu_cleanup')[0]!;
    assert.deepEqual(cleanup.killed, [], 'jupyter is not part of this restart');
    assert.ok(alive(kernel!), 'the running jupyter kernel keeps its GPU work');
    assert.deepEqual(sb.eventsOf('jupyter', 'crashed'), []);
  });

  test('force-restart runs the whole sequence without idle wait (unless --wait-idle) and restarts the interval countdown', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], {
      schedule: { interval: '5s', wait_idle: { command: 'test -f idle.flag', poll: '200ms', max_wait: '5s' } },
    });
    writeFileSync(sb.path('idle.flag'), '');
    await startSupervisor(sb);
    const startedAt = sb.state()!.supervisor.started_at;
    const [pid] = await pidsOf(sb, 'alpha', 1);

    const since = nowIso();
    ok(await sb.cli(['force-restart']), 'force-restart');
    const [completed] = await waitForTop(sb, 'restart_completed', since);
    const sequence = sequenceFrom(sb, since, 'force_restart');
    assert.deepEqual(brief(sequence), ['force_restart', 'stopped:alpha', 'started:alpha', 'restart_completed'], 'no idle wait');
    assert.equal(sequence[0]!.reason, 'user force-restart');
    assert.ok((sequence[0]!.system as { memory: { total: number } }).memory.total > 0);
    assert.equal(completed!.kind, 'force');
    assert.ok(!alive(pid!));
    const next = completed!.next_restart as string;
    assert.ok(Math.abs(secondsBetween(completed!.time, next) - 5) < 0.5, `countdown restarted: ${completed!.time} -> ${next}`);

    // The countdown restarts from every completed sequence: each scheduled restart comes a full interval after the last one
    const [scheduled] = await waitForTop(sb, 'scheduled_restart', startedAt, 15_000);
    const previous = topEvents(sb, 'restart_completed').filter((event) => event.time < scheduled!.time).at(-1)!;
    assert.equal(previous.kind, 'force', 'the force-restart came before the first scheduled one');
    assert.ok(secondsBetween(previous.time, scheduled!.time) >= 4.8, `scheduled at ${scheduled!.time}: 5 s after the force-restart (${previous.time}), not after the start ${startedAt}`);
    await waitForTop(sb, 'restart_completed', scheduled!.time);
    assert.deepEqual(brief(sequenceFrom(sb, scheduled!.time, 'scheduled_restart')).slice(0, 2), ['scheduled_restart', 'idle_wait'], 'scheduled restarts do wait');

    // Off the schedule, so nothing else runs meanwhile: --wait-idle makes a force-restart wait too
    const disabledAt = nowIso();
    const disabled = ok(await sb.cli(['disable']), 'disable').stdout;
    // Under load the timer may have fired just before `disable`, its first event still to come (the snapshot is async)
    if (disabled.includes('a restart sequence is running')) await waitForTop(sb, 'restart_completed', disabledAt, 15_000);
    const waited = await quiet(sb);
    const last = topEvents(sb, 'restart_completed').at(-1)!;
    const asked = nowIso();
    const nextLine = ok(await sb.cli(['next', '--count', '1']), 'next').stdout.trim();
    const answered = nowIso();
    // On a loaded machine over 5 s may pass before `next` runs: an overdue restart is "now", and the countdown goes on from there
    const fromLast = Math.abs(secondsBetween(last.time, nextLine) - 5) <= 1;
    const overdue = secondsBetween(last.time, answered) >= 5 && secondsBetween(asked, nextLine) >= 4 && secondsBetween(answered, nextLine) <= 6;
    assert.ok(fromLast || overdue, `next counts from the last restart (${last.time}), or from now once that is past (${asked}..${answered}): ${nextLine}`);
    ok(await sb.cli(['force-restart', '--wait-idle']), 'force-restart --wait-idle');
    await waitForTop(sb, 'restart_completed', waited);
    const withWait = sequenceFrom(sb, waited, 'force_restart');
    assert.deepEqual(brief(withWait).slice(0, 2), ['force_restart', 'idle_wait']);
    assert.equal(withWait[1]!.idle, true);
    assertNoInterleaving(sb);
  });

  test('a force-restart during a scheduled restart joins it: sequences never interleave', async (t) => {
    const sb = box(t, [
      { name: 'alpha', command: 'exec sleep 1000' },
      { name: 'beta', command: 'exec sleep 1000' },
    ], { schedule: { interval: '2s' }, hooks: { pre_restart: ['sleep 1.5'] } });
    await startSupervisor(sb);
    const [alpha] = await pidsOf(sb, 'alpha', 1);
    const [scheduled] = await waitForTop(sb, 'scheduled_restart', '', 15_000);
    const forced = ok(await sb.cli(['force-restart'], { timeoutMs: 30_000 }), 'force-restart during a scheduled one');
    const returned = nowIso();
    const completed = topEvents(sb, 'restart_completed', scheduled!.time)[0];
    assert.ok(completed && completed.time <= returned, 'the force-restart returned once the running sequence completed');
    assert.match(forced.stdout, /restarted alpha/);
    assert.ok(!alive(alpha!));
    assert.ok(topEvents(sb, 'force_restart').every((event) => event.time >= completed.time), 'no force_restart inside the scheduled one');

    // Two force-restarts at once: one sequence, or one after the other, never interleaved
    const both = await Promise.all([sb.cli(['force-restart'], { timeoutMs: 30_000 }), sb.cli(['force-restart'], { timeoutMs: 30_000 })]);
    both.forEach((result) => ok(result, 'concurrent force-restart'));
    await waitFor(() => {
      const events = sb.events().filter((e) => STARTS.has(e.event) || e.event === 'restart_completed');
      return events.at(-1)?.event === 'restart_completed';
    }, 10_000, 'the last sequence to complete');
    assertNoInterleaving(sb);
  });

  // ---------- environment overrides ----------

  test('RESTART_CONTROL_INTERVAL and RESTART_CONTROL_GRACE win over the file; config --show-origin says so', async (t) => {
    const sb = box(t, [{ name: 'stubborn', command: `exec ${FIXTURES}/ignore-term.sh`, stop_timeout: '10s' }], { schedule: { interval: '1h' } });
    const env = { RESTART_CONTROL_INTERVAL: '2s', RESTART_CONTROL_GRACE: '0.3' };

    const plain = ok(await sb.cli(['config', '--show-origin']), 'config --show-origin').stdout;
    assert.match(plain, /^schedule\.interval = "1h" {2}\(config file\)$/m);
    const shown = ok(await sb.cli(['config', '--show-origin'], { env: cleanEnv({ ...env, RESTART_CONTROL_DISABLED: 'true' }) }), 'config --show-origin with env').stdout;
    assert.match(shown, /^schedule\.interval = "2s" {2}\(env RESTART_CONTROL_INTERVAL\)$/m);
    assert.match(shown, /^services\[0\]\.stop_timeout = "300ms" {2}\(env RESTART_CONTROL_GRACE\)$/m);
    assert.match(shown, /^schedule\.enabled = false {2}\(env RESTART_CONTROL_DISABLED\)$/m);

    await startSupervisor(sb, env);
    const [completed] = await waitForTop(sb, 'restart_completed', '', 15_000);
    const stopped = sb.eventsOf('stubborn', 'stopped')[0]!;
    assert.equal(stopped.forced, true, 'ignore-term needs SIGKILL');
    assert.ok((stopped.stop_ms as number) < 2_000, `grace 0.3 s, not the file's 10 s: stop_ms ${stopped.stop_ms}`);
    assert.ok(Math.abs(secondsBetween(completed!.time, completed!.next_restart as string) - 2) < 0.5);
    const status = await statusJson(sb);
    assert.equal(status.schedule.expression, 'every 2s');
  });

  test('RESTART_CONTROL_DISABLED=true wins over enabled: true in the file', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], { schedule: { enabled: true, interval: '1s' } });
    await startSupervisor(sb, { RESTART_CONTROL_DISABLED: 'true' });
    const startedAt = nowIso();
    const status = await statusJson(sb);
    assert.deepEqual([status.schedule.enabled, status.schedule.next_restart], [false, null]);
    await delay(2_500);
    assert.deepEqual(topEvents(sb, 'scheduled_restart', startedAt), []);
  });

  test('a bad value is refused naming the variable, exit 2', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], { schedule: { interval: '2s', timezone: 'UTC' } });
    const cases: Array<[string, string]> = [
      ['RESTART_CONTROL_INTERVAL', 'soon'],
      ['RESTART_CONTROL_INTERVAL', '0.5s'],
      ['RESTART_CONTROL_CRON', '61 * * * *'],
      ['RESTART_CONTROL_TIMEZONE', 'Mars/Olympus'],
      ['RESTART_CONTROL_DISABLED', 'maybe'],
      ['RESTART_CONTROL_GRACE', '-1'],
    ];
    const results = await Promise.all(cases.map(([name, value]) => sb.cli(['config', '--check'], { env: cleanEnv({ [name]: value }) })));
    const refusals = cases.map(([name, value], index) => ({ name, value, code: results[index]!.code, stderr: results[index]!.stderr.trim() }));
    const wrong = refusals.filter((r) => r.code !== 2 || !r.stderr.includes(r.name) || r.stderr.includes('\n'));
    assert.deepEqual(wrong, [], 'each bad value: exit 2, one line naming the variable');

    const run = await runCommand(RUN, ['--config', sb.configFile], { env: cleanEnv({ RESTART_CONTROL_INTERVAL: 'soon' }), timeoutMs: 15_000 });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /RESTART_CONTROL_INTERVAL/);
    assert.ok(!existsSync(`${sb.stateDir}/supervisor.pid`), 'no supervisor started');
  });

  // ---------- next ----------

  test('--count 5 prints ISO-8601 times whose offsets follow Europe/Warsaw across the spring DST change', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }], { schedule: { cron: '0 3 * 3 0', timezone: 'Europe/Warsaw' } });
    // Every Sunday of March at 03:00: the last one is after the change (last Sunday of March, 01:00 UTC)
    const lines = ok(await sb.cli(['next', '--count', '5']), 'next').stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    for (const line of lines) {
      assert.match(line, ISO_WITH_OFFSET);
      const date = new Date(line);
      assert.equal(line.slice(-6), zoneOffset(date, 'Europe/Warsaw'), `${line}: the zone's real offset`);
      assert.match(line, /-03-\d{2}T03:00:00/);
      assert.ok(date.getTime() > Date.now());
    }
    const instants = lines.map((line) => Date.parse(line));
    assert.deepEqual([...instants].sort((a, b) => a - b), instants, 'ascending');
    assert.ok(lines.some((l) => l.endsWith('+01:00')) && lines.some((l) => l.endsWith('+02:00')), lines.join('\n'));
  });

  test('03:00 and 02:00 on the days around 2027-03-28 in Europe/Warsaw: exact instants, +01:00 then +02:00', async (t) => {
    if (Date.now() >= Date.parse('2027-03-27T00:00:00Z')) return t.skip('the 2027 change is in the past');
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }]);
    const lines = ok(await sb.cli(['next', '--count', '5', '--cron', '0 3 27-29 3 *', '--timezone', 'Europe/Warsaw']), 'next').stdout.trim().split('\n');
    assert.deepEqual(lines, [
      '2027-03-27T03:00:00+01:00', '2027-03-28T03:00:00+02:00', '2027-03-29T03:00:00+02:00',
      '2028-03-27T03:00:00+02:00', '2028-03-28T03:00:00+02:00',
    ]);
    assert.deepEqual(lines.slice(0, 2).map((l) => new Date(l).toISOString()), ['2027-03-27T02:00:00.000Z', '2027-03-28T01:00:00.000Z']);
    const two = ok(await sb.cli(['next', '--count', '5', '--cron', '0 2 27-29 3 *', '--timezone', 'Europe/Warsaw']), 'next').stdout.trim().split('\n');
    assert.equal(two[0], '2027-03-27T02:00:00+01:00');
    assert.ok(two.includes('2027-03-29T02:00:00+02:00'), two.join('\n'));
    assert.ok(!two.some((l) => l.startsWith('2027-03-28T02:')), '02:00 does not exist on 2027-03-28 in Warsaw');
    const instants = two.map((l) => Date.parse(l));
    assert.ok(instants.every((v, i) => i === 0 || v > instants[i - 1]!), two.join('\n'));
  });

  test('interval without a supervisor counts from now; bad expressions and zones are one-line errors, exit 2', async (t) => {
    const sb = box(t, [{ name: 'alpha', command: 'exec sleep 1000' }]);
    const before = Date.now();
    const lines = ok(await sb.cli(['next', '--count', '3', '--interval', '2s']), 'next --interval').stdout.trim().split('\n');
    const times = lines.map((line) => Date.parse(line));
    assert.ok(times[0]! >= Math.floor(before / 1000) * 1000 + 2_000 && times[0]! <= Date.now() + 2_000, lines[0]);
    assert.deepEqual([times[1]! - times[0]!, times[2]! - times[1]!], [2_000, 2_000]);

    for (const args of [['--cron', '61 * * * *'], ['--cron', '0 2 *'], ['--cron', '0 2 * * *', '--timezone', 'Mars/Olympus'], ['--count', '0', '--cron', '0 2 * * *']]) {
      const result = await sb.cli(['next', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    }
    const zone = await sb.cli(['next', '--cron', '0 2 * * *', '--timezone', 'Mars/Olympus']);
    assert.match(zone.stderr, /Mars\/Olympus/);
  });
});
