/**
 * install-hook / uninstall-hook jupyter and systemd through ./restart-control.ts, against the real programs: a real
 * Jupyter server, systemd-analyze verify (cron: hook-cron.test.ts). A test whose program is missing says why and is skipped.
 */
import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { findProgram } from '../../lib/boot/exec.ts';
import { freePort, makeTempDir, waitFor } from '../helpers.ts';
import { CLI, ROOT, RUN, Sandbox, alive, cleanEnv, killQuietly, runCommand } from '../support.ts';

const temp = makeTempDir('rc-hooks-');
after(() => temp.remove());

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCommand(CLI, args, { cwd: temp.path, env: cleanEnv(env), timeoutMs: 30_000 });
}


describe('install-hook jupyter', () => {
  const PYTHON = '/usr/bin/python3';
  function jupyterMissing(): string | null {
    if (!existsSync(PYTHON)) return `${PYTHON} not found`;
    const check = spawnSync(PYTHON, ['-m', 'jupyter_server', '--version'], { encoding: 'utf8' });
    return check.status === 0 ? null : 'python3 -m jupyter_server failed: install the Debian package python3-jupyter-server';
  }

  function jupyterEnv(home: string): NodeJS.ProcessEnv {
    return { HOME: home, JUPYTER_CONFIG_DIR: join(home, '.jupyter'), JUPYTER_DATA_DIR: join(home, 'data'), JUPYTER_RUNTIME_DIR: join(home, 'runtime') };
  }

  it('a real Jupyter server started in a temp home starts our supervisor, which serves the services', async (t: TestContext) => {
    const missing = jupyterMissing();
    if (missing) {
      t.skip(missing);
      return;
    }
    const port = await freePort();
    const sandbox = new Sandbox([{ name: 'web', command: [process.execPath, join(ROOT, 'templates/demo/http-server.mjs')], env: { PORT: String(port) } }]);
    t.after(() => sandbox.cleanup());
    const home = temp.fresh();
    const env = jupyterEnv(home);
    const installed = await sandbox.cli(['install-hook', 'jupyter'], { env: cleanEnv(env) });
    assert.equal(installed.code, 0, installed.stderr);
    const file = join(home, '.jupyter', 'jupyter_server_config.py');
    assert.match(installed.stdout, new RegExp(`installed the start-up hook in ${file}`));
    assert.match(installed.stdout, /Colab .*first cell:\n {2}!NODE=.*run\.ts' --config '.*' --detach\n/);

    const jupyterPort = await freePort();
    const server = spawn(PYTHON, ['-m', 'jupyter_server', '--allow-root', '--no-browser', `--port=${jupyterPort}`, '--ServerApp.token=test', '--ServerApp.port_retries=0'], {
      cwd: home, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    server.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    t.after(async () => {
      killQuietly(server.pid!, 'SIGTERM');
      await waitFor(() => server.exitCode !== null || server.signalCode !== null, 10_000, 'jupyter to exit').catch(() => killQuietly(server.pid!, 'SIGKILL'));
    });
    const http = async (url: string) => {
      try {
        const response = await fetch(url);
        return response.ok ? await response.json() as Record<string, unknown> : null;
      } catch {
        return null;
      }
    };
    // The Jupyter server itself comes up (the hook neither failed nor blocked it)...
    await waitFor(() => http(`http://127.0.0.1:${jupyterPort}/api/status?token=test`), 30_000, `jupyter to answer\n${output}`, 100);
    // ...and the supervisor it started serves the service
    const answer = await waitFor(() => http(`http://127.0.0.1:${port}/`), 30_000, `the web service to answer\n${output}`, 100);
    assert.equal(answer.ok, true);
    assert.match(readFileSync(join(sandbox.stateDir, 'hook.log'), 'utf8'), /supervisor started/);
    const pid = Number(readFileSync(join(sandbox.stateDir, 'supervisor.pid'), 'utf8'));
    assert.ok(alive(pid));
  });

  it('idempotent, two configs coexist, uninstall removes exactly its own block; the file stays valid Python', async (t) => {
    const home = temp.fresh();
    const env = cleanEnv(jupyterEnv(home));
    const file = join(home, '.jupyter', 'jupyter_server_config.py');
    mkdirSync(join(home, '.jupyter'));
    const own = 'c = get_config()  # noqa\nc.ServerApp.ip = "127.0.0.1"\n';
    writeFileSync(file, own);
    const a = new Sandbox([{ name: 'a', command: 'true' }]);
    const b = new Sandbox([{ name: 'b', command: 'true' }]);
    t.after(() => a.cleanup());
    t.after(() => b.cleanup());
    const dry = await a.cli(['install-hook', 'jupyter', '--dry-run'], { env });
    assert.match(dry.stdout, /would change .*dry run, nothing changed/);
    assert.equal(readFileSync(file, 'utf8'), own);
    for (const sandbox of [a, a, b]) assert.equal((await sandbox.cli(['install-hook', 'jupyter'], { env })).code, 0);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith(own));
    assert.equal(text.split(`# >>> restart-control: ${a.configFile} >>>`).length, 2, 'one block for a');
    assert.equal(text.split(`# >>> restart-control: ${b.configFile} >>>`).length, 2, 'one block for b');
    if (existsSync('/usr/bin/python3')) {
      const parsed = spawnSync('/usr/bin/python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', file], { encoding: 'utf8' });
      assert.equal(parsed.status, 0, parsed.stderr);
    }
    assert.equal((await a.cli(['uninstall-hook', 'jupyter'], { env })).code, 0);
    const afterA = readFileSync(file, 'utf8');
    assert.ok(!afterA.includes(a.configFile) && afterA.includes(`# <<< restart-control: ${b.configFile} <<<`));
    await b.cli(['uninstall-hook', 'jupyter'], { env });
    assert.equal(readFileSync(file, 'utf8'), own);
  });
});

describe('install-hook systemd', () => {
  function verify(file: string, user: boolean): { code: number | null; output: string } {
    const runtime = temp.fresh();
    const result = spawnSync('systemd-analyze', [...(user ? ['--user'] : []), 'verify', file], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
    return { code: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('writes a --user unit that systemd-analyze verify accepts; prints the systemctl commands without systemd', async (t) => {
    if (!findProgram('systemd-analyze', process.env)) {
      t.skip('systemd-analyze not found: install the Debian package systemd');
      return;
    }
    const home = temp.fresh();
    const env = cleanEnv({ HOME: home, XDG_CONFIG_HOME: '' });
    const sandbox = new Sandbox([{ name: 'slow', command: 'exec sleep 100', stop_timeout: 45 }, { name: 'quick', command: 'exec sleep 100' }]);
    t.after(() => sandbox.cleanup());
    const first = await sandbox.cli(['install-hook', 'systemd'], { env });
    assert.equal(first.code, 0, first.stderr);
    const dir = join(home, '.config', 'systemd', 'user');
    const [name] = readdirSync(dir);
    assert.match(name!, /^restart-control-restart-control-[0-9a-f]{8}\.service$/);
    const file = join(dir, name!);
    const unit = readFileSync(file, 'utf8');
    assert.ok(unit.startsWith(`# restart-control: ${sandbox.configFile}\n`));
    assert.match(unit, new RegExp(`^ExecStart=${RUN} --config ${sandbox.configFile}$`, 'm'), 'foreground: no --detach');
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(unit, /^KillMode=mixed$/m);
    assert.match(unit, /^TimeoutStopSec=75$/m, 'above the largest stop_timeout (45 s)');
    assert.match(unit, /^WantedBy=default\.target$/m);
    if (!existsSync('/run/systemd/system')) {
      assert.match(first.stdout, new RegExp(`systemctl --user daemon-reload\n {2}systemctl --user enable --now ${name}\n`));
    }
    const checked = verify(file, true);
    assert.equal(checked.code, 0, checked.output);
    assert.doesNotMatch(checked.output, new RegExp(name!), checked.output);

    const again = await sandbox.cli(['install-hook', 'systemd'], { env });
    assert.match(again.stdout, /already installed/);
    assert.equal(readdirSync(dir).length, 1);

    // ExecCondition: start only when no supervisor runs for this config (e.g. one started by cron)
    const condition = unit.match(/^ExecCondition=\/bin\/sh -c "(.*)" (\S+) (\S+)$/m);
    assert.ok(condition, unit);
    const script = condition[1]!.replaceAll('\\"', '"').replaceAll('$$', '$');
    const runCondition = () => runCommand('/bin/sh', ['-c', script, condition[2]!, condition[3]!], { env: cleanEnv() });
    assert.equal((await runCondition()).code, 0, 'no supervisor: start');
    await sandbox.startSupervisor();
    assert.equal((await runCondition()).code, 1, 'a supervisor runs: skip');

    const removed = await sandbox.cli(['uninstall-hook', 'systemd'], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('--system --dry-run prints a multi-user unit that verify accepts and writes nothing', async (t) => {
    if (!findProgram('systemd-analyze', process.env)) {
      t.skip('systemd-analyze not found: install the Debian package systemd');
      return;
    }
    if (process.getuid?.() !== 0) {
      t.skip('--system needs root');
      return;
    }
    const sandbox = new Sandbox([{ name: 'x', command: 'exec sleep 100' }]);
    t.after(() => sandbox.cleanup());
    const result = await sandbox.cli(['install-hook', 'systemd', '--system', '--dry-run']);
    assert.equal(result.code, 0, result.stderr);
    const path = result.stdout.match(/\+ write (\S+):/)?.[1] ?? '';
    assert.ok(path?.startsWith('/etc/systemd/system/restart-control-'), result.stdout);
    assert.equal(existsSync(path), false);
    const unit = result.stdout.split('\n').filter((line) => line.startsWith('    ')).map((line) => line.slice(4)).join('\n');
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    assert.match(result.stdout, /systemctl daemon-reload\n {2}systemctl enable --now /);
    const file = join(temp.fresh(), path.split('/').pop()!);
    writeFileSync(file, `${unit}\n`);
    const checked = verify(file, false);
    assert.equal(checked.code, 0, checked.output);
    assert.doesNotMatch(checked.output, /restart-control-/, checked.output);
  });
});

describe('hook usage', () => {
  it('an invalid config is refused before anything is installed (exit 2, file:line)', async (t) => {
    const home = temp.fresh();
    const sandbox = new Sandbox([{ name: 'x', command: 'true', restart_sec: 'abc' }]);
    t.after(() => sandbox.cleanup());
    const result = await sandbox.cli(['install-hook', 'jupyter'], { env: cleanEnv({ HOME: home, JUPYTER_CONFIG_DIR: join(home, 'j') }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /restart-control\.yaml:\d+: services\[0\]\.restart_sec: expected a duration/);
    assert.equal(existsSync(join(home, 'j')), false);
  });

  it('bad kinds and flag combinations: exit 2', async () => {
    assert.equal((await cli(['install-hook', 'launchd'])).code, 2);
    assert.equal((await cli(['install-hook', 'cron', '--system'])).code, 2);
    assert.equal((await cli(['uninstall-hook', 'systemd', '--system', '--user'])).code, 2);
  });

  it('jupyter: the block goes where `jupyter --config-dir` says', async (t) => {
    const dir = temp.fresh();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // A stand-in for the jupyter command, which the Debian packages here do not put on PATH
    writeFileSync(join(bin, 'jupyter'), `#!/bin/sh\n[ "$1" = --config-dir ] && echo ${join(dir, 'from-jupyter')}\n`);
    chmodSync(join(bin, 'jupyter'), 0o755);
    const sandbox = new Sandbox([{ name: 'x', command: 'true' }]);
    t.after(() => sandbox.cleanup());
    const result = await sandbox.cli(['install-hook', 'jupyter'], { env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: dir }) });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(join(dir, 'from-jupyter', 'jupyter_server_config.py')), result.stdout);
  });
});
