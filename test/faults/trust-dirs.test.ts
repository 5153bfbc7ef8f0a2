/**
 * Faults: folders and files the supervisor must not trust. Real ./run.ts, real folders, modes and symlinks.
 * Each test builds its repro: a world-writable or foreign state_dir, a symlink planted in logs/, a long state_dir.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { unsafeDirReason } from '../../lib/core/secure-fs.ts';
import { waitFor, makeTempDir } from '../helpers.ts';
import { cleanEnv, sandbox } from '../support.ts';

const SUITE = { timeout: 120_000 };
const TALKER = `i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.05; done`;

const mode = (path: string) => statSync(path).mode & 0o7777;

describe('state_dir and logs dir', SUITE, () => {
  test('a group- or world-writable state_dir without the sticky bit is refused with one clear line; the sticky bit is accepted', async (t) => {
    const box = sandbox(t, [{ name: 'a', command: 'exec sleep 1000' }]);
    mkdirSync(box.stateDir, { mode: 0o700 });
    chmodSync(box.stateDir, 0o777);
    const refused = await box.run([]);
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stderr, /state_dir .*state is writable by everyone \(mode 777\) without the sticky bit: refusing to use it/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.equal(existsSync(join(box.stateDir, 'state.json')), false, 'nothing written into it');
    chmodSync(box.stateDir, 0o770);
    assert.match((await box.run([])).stderr, /writable by its group \(mode 770\)/);
    // /tmp-like folders (sticky) are fine: nobody else can replace what we create there
    assert.equal(unsafeDirReason(box.dir), null);
    chmodSync(box.stateDir, 0o1777);
    assert.equal(unsafeDirReason(box.stateDir), null);
  });

  test('a state_dir or logs dir owned by another user is refused', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to chown a folder to another user');
    const box = sandbox(t, [{ name: 'a', command: 'exec sleep 1000' }]);
    mkdirSync(box.stateDir, { mode: 0o700 });
    chownSync(box.stateDir, 65534, 65534);
    const refused = await box.run([]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /state_dir .* is owned by uid 65534, not by this user \(uid 0\)/);
    chownSync(box.stateDir, 0, 0);
    mkdirSync(join(box.stateDir, 'logs'), { mode: 0o700 });
    chownSync(join(box.stateDir, 'logs'), 65534, 65534);
    assert.match((await box.run([])).stderr, /logs dir .*logs is owned by uid 65534/);
  });

  test('created with mode 0700; state files and pid files 0600, logs 0640, no temp file left behind', async (t) => {
    const box = sandbox(t, [{ name: 'a', command: TALKER }]);
    const supervisor = await box.startSupervisor();
    const files = ['pids/a.pid', 'logs/a.log', 'logs/restart.log', 'events.jsonl'];
    await waitFor(() => files.every((file) => existsSync(join(box.stateDir, file))), 5000, 'state and log files');
    assert.equal(mode(box.stateDir), 0o700);
    assert.equal(mode(join(box.stateDir, 'logs')), 0o700);
    assert.equal(mode(join(box.stateDir, 'pids')), 0o700);
    for (const file of ['state.json', 'supervisor.pid', 'pids/a.pid']) assert.equal(mode(join(box.stateDir, file)), 0o600, file);
    for (const file of ['events.jsonl', 'logs/a.log', 'logs/restart.log']) assert.equal(mode(join(box.stateDir, file)), 0o640, file);
    assert.deepEqual(readdirSync(box.stateDir).filter((name) => name.endsWith('.tmp')), []);
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;
  });
});

describe('a symlink planted in logs/', SUITE, () => {
  test('at logs/<svc>.log before the start, and again while it runs: the target is never written; log_error, then recovery', async (t) => {
    const box = sandbox(t, [{ name: 'a', command: TALKER }]);
    const victim = box.path('victim.txt');
    writeFileSync(victim, 'precious\n');
    const logFile = join(box.stateDir, 'logs', 'a.log');
    mkdirSync(join(box.stateDir, 'logs'), { recursive: true, mode: 0o700 });
    symlinkSync(victim, logFile);
    const supervisor = await box.startSupervisor();
    const [error] = await box.waitForEvent('a', 'log_error');
    assert.match(String(error!.reason), /is a symbolic link: refusing to write through it/);
    await box.waitForEvent('a', 'started');
    // The service keeps running and talking: the supervisor never followed the link
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');

    unlinkSync(logFile);
    await box.waitForEvent('a', 'log_recovered');
    await waitFor(() => /line \d+/.test(readFileSync(logFile, 'utf8')), 5000, 'lines in the real log');

    // Planted again while the file is open: the identity check drops the fd, the reopen refuses the link
    const errorsBefore = box.eventsOf('a', 'log_error').length;
    unlinkSync(logFile);
    symlinkSync(victim, logFile);
    await box.waitForEvent('a', 'log_error', errorsBefore + 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;
  });
});

describe('the socket fallback', SUITE, () => {
  test('a state_dir too long for a unix socket: the socket lives in a private 0700 folder of TMPDIR, and the CLI reaches it', async (t) => {
    const tmp = makeTempDir('rc-tmpdir-');
    t.after(() => tmp.remove());
    const box = sandbox(t, [{ name: 'a', command: 'exec sleep 1000' }], { stateDir: `state-${'x'.repeat(110)}` });
    const env = { TMPDIR: tmp.path };
    // The test's own ping (readiness) computes the socket path too: same TMPDIR
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp.path;
    t.after(() => { if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved; });
    const supervisor = await box.startSupervisor({ env });
    const folder = join(tmp.path, `restart-control-${process.getuid?.()}`);
    assert.equal(mode(folder), 0o700);
    const sockets = readdirSync(folder);
    assert.equal(sockets.length, 1);
    assert.match(sockets[0]!, /^[0-9a-f]{16}\.sock$/);
    assert.deepEqual(readdirSync(tmp.path).filter((name) => name.endsWith('.sock')), [], 'no socket under a predictable name in the shared temp dir');
    const status = await box.cli(['stop', 'a'], { env: cleanEnv(env) });
    assert.equal(status.code, 0, status.stderr);
    process.kill(supervisor.pid, 'SIGTERM');
    await supervisor.exited;

    // Someone else made the folder writable for all: neither end uses it
    chmodSync(folder, 0o777);
    const cli = await box.cli(['stop', 'a'], { env: cleanEnv(env) });
    assert.notEqual(cli.code, 0);
    const refused = await box.run([], { env: cleanEnv(env) });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /control socket folder .* is writable by everyone \(mode 777\) without the sticky bit/);
    rmSync(folder, { recursive: true, force: true });
  });
});
