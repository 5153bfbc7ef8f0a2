/**
 * Integration: hot reload and source watching with a real supervisor (./run.ts), real files and real processes.
 * Each describe owns one sandbox; after() kills everything it started, even when a test failed.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { type EventRecord } from '../../lib/core/types.ts';
import { waitFor } from '../helpers.ts';
import { FAST, FIXTURES, Sandbox, alive, type ServiceSpec, type Supervisor } from '../support.ts';

const SUITE = { timeout: 90_000 };
/** Longer than any debounce here (200 ms) plus scheduling noise: a wrong extra restart would have happened by now. */
const QUIET_MS = 1_000;
const SLEEPER = 'exec sleep 1000';
const CLOCK_TICKS_PER_S = 100;

interface ConfigDoc {
  services: ServiceSpec[];
  /** Top-level keys other than state_dir and services (auto_reload, schedule...). */
  globals?: Record<string, unknown>;
}

/**
 * The config as YAML text. `reformatted` gives the same resolved values written differently: keys in reverse order,
 * 4-space indent, a comment between every two lines, globals before services.
 */
function renderConfig(doc: ConfigDoc, stateDir: string, style: 'plain' | 'reformatted' = 'plain'): string {
  const services = doc.services.map((service) => ({ ...FAST, ...service }));
  if (style === 'plain') return stringify({ state_dir: stateDir, ...doc.globals, services });
  const reversed = (value: Record<string, unknown>) => Object.fromEntries(Object.entries(value).reverse());
  const text = stringify({ ...doc.globals, services: services.map(reversed), state_dir: stateDir }, { indent: 4 });
  return `# edited by hand\n${text.split('\n').map((line, index) => `${line}\n# note ${index}`).join('\n')}\n`;
}

function writeConfig(box: Sandbox, doc: ConfigDoc, stateDir = 'state', style: 'plain' | 'reformatted' = 'plain'): void {
  writeFileSync(box.configFile, renderConfig(doc, stateDir, style));
}

