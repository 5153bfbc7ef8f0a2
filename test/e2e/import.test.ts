/**
 * `import` through ./restart-control.ts as a user runs it: the result passes `config --check`, warnings go to stderr,
 * --out/--force, exit 2 for bad files, and a config supervisord itself runs imports and runs under ./run.ts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { findProgram } from '../../lib/boot/exec.ts';
import { freePort, makeTempDir, waitFor } from '../helpers.ts';
import { CLI, FIXTURES, ROOT, Sandbox, cleanEnv, killQuietly, runCommand } from '../support.ts';

const DIR = join(FIXTURES, 'import');
const temp = makeTempDir('rc-import-');
after(() => temp.remove());

function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  return runCommand(CLI, args, { cwd: options.cwd ?? temp.path, env: cleanEnv(options.env), timeoutMs: options.timeoutMs ?? 30_000 });
}


/** Copies fixture files into a fresh folder (with the #10 keys taken out), so imported cwd paths exist there. */
function copyFixtures(files: string[]): string {
  const dir = temp.fresh();
  for (const file of files) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), readFileSync(join(DIR, file), 'utf8'));
  }
  return dir;
}

describe('import through the CLI', () => {
  const examples: Array<{ format: string; files: string[]; warnings: number }> = [
    { format: 'pm2', files: ['ecosystem.config.js', 'package.json'], warnings: 3 },
    { format: 'pm2', files: ['ecosystem.config.json'], warnings: 0 },
    { format: 'pm2', files: ['ecosystem.config.yaml'], warnings: 0 },
    { format: 'supervisord', files: ['supervisord.conf', 'conf.d/extra.conf'], warnings: 2 },
    { format: 'procfile', files: ['Procfile', '.env'], warnings: 0 },
  ];
  for (const { format, files, warnings } of examples) {
    it(`${format} ${files[0]}: --out writes a config that passes config --check; ${warnings} warning line(s)`, async () => {
      const dir = copyFixtures(files);
      const out = join(dir, 'restart-control.yaml');
      const result = await cli(['import', format, files[0]!, '--out', out], { cwd: dir, env: { WEB_PORT: '8123' } });
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, warnings, result.stderr);
      assert.ok(lines.every((line) => line.startsWith('warning: ')), result.stderr);
      assert.match(result.stdout, new RegExp(`^wrote ${out}`));
      const check = await cli(['config', '--check', '--config', out], { cwd: dir });
      assert.equal(check.code, 0, `${check.stdout}${check.stderr}\n${readFileSync(out, 'utf8')}`);
    });
  }

  it('the #10 keys are written (max_memory, success_exit_codes) to stdout', async () => {
    const pm2 = await cli(['import', 'pm2', join(DIR, 'ecosystem.config.js')]);
    assert.equal(pm2.code, 0, pm2.stderr);
    assert.match(pm2.stdout, /^ {4}max_memory: 300MB$/m);
    assert.match(pm2.stdout, /^ {4}success_exit_codes: \[3\]$/m);
    const supervisord = await cli(['import', 'supervisord', join(DIR, 'supervisord.conf')], { env: { WEB_PORT: '1' } });
    assert.equal(supervisord.code, 0, supervisord.stderr);
    assert.match(supervisord.stdout, /^ {4}success_exit_codes: \[2\]$/m);
  });

  it('--out refuses to overwrite an existing file without --force', async () => {
    const dir = temp.fresh();
    const out = join(dir, 'restart-control.yaml');
    writeFileSync(out, 'mine\n');
    const refused = await cli(['import', 'procfile', join(DIR, 'Procfile'), '--out', out], { cwd: dir });
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `error: ${out} already exists; use --force to overwrite it\n`);
    assert.equal(readFileSync(out, 'utf8'), 'mine\n');
    const forced = await cli(['import', 'procfile', join(DIR, 'Procfile'), '--out', 'restart-control.yaml', '--force'], { cwd: dir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(out, 'utf8'), /- name: web/);
  });

  it('a file that cannot be read as the format: exit 2 with file:line', async () => {
    for (const [format, file, message] of [
      ['pm2', 'bad/bad.json', 'error: bad.json:3: not valid JSON'],
      ['supervisord', 'bad/supervisord.conf', 'error: supervisord.conf:3: expected "key = value" or a [section]'],
      ['procfile', 'bad/Procfile', 'error: Procfile:2: expected "name: command"'],
    ] as const) {
      const result = await cli(['import', format, join(DIR, file)]);
      assert.equal(result.code, 2, `${file}: ${result.stderr}`);
      assert.ok(result.stderr.startsWith(message), result.stderr);
      assert.equal(result.stdout, '');
    }
    const unknown = await cli(['import', 'forever', join(DIR, 'Procfile')]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /expected one of pm2\|supervisord\|procfile/);
  });

  it('a pm2 .js that never finishes is killed after the timeout (exit 2); the CLI never ran it itself', async () => {
    const result = await cli(['import', 'pm2', join(DIR, 'bad/hang.config.js')], { timeoutMs: 30_000 });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: hang\.config\.js: evaluating it took longer than 10s$/m);
    const exits = await cli(['import', 'pm2', join(DIR, 'bad/exits.config.js')]);
    assert.equal(exits.code, 2, 'process.exit(5) in the file ends the child, not the CLI');
  });
});

