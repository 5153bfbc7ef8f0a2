/**
 * End to end: recent CLI and supervisor behaviour fixes, with a real supervisor (./run.ts) driven through
 * ./restart-control.ts. Every test owns its sandbox (temp dir, config, state_dir); cleanup kills what it started,
 * even on failure. Independent tests run concurrently: most of their time is spent waiting for short intervals.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { type EventRecord } from '../../lib/core/types.ts';
import { waitFor } from '../helpers.ts';
import {
  CLI, FAST, RUN, alive, cleanEnv, killQuietly, procInfo, runCommand, sandbox,
  type CommandResult, type Sandbox, type ServiceSpec, type Supervisor,
} from '../support.ts';

const SUITE = { timeout: 90_000, concurrency: 5 };
const SLEEPER = 'exec sleep 1000';

// ---------- helpers ----------

/** A sandbox whose config also has top-level sections (schedule, notify) that Sandbox does not write. */
function box(t: TestContext, services: ServiceSpec[], sections: Record<string, unknown> = {}): Sandbox {
  const created = sandbox(t, services);
  writeFileSync(created.configFile, stringify({ state_dir: 'state', services: services.map((s) => ({ ...FAST, ...s })), ...sections }));
  return created;
}

/** Sandbox.startSupervisor with extra environment for the supervisor. */
function startSupervisor(target: Sandbox, env: NodeJS.ProcessEnv = {}): Promise<Supervisor> {
  return target.startSupervisor({ env });
}

function ok(result: CommandResult, what: string): CommandResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