/** What an editor that saves by rename does: write a temp file next to the config, rename it over. */
function saveByRename(box: Sandbox, text: string): void {
  const temp = join(box.dir, `.restart-control.yaml.${process.pid}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, box.configFile);
}

function pids(box: Sandbox): Record<string, number | null> {
  return Object.fromEntries((box.state()?.services ?? []).map((service) => [service.name, service.pid]));
}

/** Every event named `event` recorded at or after `since` (any service, or none: config_reloaded has none). */
function eventsSince(box: Sandbox, event: string, since: string, service?: string): EventRecord[] {
  return box.events().filter((record) => record.event === event && record.time >= since && (service === undefined || record.service === service));
}

function waitForEvents(box: Sandbox, event: string, since: string, count = 1, service?: string, timeoutMs = 10_000): Promise<EventRecord[]> {
  return waitFor(() => {
    const found = eventsSince(box, event, since, service);
    return found.length >= count ? found : null;
  }, timeoutMs, `${count} ${event} event(s)${service ? ` of ${service}` : ''} since ${since}`, 20);
}

function environOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Waits until `name` runs with a live pid other than `old`; returns the new pid. */
async function newPid(box: Sandbox, name: string, old: number | null, timeoutMs = 10_000): Promise<number> {
  const service = await box.waitForState(name, 'running', timeoutMs, (snapshot) => snapshot.pid !== old);
  return service.pid!;
}

function assertSamePids(box: Sandbox, before: Record<string, number | null>, names: string[]): void {
  const now = pids(box);
  for (const name of names) {
    assert.equal(now[name], before[name], `${name} kept its pid`);
    assert.ok(before[name] !== null && alive(before[name]!), `${name} (pid ${before[name]}) still alive`);
  }
}

interface StatusJson {
  supervisor: { running: boolean; pid: number | null };
  services: Array<{ name: string; state: string; pid: number | null; pending_restart?: string | null }>;
}

async function statusJson(box: Sandbox): Promise<StatusJson> {
  const result = await box.cli(['status', '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as StatusJson;
}

/** `count` writes `pauseMs` apart; returns the longest gap seen (a loaded machine can stretch it past a debounce). */
async function burst(count: number, pauseMs: number, write: (index: number) => void): Promise<number> {
  let longest = 0;
  let last = performance.now();
  for (let index = 0; index < count; index++) {
    write(index);
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (index < count - 1) await delay(pauseMs);
  }
  return Math.round(longest);
}

const sortedLists = (event: EventRecord) => Object.fromEntries(['added', 'removed', 'changed', 'unchanged']
  .map((key) => [key, [...(event[key] as string[])].sort()]));

describe('config reload: reload command and SIGHUP', SUITE, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  let doc: ConfigDoc;
  const treePids = () => readFileSync(box.path('c.pids'), 'utf8').trim().split('\n').map((line) => Number(line.split(' ')[0]));

  before(async () => {
    box = new Sandbox([]);
    doc = {
      services: [
        { name: 'a', command: SLEEPER, env: { V: '1' } },
        { name: 'b', command: SLEEPER, env: { W: 'x' } },
        // 10 processes, some in their own session, some ignoring SIGTERM: removal must take all of them
        { name: 'c', command: [join(FIXTURES, 'tree.sh'), '9', '2'], env: { TREE_PIDS_FILE: box.path('c.pids') } },
      ],
    };
    writeConfig(box, doc);
    supervisor = await box.startSupervisor();
    await waitFor(() => existsSync(box.path('c.pids')) && treePids().length === 10, 10_000, 'the 10 members of tree.sh');
  });
  after(() => box?.cleanup());

  async function reload(): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return box.cli(['reload'], { timeoutMs: 20_000 });
  }

  test('an env change restarts only that service; config_reloaded lists added/removed/changed/unchanged', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    doc.services[0]!.env = { V: '2' };
    writeConfig(box, doc);
    const result = await reload();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /config reloaded: added -; removed -; changed a; unchanged b, c/);
    const pid = await newPid(box, 'a', before.a!);
    assert.equal(environOf(pid).V, '2');
    assert.ok(!alive(before.a!), 'the old a process is gone');
    assertSamePids(box, before, ['b', 'c']);
    assert.ok(treePids().every((member) => alive(member)), 'c tree untouched');
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    assert.deepEqual(sortedLists(reloaded!), { added: [], removed: [], changed: ['a'], unchanged: ['b', 'c'] });
    assert.equal(reloaded!.reason, 'reload command');
    assert.equal(eventsSince(box, 'started', since, 'a').length, 1);
    assert.deepEqual(eventsSince(box, 'started', since).map((event) => event.service), ['a']);
  });

  test('comments, key order and indentation only: nothing restarts', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    writeConfig(box, doc, 'state', 'reformatted');
    assert.match(readFileSync(box.configFile, 'utf8'), /# note/);
    const result = await reload();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /changed -; unchanged a, b, c/);
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    assert.deepEqual(sortedLists(reloaded!), { added: [], removed: [], changed: [], unchanged: ['a', 'b', 'c'] });
    await delay(300);
    assertSamePids(box, before, ['a', 'b', 'c']);
    assert.equal(eventsSince(box, 'stopped', since).length + eventsSince(box, 'started', since).length, 0);
  });

  test('adding and removing a service: the new one starts, the removed one\'s whole tree is gone', async () => {
    const before = pids(box);
    const members = treePids();
    assert.equal(members.length, 10);
    const since = new Date().toISOString();
    doc.services = [doc.services[0]!, doc.services[1]!, { name: 'd', command: SLEEPER }];
    writeConfig(box, doc);
    const result = await reload();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /added d; removed c; changed -; unchanged a, b/);
    await waitFor(() => members.every((member) => !alive(member)), 5_000, `every member of c's tree to die: ${members.filter((m) => alive(m))}`);
    assert.deepEqual(box.serviceProcesses('c'), []);
    const d = await box.waitForState('d', 'running');
    assert.ok(alive(d.pid!));
    await waitFor(() => !('c' in pids(box)), 5_000, 'c gone from state.json');
    assertSamePids(box, before, ['a', 'b']);
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    assert.deepEqual(sortedLists(reloaded!), { added: ['d'], removed: ['c'], changed: [], unchanged: ['a', 'b'] });
    assert.equal((await waitForEvents(box, 'stopped', since, 1, 'c')).length, 1);
  });

  test('an invalid config is refused whole: exit 2, config_error with the one-line message, old config keeps running', async () => {
    const before = pids(box);
    const good = renderConfig(doc, 'state');
    const broken: Array<[string, string, RegExp]> = [
      ['YAML error', `${good}  - name: e\n    command: [unclosed\n`, /YAML error/],
      ['schema error', good.replace('restart_sec: 0.1', 'restart_sec: banana'), /restart_sec/],
      ['unknown service referenced', `${good}schedule:\n  interval: 1h\n  services: [ghost]\n`, /unknown service "ghost"/],
    ];
    for (const [what, text, pattern] of broken) {
      const since = new Date().toISOString();
      // a valid change to d rides along: it must not be applied either
      writeFileSync(box.configFile, text.replace('name: d', 'name: d\n    env: {NEW: "1"}'));
      const result = await reload();
      assert.equal(result.code, 2, `${what}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, pattern, what);
      assert.match(result.stderr, /config refused/, what);
      const [error] = await waitForEvents(box, 'config_error', since);
      assert.equal(typeof error!.message, 'string', what);
      assert.ok(!(error!.message as string).includes('\n'), `${what}: one line: ${error!.message}`);
      assert.match(error!.message as string, pattern, what);
      assert.ok(result.stderr.includes(error!.message as string), `${what}: reload prints the recorded message`);
      assert.equal(eventsSince(box, 'config_reloaded', since).length, 0, what);
      assertSamePids(box, before, ['a', 'b', 'd']);
    }
    assert.ok(alive(supervisor.pid), 'the supervisor survived');
    assert.equal((await statusJson(box)).supervisor.running, true);

    // fixed later: applied normally, against the last good config
    const since = new Date().toISOString();
    doc.services[1]!.env = { W: 'y' };
    writeConfig(box, doc);
    const result = await reload();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /changed b; unchanged a, d/);
    const pid = await newPid(box, 'b', before.b!);
    assert.equal(environOf(pid).W, 'y');
    assertSamePids(box, before, ['a', 'd']);
  });

  test('SIGHUP reloads the config and does not kill the supervisor; a broken file on SIGHUP is refused too', async () => {
    let before = pids(box);
    let since = new Date().toISOString();
    doc.services[0]!.env = { V: '3' };
    writeConfig(box, doc);
    process.kill(supervisor.pid, 'SIGHUP');
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    assert.equal(reloaded!.reason, 'SIGHUP');
    assert.deepEqual(sortedLists(reloaded!), { added: [], removed: [], changed: ['a'], unchanged: ['b', 'd'] });
    const pid = await newPid(box, 'a', before.a!);
    assert.equal(environOf(pid).V, '3');
    assertSamePids(box, before, ['b', 'd']);

    before = pids(box);
    since = new Date().toISOString();
    writeFileSync(box.configFile, 'state_dir: state\nservices: [oops\n');
    process.kill(supervisor.pid, 'SIGHUP');
    await waitForEvents(box, 'config_error', since);
    await delay(200);
    assert.ok(alive(supervisor.pid), 'the supervisor survived both SIGHUPs');
    assert.ok(await box.isReady());
    assertSamePids(box, before, ['a', 'b', 'd']);
    writeConfig(box, doc);
  });

  test('a global section change (schedule interval, logs) is applied in place and restarts no service', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    assert.equal(box.state()?.schedule ?? null, null);
    doc.globals = { schedule: { interval: '1h' }, logs: { keep: 2 } };
    writeConfig(box, doc);
    const result = await reload();
    assert.equal(result.code, 0, result.stderr);
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    assert.deepEqual(sortedLists(reloaded!), { added: [], removed: [], changed: [], unchanged: ['a', 'b', 'd'] });
    const schedule = await waitFor(() => box.state()?.schedule, 5_000, 'the schedule in state.json');
    assert.match(schedule.expression, /1h|3600/);
    const next = Date.parse(schedule.next_restart!);
    assert.ok(next > Date.now() + 50 * 60_000 && next < Date.now() + 70 * 60_000, `next restart in about 1h: ${schedule.next_restart}`);

    doc.globals = { schedule: { interval: '2h' }, logs: { keep: 2 } };
    writeConfig(box, doc);
    assert.equal((await reload()).code, 0);
    await waitFor(() => {
      const later = Date.parse(box.state()?.schedule?.next_restart ?? '');
      return later > Date.now() + 110 * 60_000;
    }, 5_000, 'next restart moved to about 2h');
    await delay(200);
    assertSamePids(box, before, ['a', 'b', 'd']);
    assert.equal(eventsSince(box, 'stopped', since).length, 0);
  });

  test('restart SERVICE re-reads the config from disk: the new process has the new env', async () => {
    const before = pids(box);
    doc.services[0]!.env = { V: '4', ADDED: 'yes' };
    writeConfig(box, doc); // no reload
    const result = await box.cli(['restart', 'a']);
    assert.equal(result.code, 0, result.stderr);
    const pid = await newPid(box, 'a', before.a!);
    const env = environOf(pid);
    assert.equal(env.V, '4');
    assert.equal(env.ADDED, 'yes');
    assertSamePids(box, before, ['b', 'd']);
  });

  test('after restart SERVICE took the new definition, a reload does not restart it a second time', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    const result = await reload();
    assert.equal(result.code, 0, result.stderr);
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    await delay(200);
    assert.deepEqual(sortedLists(reloaded!).changed, [], 'a already runs the definition on disk');
    assertSamePids(box, before, ['a', 'b', 'd']);
  });

  test('restart SERVICE with an invalid file on disk still restarts, with the last good definition', async () => {
    const before = pids(box);
    writeFileSync(box.configFile, 'state_dir: state\nservices: [oops\n');
    const result = await box.cli(['restart', 'b']);
    assert.equal(result.code, 0, result.stderr);
    const pid = await newPid(box, 'b', before.b!);
    assert.equal(environOf(pid).W, 'y');
    assertSamePids(box, before, ['a', 'd']);
    writeConfig(box, doc);
  });

  test('auto_reload switched on by a reload takes effect at once, and switched off by a save stops watching', async () => {
    let since = new Date().toISOString();
    doc.globals = { ...doc.globals, auto_reload: true, reload_debounce: '200ms' };
    writeConfig(box, doc);
    assert.equal((await reload()).code, 0);
    await waitForEvents(box, 'config_reloaded', since);

    let before = pids(box);
    since = new Date().toISOString();
    doc.services[2]!.env = { D: '1' };
    writeConfig(box, doc); // no command: the save alone applies it
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    assert.equal(reloaded!.reason, 'config file saved');
    assert.deepEqual(sortedLists(reloaded!).changed, ['d']);
    await newPid(box, 'd', before.d!);

    since = new Date().toISOString();
    doc.globals = { ...doc.globals, auto_reload: false };
    writeConfig(box, doc);
    await waitForEvents(box, 'config_reloaded', since);
    before = pids(box);
    since = new Date().toISOString();
    doc.services[2]!.env = { D: '2' };
    writeConfig(box, doc);
    await delay(QUIET_MS);
    assert.equal(eventsSince(box, 'config_reloaded', since).length, 0, 'auto_reload is off again');
    assertSamePids(box, before, ['a', 'b', 'd']);
  });
});

describe('config reload: auto_reload watches the config file', SUITE, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  let doc: ConfigDoc;

  before(async () => {
    box = new Sandbox([]);
    doc = {
      globals: { auto_reload: true, reload_debounce: '200ms' },
      services: [
        { name: 'a', command: SLEEPER, env: { V: '0' } },
        { name: 'b', command: SLEEPER, env: { W: '0' } },
      ],
    };
    writeConfig(box, doc);
    supervisor = await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('20 rapid saves give exactly one reload and one restart, with the last saved values', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    const gaps = await burst(20, 10, (save) => {
      doc.services[0]!.env = { V: String(save + 1) };
      writeConfig(box, doc);
    });
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    assert.deepEqual(sortedLists(reloaded!), { added: [], removed: [], changed: ['a'], unchanged: ['b'] });
    assert.equal(reloaded!.reason, 'config file saved');
    const pid = await newPid(box, 'a', before.a!);
    await delay(QUIET_MS);
    assert.equal(eventsSince(box, 'config_reloaded', since).length, 1, `one reload for the burst (longest gap between saves ${gaps} ms)`);
    assert.equal(eventsSince(box, 'started', since, 'a').length, 1, 'one restart of a');
    assert.equal(eventsSince(box, 'config_error', since).length, 0, 'no half-written file was read');
    assert.equal(pids(box).a, pid);
    assert.equal(environOf(pid).V, '20');
    assertSamePids(box, before, ['b']);
  });

  test('editors that save by rename (temp file renamed over the config) are picked up, again and again', async () => {
    for (const value of ['1', '2']) {
      const before = pids(box);
      const since = new Date().toISOString();
      doc.services[1]!.env = { W: value };
      saveByRename(box, renderConfig(doc, 'state'));
      const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
      assert.deepEqual(sortedLists(reloaded!), { added: [], removed: [], changed: ['b'], unchanged: ['a'] }, `save ${value}`);
      const pid = await newPid(box, 'b', before.b!);
      assert.equal(environOf(pid).W, value);
      assertSamePids(box, before, ['a']);
    }
  });

  test('a half-saved (broken) file is refused and everything keeps running; saving it fixed applies it', async () => {
    const before = pids(box);
    let since = new Date().toISOString();
    writeFileSync(box.configFile, renderConfig(doc, 'state').slice(0, -25) + '\n  - name: [\n');
    await waitForEvents(box, 'config_error', since);
    await delay(300);
    assert.equal(eventsSince(box, 'config_reloaded', since).length, 0);
    assert.ok(alive(supervisor.pid));
    assertSamePids(box, before, ['a', 'b']);

    since = new Date().toISOString();
    doc.services.push({ name: 'c', command: SLEEPER });
    writeConfig(box, doc);
    const [reloaded] = await waitForEvents(box, 'config_reloaded', since);
    assert.deepEqual(sortedLists(reloaded!), { added: ['c'], removed: [], changed: [], unchanged: ['a', 'b'] });
    await box.waitForState('c', 'running');
    assertSamePids(box, before, ['a', 'b']);
  });
});

describe('source watching: watch, watch_ignore, watch_debounce, wait_idle', SUITE, () => {
  let box: Sandbox;
  let doc: ConfigDoc;
  /** The state dir lives inside the folder `chatty` watches: its own log output must never restart it. */
  const STATE = 'chatty/state';

  before(async () => {
    box = new Sandbox([], { stateDir: STATE });
    for (const folder of ['src/sub', 'src/node_modules/pkg', 'src/__pycache__', 'src/.git', 'lib/a', 'idle-src', 'chatty', 'crashy-src', 'stubborn-src', 'doomed-src', 'joiner-src', 'parked-src']) {
      mkdirSync(box.path(folder), { recursive: true });
    }
    for (const file of ['src/main.py', 'src/sub/util.py', 'src/node_modules/pkg/index.js', 'src/.git/HEAD', 'lib/a/x.py', 'lib/a/readme.txt', 'idle-src/job.py', 'stubborn-src/job.py', 'doomed-src/job.py', 'joiner-src/job.py', 'parked-src/job.py']) {
      writeFileSync(box.path(file), 'v0\n');
    }
    writeFileSync(box.path('crashy-src/state.txt'), 'bad\n');
    const debounce = { watch_debounce: '200ms' };
    doc = {
      services: [
        { name: 'w', command: SLEEPER, watch: ['src'], watch_ignore: ['**/*.log'], ...debounce },
        { name: 'g', command: SLEEPER, watch: ['lib/**/*.py'], ...debounce },
        {
          name: 'idle', command: SLEEPER, env: { V: '1' }, watch: ['idle-src'], ...debounce,
          wait_idle: { command: 'test -f idle.flag', poll: '100ms', max_wait: '60s' },
        },
        { name: 'chatty', command: 'while :; do echo tick; sleep 0.1; done', cwd: 'chatty', watch: ['.'], ...debounce },
        // crashes while its source is bad; restart: no leaves it failed until a save fixes it
        { name: 'crashy', command: 'grep -q ok crashy-src/state.txt && exec sleep 1000; exit 1', restart: 'no', watch: ['crashy-src'], ...debounce },
        {
          name: 'stubborn', command: SLEEPER, watch: ['stubborn-src'], ...debounce,
          wait_idle: { command: 'false', poll: '100ms', max_wait: '1s' },
        },
        {
          name: 'doomed', command: SLEEPER, watch: ['doomed-src'], ...debounce,
          wait_idle: { command: 'test -f doomed.flag', poll: '100ms', max_wait: '60s' },
        },
        {
          name: 'joiner', command: SLEEPER, watch: ['joiner-src'], ...debounce,
          wait_idle: { command: 'test -f joiner.flag', poll: '100ms', max_wait: '60s' },
        },
        { name: 'parked', command: SLEEPER, env: { V: '1' }, watch: ['parked-src'], ...debounce },
      ],
    };
    writeConfig(box, doc, STATE);
    await box.startSupervisor();
  });
  after(() => box?.cleanup());

  test('a change under a watched folder restarts that service after watch_debounce, with a watch_restart event', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    const changedAt = Date.now();
    appendFileSync(box.path('src/main.py'), 'v1\n');
    const [event] = await waitForEvents(box, 'watch_restart', since, 1, 'w');
    assert.deepEqual(event!.paths, ['src/main.py']);
    assert.ok(Date.parse(event!.time) - changedAt >= 150, `restart waited for the debounce: ${Date.parse(event!.time) - changedAt} ms`);
    const pid = await newPid(box, 'w', before.w!);
    assert.ok(!alive(before.w!));
    assert.ok(alive(pid));
    assertSamePids(box, before, ['g', 'idle', 'chatty']);
  });

  test('ignored files (watch_ignore **/*.log, node_modules, .git, __pycache__, *.pyc) restart nothing', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    writeFileSync(box.path('src/app.log'), 'log\n');
    writeFileSync(box.path('src/sub/deep.log'), 'log\n');
    appendFileSync(box.path('src/node_modules/pkg/index.js'), 'v1\n');
    writeFileSync(box.path('src/node_modules/pkg/new.js'), 'new\n');
    appendFileSync(box.path('src/.git/HEAD'), 'v1\n');
    writeFileSync(box.path('src/__pycache__/main.cpython-311.pyc'), 'pyc\n');
    writeFileSync(box.path('src/sub/util.pyc'), 'pyc\n');
    await delay(QUIET_MS);
    assert.deepEqual(eventsSince(box, 'watch_restart', since), []);
    assertSamePids(box, before, ['w', 'g', 'idle', 'chatty']);

    // the watcher is still alive: a real change right after still restarts
    appendFileSync(box.path('src/sub/util.py'), 'v1\n');
    const [event] = await waitForEvents(box, 'watch_restart', since, 1, 'w');
    assert.deepEqual(event!.paths, ['src/sub/util.py']);
    await newPid(box, 'w', before.w!);
  });

  test('a burst of 20 writes in a second gives one restart', async () => {
    await box.waitForState('w', 'running');
    const before = pids(box);
    const since = new Date().toISOString();
    const gaps = await burst(20, 40, (write) => appendFileSync(box.path(`src/burst${write % 7}.py`), `${write}\n`));
    const [event] = await waitForEvents(box, 'watch_restart', since, 1, 'w');
    const pid = await newPid(box, 'w', before.w!);
    await delay(QUIET_MS);
    assert.equal(eventsSince(box, 'watch_restart', since, 'w').length, 1, `one watch_restart (longest gap between writes ${gaps} ms)`);
    assert.equal(eventsSince(box, 'started', since, 'w').length, 1, 'one restart');
    assert.equal(pids(box).w, pid);
    const paths = event!.paths as string[];
    assert.ok(paths.length >= 1 && paths.length <= 5, `the first few paths: ${paths}`);
    assert.ok(paths.every((path) => /^src\/burst\d\.py$/.test(path)), String(paths));
    assertSamePids(box, before, ['g', 'idle', 'chatty']);
  });

  test('a glob watch (lib/**/*.py): matching files restart, others do not, new folders are followed', async () => {
    let before = pids(box);
    let since = new Date().toISOString();
    appendFileSync(box.path('lib/a/readme.txt'), 'v1\n');
    writeFileSync(box.path('lib/notes.md'), 'x\n');
    await delay(QUIET_MS);
    assert.deepEqual(eventsSince(box, 'watch_restart', since), []);
    assertSamePids(box, before, ['g']);

    appendFileSync(box.path('lib/a/x.py'), 'v1\n');
    let [event] = await waitForEvents(box, 'watch_restart', since, 1, 'g');
    assert.deepEqual(event!.paths, ['lib/a/x.py']);
    await newPid(box, 'g', before.g!);

    before = pids(box);
    since = new Date().toISOString();
    mkdirSync(box.path('lib/b/c'), { recursive: true });
    await delay(300);
    writeFileSync(box.path('lib/b/c/new.py'), 'new\n');
    [event] = await waitForEvents(box, 'watch_restart', since, 1, 'g');
    assert.deepEqual(event!.paths, ['lib/b/c/new.py']);
    await newPid(box, 'g', before.g!);
    assertSamePids(box, before, ['w', 'idle', 'chatty']);
  });

  test('wait_idle: a busy service keeps running with pending_restart, a reload joins it, one restart once idle', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    appendFileSync(box.path('idle-src/job.py'), 'v1\n');
    await waitForEvents(box, 'watch_restart', since, 1, 'idle');
    await waitFor(() => box.service('idle')?.pending_restart, 10_000, 'pending_restart in state.json');
    const pending = (await statusJson(box)).services.find((s) => s.name === 'idle')!;
    assert.ok(pending.pending_restart, 'pending_restart in status --json');
    assert.match(pending.pending_restart!, /watch/);
    assert.equal(pending.state, 'running');
    assert.equal(pending.pid, before.idle);
    assert.ok(alive(before.idle!));
    const table = await box.cli(['status']);
    assert.match(table.stdout, /idle\s+running \(restart pending: /);

    // a reload changing it while it is busy: answered at once, does not cut the job off, joins the pending restart
    doc.services[2]!.env = { V: '2' };
    writeConfig(box, doc, STATE);
    const reload = await box.cli(['reload'], { timeoutMs: 20_000 });
    assert.equal(reload.code, 0, reload.stderr);
    assert.ok(reload.ms < 5_000, `reload answered without waiting for idle: ${reload.ms} ms`);
    assert.match(reload.stdout, /changed idle/);
    await delay(500);
    assert.equal(pids(box).idle, before.idle, 'still the old process while busy');
    assert.ok(alive(before.idle!));
    assert.ok((await statusJson(box)).services.find((s) => s.name === 'idle')?.pending_restart);
    assert.equal(eventsSince(box, 'stopped', since, 'idle').length, 0);

    writeFileSync(box.path('idle.flag'), '');
    const pid = await newPid(box, 'idle', before.idle!);
    assert.equal(environOf(pid).V, '2', 'the restart runs the reloaded definition');
    const [idleWait] = await waitForEvents(box, 'idle_wait', since, 1, 'idle');
    assert.equal(idleWait!.idle, true);
    await delay(QUIET_MS);
    assert.equal(eventsSince(box, 'started', since, 'idle').length, 1, 'one restart for both requests');
    assert.equal(pids(box).idle, pid);
    const after = (await statusJson(box)).services.find((s) => s.name === 'idle');
    assert.equal(after?.pending_restart ?? null, null);
    assertSamePids(box, before, ['w', 'g', 'chatty']);
  });

  test('wait_idle max_wait: a service that never gets idle is restarted anyway after max_wait', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    appendFileSync(box.path('stubborn-src/job.py'), 'v1\n');
    const [watched] = await waitForEvents(box, 'watch_restart', since, 1, 'stubborn');
    await delay(500);
    assert.equal(pids(box).stubborn, before.stubborn, 'still waiting for idle half way through max_wait');
    const pid = await newPid(box, 'stubborn', before.stubborn!);
    const [idleWait] = await waitForEvents(box, 'idle_wait', since, 1, 'stubborn');
    assert.equal(idleWait!.idle, false);
    const [started] = await waitForEvents(box, 'started', since, 1, 'stubborn');
    const waited = Date.parse(started!.time) - Date.parse(watched!.time);
    assert.ok(waited >= 900 && waited < 5_000, `restarted after max_wait 1s: ${waited} ms`);
    assert.ok(alive(pid));
  });

  test('a service that crashed on bad code comes back when the fix is saved', async () => {
    const failed = await box.waitForState('crashy', 'failed');
    assert.equal(failed.last_exit?.code, 1);
    const since = new Date().toISOString();
    writeFileSync(box.path('crashy-src/state.txt'), 'ok\n');
    await waitForEvents(box, 'watch_restart', since, 1, 'crashy');
    const running = await box.waitForState('crashy', 'running');
    assert.ok(alive(running.pid!));
  });

  test('a reload that changes watch re-targets the watcher: a single file, saved by rename, is followed', async () => {
    let before = pids(box);
    let since = new Date().toISOString();
    doc.services[1]!.watch = ['lib/a/x.py'];
    writeConfig(box, doc, STATE);
    const reload = await box.cli(['reload'], { timeoutMs: 20_000 });
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(reload.stdout, /changed g;/);
    await newPid(box, 'g', before.g!);

    before = pids(box);
    since = new Date().toISOString();
    appendFileSync(box.path('lib/b/c/new.py'), 'v1\n');
    appendFileSync(box.path('lib/a/readme.txt'), 'v2\n');
    await delay(QUIET_MS);
    assert.deepEqual(eventsSince(box, 'watch_restart', since, 'g'), [], 'no longer watched');
    assertSamePids(box, before, ['g']);

    for (const round of [1, 2]) {
      before = pids(box);
      since = new Date().toISOString();
      writeFileSync(box.path('lib/a/.x.py.tmp'), `saved by rename ${round}\n`);
      renameSync(box.path('lib/a/.x.py.tmp'), box.path('lib/a/x.py'));
      const [event] = await waitForEvents(box, 'watch_restart', since, 1, 'g');
      assert.deepEqual(event!.paths, ['lib/a/x.py'], `round ${round}`);
      await newPid(box, 'g', before.g!);
    }
  });

  test('a service removed from the config while its restart waits for idle stays gone when it gets idle', async () => {
    const before = pids(box);
    let since = new Date().toISOString();
    appendFileSync(box.path('doomed-src/job.py'), 'v1\n');
    await waitFor(() => box.service('doomed')?.pending_restart, 10_000, 'doomed pending');
    doc.services = doc.services.filter((service) => service.name !== 'doomed');
    writeConfig(box, doc, STATE);
    const reload = await box.cli(['reload'], { timeoutMs: 20_000 });
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(reload.stdout, /removed doomed;/);
    await waitFor(() => !alive(before.doomed!), 5_000, 'the removed service stopped');
    since = new Date().toISOString();
    writeFileSync(box.path('doomed.flag'), '');
    await delay(QUIET_MS);
    assert.deepEqual(eventsSince(box, 'started', since, 'doomed'), [], 'not started again');
    assert.deepEqual(box.serviceProcesses('doomed'), [], 'no process of the removed service');
    assert.equal(box.service('doomed'), undefined);
  });

  test('restart SERVICE while a watch restart waits for idle makes the pending one pointless: one restart', async () => {
    const before = pids(box);
    const since = new Date().toISOString();
    appendFileSync(box.path('joiner-src/job.py'), 'v1\n');
    await waitFor(() => box.service('joiner')?.pending_restart, 10_000, 'joiner pending');
    const restart = await box.cli(['restart', 'joiner']);
    assert.equal(restart.code, 0, restart.stderr);
    const pid = await newPid(box, 'joiner', before.joiner!);
    writeFileSync(box.path('joiner.flag'), '');
    await delay(QUIET_MS);
    assert.equal(eventsSince(box, 'started', since, 'joiner').length, 1, 'the user restart already ran the new code');
    assert.equal(pids(box).joiner, pid);
    assert.equal((await statusJson(box)).services.find((s) => s.name === 'joiner')?.pending_restart ?? null, null);
  });

  test('a service the user stopped stays stopped: neither a watched change nor a reload that changes it starts it', async () => {
    const before = pids(box);
    const stop = await box.cli(['stop', 'parked']);
    assert.equal(stop.code, 0, stop.stderr);
    await waitFor(() => !alive(before.parked!), 5_000, 'parked stopped');
    let since = new Date().toISOString();
    appendFileSync(box.path('parked-src/job.py'), 'v1\n');
    await delay(QUIET_MS);
    assert.deepEqual(eventsSince(box, 'started', since, 'parked'), [], 'a save does not undo the user stop');
    assert.equal(box.service('parked')?.state, 'stopped');

    since = new Date().toISOString();
    doc.services.find((service) => service.name === 'parked')!.env = { V: '2' };
    writeConfig(box, doc, STATE);
    const reload = await box.cli(['reload'], { timeoutMs: 20_000 });
    assert.equal(reload.code, 0, reload.stderr);
    await delay(500);
    assert.deepEqual(eventsSince(box, 'started', since, 'parked'), [], 'a reload does not undo the user stop');
    assert.equal(box.service('parked')?.state, 'stopped');
    assert.deepEqual(box.serviceProcesses('parked'), []);
  });

  test('a service watching the folder that holds the state dir is never restarted by its own logs', async () => {
    const logs = join(box.stateDir, 'logs');
    const files = readdirSync(logs).filter((name) => name.startsWith('chatty'));
    assert.ok(files.some((name) => statSync(join(logs, name)).size > 0), `chatty wrote logs: ${files}`);
    assert.equal(box.eventsOf('chatty', 'watch_restart').length, 0);
    assert.equal(box.eventsOf('chatty', 'started').length, 1);
  });
});

describe('source watching: a tree of 10,000 files costs almost no CPU while idle', SUITE, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  let startupMs = 0;

  before(async () => {
    box = new Sandbox([{ name: 'big', command: SLEEPER, watch: ['tree'], watch_debounce: '200ms' }]);
    for (let folder = 0; folder < 100; folder++) {
      const dir = box.path('tree', `d${String(folder).padStart(3, '0')}`);
      mkdirSync(dir, { recursive: true });
      for (let file = 0; file < 100; file++) writeFileSync(join(dir, `f${String(file).padStart(3, '0')}.py`), `# ${folder}/${file}\n`);
    }
    const started = Date.now();
    supervisor = await box.startSupervisor({ timeoutMs: 60_000 });
    startupMs = Date.now() - started;
  });
  after(() => box?.cleanup());

  test('idle CPU over 5 s < 5% of one core; a change in the tree still restarts', async (t) => {
    await delay(500); // let startup work settle
    const first = cpuTicks(supervisor.pid);
    const started = performance.now();
    await delay(5_000);
    const used = cpuTicks(supervisor.pid) - first;
    const seconds = (performance.now() - started) / 1000;
    const share = used / CLOCK_TICKS_PER_S / seconds;
    t.diagnostic(`idle supervisor CPU with 10,000 watched files: ${used} ticks in ${seconds.toFixed(2)} s = ${(share * 100).toFixed(2)}% of one core (startup incl. scan ${startupMs} ms)`);
    assert.ok(share < 0.05, `${(share * 100).toFixed(2)}% of one core`);

    const before = pids(box);
    const since = new Date().toISOString();
    appendFileSync(box.path('tree/d050/f050.py'), 'changed\n');
    const [event] = await waitForEvents(box, 'watch_restart', since, 1, 'big');
    assert.deepEqual(event!.paths, ['tree/d050/f050.py']);
    await newPid(box, 'big', before.big!);
  });
});