describe('imported services run under ./run.ts', () => {
  it('a config supervisord itself runs (echo_supervisord_conf + programs) imports and runs', async (t) => {
    const echo = findProgram('echo_supervisord_conf', process.env);
    const supervisord = findProgram('supervisord', process.env);
    if (!echo || !supervisord) {
      t.skip('echo_supervisord_conf or supervisord not found: install the Debian package supervisor');
      return;
    }
    const dir = temp.fresh();
    const port = await freePort();
    const sample = await runCommand(echo, [], { cwd: dir });
    // supervisord's own files go to this test's folder, not /tmp where another supervisord may live
    const conf = sample.stdout.replaceAll('/tmp/', `${dir}/`) + [
      '',
      '[program:web]',
      `command=${process.execPath} ${join(ROOT, 'templates/demo/http-server.mjs')}`,
      `environment=PORT="%(ENV_RC_IMPORT_PORT)s"`,
      'autorestart=true',
      'stopsignal=TERM',
      'stopwaitsecs=2',
      '',
      '[program:worker]',
      `command=/bin/sh ${join(FIXTURES, 'forever.sh')}`,
      'process_name=%(program_name)s_%(process_num)d',
      'numprocs=2',
      'stopasgroup=true',
      '',
    ].join('\n');
    const confFile = join(dir, 'supervisord.conf');
    writeFileSync(confFile, conf);

    // supervisord accepts it: it runs all three programs
    const env = cleanEnv({ RC_IMPORT_PORT: String(port), TMPDIR: dir });
    const daemon = spawn(supervisord, ['-n', '-c', confFile], { cwd: dir, env, stdio: 'ignore' });
    t.after(() => killQuietly(daemon.pid!, 'SIGKILL'));
    await waitFor(() => {
      const log = existsSync(join(dir, 'supervisord.log')) ? readFileSync(join(dir, 'supervisord.log'), 'utf8') : '';
      return ['web', 'worker_0', 'worker_1'].every((name) => log.includes(`success: ${name} entered RUNNING state`));
    }, 20_000, 'supervisord to run web, worker_0 and worker_1');
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon.once('exit', resolve));

    const sandbox = new Sandbox([], { stateDir: '.restart-control' });
    t.after(() => sandbox.cleanup());
    copyFileSync(confFile, join(sandbox.dir, 'supervisord.conf'));
    const imported = await cli(['import', 'supervisord', 'supervisord.conf', '--out', sandbox.configFile, '--force'], { cwd: sandbox.dir, env: { RC_IMPORT_PORT: String(port) } });
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(imported.stderr, '', 'everything in this config maps');
    const config = parse(readFileSync(sandbox.configFile, 'utf8')) as { services: Array<{ name: string }> };
    assert.deepEqual(config.services.map((service) => service.name), ['web', 'worker_0', 'worker_1']);

    await sandbox.startSupervisor();
    for (const name of ['web', 'worker_0', 'worker_1']) await sandbox.waitForState(name, 'running', 15_000);
    const answer = await waitFor(async () => {
      try {
        return await (await fetch(`http://127.0.0.1:${port}/`)).json() as { ok: boolean };
      } catch {
        return null;
      }
    }, 15_000, 'the imported web service to answer');
    assert.equal(answer.ok, true);
    const status = await sandbox.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
  });

  it('an imported Procfile runs, with the .env beside it', async (t) => {
    const sandbox = new Sandbox([], { stateDir: '.restart-control' });
    t.after(() => sandbox.cleanup());
    writeFileSync(join(sandbox.dir, 'Procfile'), `worker: echo "$GREETING"; exec /bin/sh ${join(FIXTURES, 'forever.sh')}\n`);
    writeFileSync(join(sandbox.dir, '.env'), 'GREETING="hello from .env"\n');
    const imported = await cli(['import', 'procfile', 'Procfile', '--out', sandbox.configFile, '--force'], { cwd: sandbox.dir });
    assert.equal(imported.code, 0, imported.stderr);
    await sandbox.startSupervisor();
    await sandbox.waitForState('worker', 'running');
    await waitFor(() => {
      const log = join(sandbox.stateDir, 'logs', 'worker.log');
      return existsSync(log) && readFileSync(log, 'utf8').includes('hello from .env');
    }, 10_000, 'the worker to print GREETING from .env');
  });
});