function describeResult(result: CommandResult): string {
  return `exit ${result.code} after ${Math.round(result.ms)} ms\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

async function statusJson(target: Sandbox): Promise<Record<string, any>> {
  const result = await target.cli(['status', '--json']);
  return JSON.parse(result.stdout) as Record<string, any>;
}

/** Top-level events (no service) of `type`, at or after `since`. */
function topEvents(target: Sandbox, type: string, since = ''): EventRecord[] {
  return target.events().filter((event) => event.event === type && event.service === undefined && event.time >= since);
}

function waitForTop(target: Sandbox, type: string, since = '', timeoutMs = 15_000): Promise<EventRecord> {
  return waitFor(() => topEvents(target, type, since)[0], timeoutMs, `a ${type} event since ${since || 'the start'}`, 20);
}

function nowIso(): string {
  return new Date().toISOString();
}

function seconds(from: string | number, to: string | number): number {
  const ms = (value: string | number) => (typeof value === 'number' ? value : Date.parse(value));
  return (ms(to) - ms(from)) / 1000;
}

function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

/** The live pid of a running service, from state.json, with its start time (to tell a reused pid apart). */
async function runningPid(target: Sandbox, name: string): Promise<{ pid: number; start: number }> {
  const snapshot = await target.waitForState(name, 'running');
  return { pid: snapshot.pid!, start: procInfo(snapshot.pid!)!.startTime };
}

// ---------- tests ----------

describe('CLI and supervisor behaviour, end to end', SUITE, () => {
  test('enable after a long disabled spell starts a fresh countdown (no overdue restart at once)', async (t) => {
    const sb = box(t, [{ name: 'a', command: SLEEPER }], { schedule: { interval: '2s' } });
    await startSupervisor(sb);
    ok(await sb.cli(['disable']), 'disable');
    // A sequence that began just before the disable may still complete: count only what starts after it
    await waitFor(() => {
      const last = sb.events().filter((e) => e.event === 'scheduled_restart' || e.event === 'restart_completed').at(-1);
      return !last || last.event === 'restart_completed';
    }, 15_000, 'no restart sequence running', 20);
    const disabledAt = nowIso();
    await delay(5_000); // more than two intervals
    assert.deepEqual(topEvents(sb, 'scheduled_restart', disabledAt), [], 'no scheduled restart while disabled');

    const beforeEnable = Date.now();
    const enabled = ok(await sb.cli(['enable']), 'enable');
    const afterEnable = Date.now();
    const statusAsked = Date.now();
    const status = await statusJson(sb);
    assert.equal(status.schedule?.enabled, true, JSON.stringify(status.schedule));
    assert.ok(status.schedule.next_restart, `status shows a next restart right after enable: ${JSON.stringify(status.schedule)}\n${enabled.stdout}`);
    // In the future when status was asked (a slow CLI run may not eat into the fresh 2 s by more than 1.5 s)
    const reference = Math.min(statusAsked, beforeEnable + 1_500);
    assert.ok(Date.parse(status.schedule.next_restart) > reference,
      `next_restart ${status.schedule.next_restart} is after ${new Date(reference).toISOString()} (enable sent at ${new Date(beforeEnable).toISOString()})\n${enabled.stdout}`);

    const fired = await waitForTop(sb, 'scheduled_restart', new Date(beforeEnable).toISOString(), 15_000);
    assert.ok(seconds(beforeEnable, fired.time) >= 1.5,
      `the first restart after enable came ${seconds(beforeEnable, fired.time)} s after it (an overdue restart fired at once)`);
    assert.ok(seconds(afterEnable, fired.time) <= 5, `the first restart after enable came ${seconds(afterEnable, fired.time)} s after it (expected ~2 s)`);
  });

  test('the scheduled_restart event carries the following restart time', async (t) => {
    const sb = box(t, [{ name: 'a', command: SLEEPER }], { schedule: { interval: '2s' } });
    await startSupervisor(sb);
    const event = await waitForTop(sb, 'scheduled_restart', '', 15_000);
    assert.ok(typeof event.next_restart === 'string', `next_restart is set: ${JSON.stringify(event)}`);
    const gap = seconds(event.time, event.next_restart as string);
    assert.ok(gap > 1.2 && gap < 2.8, `next_restart ${event.next_restart} is ~2 s after the event at ${event.time} (${gap} s)`);
  });

  test('next follows the running supervisor\'s effective schedule, and the file without one', async (t) => {
    const sb = box(t, [{ name: 'a', command: SLEEPER }], { schedule: { cron: '0 * * * *' } });
    const fromFile = lines(ok(await sb.cli(['next', '--count', '2']), 'next without a supervisor').stdout);
    assert.equal(fromFile.length, 2, fromFile.join('\n'));
    const hourly = fromFile.map((line) => new Date(line));
    for (const time of hourly) assert.deepEqual([time.getMinutes(), time.getSeconds(), time.getMilliseconds()], [0, 0, 0], `on the hour: ${fromFile}`);
    assert.equal(seconds(hourly[0]!.getTime(), hourly[1]!.getTime()), 3600, `an hour apart: ${fromFile}`);
    assert.ok(hourly[0]!.getTime() > Date.now() && hourly[0]!.getTime() <= Date.now() + 3600_000, `the next full hour: ${fromFile}`);

    // 30 s, not less: on a loaded machine three CLI calls can take several seconds, and a restart between the reads
    // moves the next time (retried below)
    await startSupervisor(sb, { RESTART_CONTROL_INTERVAL: '30s' });
    let matched = false;
    let last = '';
    for (let attempt = 0; attempt < 5 && !matched; attempt++) {
      const before = (await statusJson(sb)).schedule?.next_restart as string | null;
      const startedAt = Date.now();
      const printed = lines(ok(await sb.cli(['next', '--count', '2']), 'next with a supervisor').stdout);
      const after = (await statusJson(sb)).schedule?.next_restart as string | null;
      last = `status ${before} / ${after}, next printed ${JSON.stringify(printed)}`;
      if (!before || before !== after) continue;
      assert.equal(printed.length, 2, last);
      const [first, second] = printed.map((line) => Date.parse(line));
      assert.equal(seconds(first!, second!), 30, `30 s apart, not hourly: ${last}`);
      assert.ok(first! > startedAt - 1000, `the first is not in the past: ${last}`);
      assert.equal(Math.floor(first! / 1000), Math.floor(Date.parse(before) / 1000), `next matches status --json to the second: ${last}`);
      matched = true;
    }
    assert.ok(matched, `status never held still around next: ${last}`);
  });

  test('config output validates as a config and shows no secret', async (t) => {
    const secrets = { HOOK_TOKEN: 'tok-5e1f0a9c', HOOK_SECRET: 'sec-77b2d4e1', HOOK_AUTH: 'auth-c0ffee42' };
    const sb = box(t, [{
      name: 'web', command: SLEEPER, restart: 'on-failure', restart_max: 2, restart_cooldown: '15m',
      wait_idle: { command: 'true', poll: '10s', max_wait: '30m' },
    }], {
      schedule: { cron: '0 3 * * *', timezone: 'Europe/Warsaw' },
      notify: {
        webhooks: [{
          url: 'http://127.0.0.1:9/hook?token=${HOOK_TOKEN}', format: 'json', secret: '${HOOK_SECRET}',
          headers: { Authorization: 'Bearer ${HOOK_AUTH}' },
        }],
      },
    });
    const shown = ok(await sb.cli(['config'], { env: cleanEnv(secrets) }), 'config').stdout;
    const saved = sb.path('shown.yaml');
    writeFileSync(saved, shown);
    assert.ok(shown.includes('***'), `secrets are masked:\n${shown}`);
    for (const [name, value] of Object.entries(secrets)) assert.ok(!shown.includes(value), `${name} is not shown:\n${shown}`);
    // Checked without the secrets' variables: the output must stand on its own
    const check = await runCommand(CLI, ['config', '--check', '--config', saved]);
    assert.equal(check.code, 0, `the shown config validates:\n${describeResult(check)}\n--- shown ---\n${shown}`);
  });

  test('config --check names every problem in one run, sorted by line', async (t) => {
    const sb = box(t, []);
    writeFileSync(sb.configFile, [
      'state_dir: state', //                   1
      'services:', //                          2
      '  - name: a', //                        3
      '    command: sleep 1', //               4
      '    restart_sec: abc', //               5  bad duration
      '  - name: a', //                        6  duplicate name
      '    command: sleep 1', //               7
      '    cwd: no-such-folder', //            8  missing cwd
      '  - name: b', //                        9
      '    command: sleep 1', //               10
      '    restart: sometimes', //             11 bad enum
      'bogus_key: 1', //                       12 unknown key
      '',
    ].join('\n'));
    const result = await sb.cli(['config', '--check']);
    assert.equal(result.code, 2, describeResult(result));
    const output = `${result.stdout}${result.stderr}`;
    const found = [...output.matchAll(/restart-control\.yaml:(\d+):/g)].map((match) => Number(match[1]));
    assert.deepEqual(found, [5, 6, 8, 11, 12], `one line per problem, sorted by line:\n${output}`);
    assert.match(output, /:5: services\[0\]\.restart_sec/);
    assert.match(output, /:6: services\[1\]\.name.*duplicate/);
    assert.match(output, /:8: services\[1\]\.cwd/);
    assert.match(output, /:11: services\[2\]\.restart/);
    assert.match(output, /:12: .*bogus_key/);
  });

  test('logs: --since is not capped at 50 lines; a reader that stops early is not an error', async (t) => {
    const sb = box(t, [
      { name: 'chatty', command: `seq -f 'line %g' 1 300; ${SLEEPER}`, log_timestamps: true },
      { name: 'big', command: `seq -f 'line %g of a log long enough to fill a pipe many times over' 1 20000; ${SLEEPER}` },
    ]);
    await startSupervisor(sb);
    const logFile = (name: string) => join(sb.stateDir, 'logs', `${name}.log`);
    const linesIn = (name: string) => (existsSync(logFile(name)) ? lines(readFileSync(logFile(name), 'utf8')).length : 0);
    await waitFor(() => linesIn('chatty') >= 300 && linesIn('big') >= 20000, 15_000, 'both services to have written their lines', 50);

    await t.test('logs SERVICE --since 1h gives every line; logs SERVICE gives 50', async () => {
      const since = lines(ok(await sb.cli(['logs', 'chatty', '--since', '1h']), 'logs --since').stdout);
      assert.ok(since.length >= 300, `--since 1h printed ${since.length} lines, expected >= 300`);
      assert.ok(since.some((line) => line.includes('line 1')) && since.some((line) => line.includes('line 300')), 'from the first line to the last');
      const plain = lines(ok(await sb.cli(['logs', 'chatty']), 'logs').stdout);
      assert.equal(plain.length, 50, `logs alone printed ${plain.length} lines`);
    });

    await t.test('logs -n 100000 | head -1: no error on stderr, exit 0', async () => {
      const err = sb.path('err.txt');
      const code = sb.path('code.txt');
      const script = `{ '${CLI}' logs big -n 100000 --config '${sb.configFile}' 2>'${err}'; echo $? >'${code}'; } | head -1`;
      const result = await runCommand('sh', ['-c', script]);
      assert.equal(result.code, 0, describeResult(result));
      assert.equal(lines(result.stdout).length, 1, result.stdout);
      assert.equal(readFileSync(err, 'utf8'), '', 'the CLI wrote nothing to stderr');
      assert.equal(readFileSync(code, 'utf8').trim(), '0', 'the CLI exited 0');
    });
  });

  test('a reload that removes a service leaves no stale pid file', async (t) => {
    const services = [{ name: 'a', command: SLEEPER }, { name: 'b', command: SLEEPER }];
    const sb = box(t, services);
    await startSupervisor(sb);
    const b = await runningPid(sb, 'b');
    const pidFile = (name: string) => join(sb.stateDir, 'pids', `${name}.pid`);
    await waitFor(() => existsSync(pidFile('b')), 5_000, 'pids/b.pid');

    writeFileSync(sb.configFile, stringify({ state_dir: 'state', services: [{ ...FAST, ...services[0] }] }));
    const reload = ok(await sb.cli(['reload']), 'reload');
    assert.match(reload.stdout, /removed b/);
    await waitFor(() => !alive(b.pid, b.start), 5_000, 'b to stop');
    await waitFor(() => !existsSync(pidFile('b')), 5_000, 'pids/b.pid to be removed').catch(() => undefined);
    assert.ok(!existsSync(pidFile('b')), `stale ${pidFile('b')} left behind: ${existsSync(pidFile('b')) ? readFileSync(pidFile('b'), 'utf8') : ''}`);
    assert.ok(existsSync(pidFile('a')), 'the pid file of a service that stays is kept');
  });

  test('a command against a stopped supervisor fails after ~5 s and is not carried out later', async (t) => {
    const sb = box(t, [{ name: 'a', command: SLEEPER }]);
    const supervisor = await startSupervisor(sb);
    const before = await runningPid(sb, 'a');
    const since = nowIso();
    killQuietly(supervisor.pid, 'SIGSTOP');
    let stopped: CommandResult;
    try {
      stopped = await sb.cli(['stop', 'a'], { timeoutMs: 20_000 });
    } finally {
      killQuietly(supervisor.pid, 'SIGCONT');
    }
    assert.equal(stopped.code, 1, describeResult(stopped));
    assert.match(stopped.stderr, /did not answer/, describeResult(stopped));
    assert.ok(stopped.ms >= 4_500 && stopped.ms < 12_000, `gave up after ${Math.round(stopped.ms)} ms, expected ~5 s`);

    // A command sent after SIGCONT is served after the abandoned one was dispatched (same listening socket, in order)
    const start = ok(await sb.cli(['start', 'a']), 'start after SIGCONT');
    await delay(1_000);
    assert.ok(alive(before.pid, before.start), `a (pid ${before.pid}) still runs: the abandoned stop was not carried out\n${start.stdout}`);
    assert.equal(sb.service('a')?.state, 'running');
    assert.equal(sb.service('a')?.pid, before.pid);
    assert.deepEqual(sb.eventsOf('a', 'stopped').filter((e) => e.time >= since), [], 'no stopped event for a');

    ok(await sb.cli(['stop', 'a']), 'stop once the supervisor answers');
    await sb.waitForState('a', 'stopped');
    assert.ok(!alive(before.pid, before.start), 'a was stopped');
  });

  test('stop of a failed service leaves it stopped through a force-restart; running ones restart', async (t) => {
    const sb = box(t, [{ name: 'f', command: 'exit 3', restart: 'no' }, { name: 'r', command: SLEEPER }]);
    await startSupervisor(sb);
    await sb.waitForState('f', 'failed');
    const r = await runningPid(sb, 'r');

    ok(await sb.cli(['stop', 'f']), 'stop f');
    assert.equal(sb.service('f')?.state, 'stopped', JSON.stringify(sb.service('f')));
    const since = nowIso();
    ok(await sb.cli(['force-restart']), 'force-restart');
    await waitForTop(sb, 'restart_completed', since, 15_000);

    const after = await runningPid(sb, 'r');
    assert.notEqual(after.pid, r.pid, 'r got a new pid');
    assert.ok(!alive(r.pid, r.start), 'the old r is gone');
    assert.equal(sb.service('f')?.state, 'stopped', `f stays stopped: ${JSON.stringify(sb.service('f'))}`);
    assert.deepEqual(sb.eventsOf('f', 'started').filter((e) => e.time >= since), [], 'f was not started');
    assert.deepEqual(sb.serviceProcesses('f'), [], 'no process of f');
  });
});
