/** The shipped templates and example scripts: configs that validate, scripts that run from any directory. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants, accessSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateRawConfig, type RawConfig } from '../../lib/config/schema.ts';
import { runHook } from '../../lib/schedule/hooks.ts';
import { validateCronExpression, validateTimezone } from '../../lib/schedule/timing.ts';
import { makeTempDir, waitFor } from '../helpers.ts';
import { CLI, FIXTURES, ROOT, alive, cleanEnv, runCommand } from '../support.ts';

const TEMPLATES = join(ROOT, 'templates');
const SCRIPTS = join(ROOT, 'scripts');
const TIMEOUT_MS = 30_000;
const yamlTemplates = readdirSync(TEMPLATES).filter((name) => name.endsWith('.yaml'));
const shellFiles = [
  ...readdirSync(TEMPLATES).filter((name) => name.endsWith('.sh')).map((name) => join(TEMPLATES, name)),
  ...readdirSync(SCRIPTS).filter((name) => name.endsWith('.sh')).map((name) => join(SCRIPTS, name)),
];
const tsScripts = readdirSync(SCRIPTS).filter((name) => name.endsWith('.ts')).map((name) => join(SCRIPTS, name));

const temp = makeTempDir('rc-templates-');
after(() => temp.remove());

interface Result { code: number | null; stdout: string; stderr: string }

/** Runs a file with `input` on stdin, from the temp dir (not the repo) unless told otherwise. */
function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<Result> {
  const child = spawn(file, args, { cwd: options.cwd ?? temp.path, env: options.env ?? cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  child.stdin.on('error', () => undefined); // EPIPE: the process may exit before reading its stdin.
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Recorded { method: string; url: string; headers: IncomingMessage['headers']; body: string }

/** A real HTTP server on 127.0.0.1 that records requests and answers with `respond`. */
async function startServer(respond: (request: Recorded, response: ServerResponse) => void): Promise<{ url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; });
    request.on('end', () => {
      const recorded = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body };
      requests.push(recorded);
      respond(recorded, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A port where nothing listens (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function loadTemplate(name: string): RawConfig {
  const result = validateRawConfig(parse(readFileSync(join(TEMPLATES, name), 'utf8')));
  if (!result.ok) assert.fail(`${name}: ${result.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return result.value;
}

describe('config templates', () => {
  for (const name of yamlTemplates) {
    it(`${name} passes the schema and its cross-references hold`, () => {
      const config = loadTemplate(name);
      const names = config.services.map((service) => service.name);
      assert.equal(new Set(names).size, names.length, 'service names are unique');
      const schedule = config.schedule;
      if (schedule) {
        assert.ok(!(schedule.interval !== undefined && schedule.cron !== undefined), 'interval and cron are exclusive');
        if (schedule.cron) assert.equal(validateCronExpression(schedule.cron), null);
        if (schedule.timezone) assert.equal(validateTimezone(schedule.timezone), null);
        for (const service of schedule.services ?? []) assert.ok(names.includes(service), `schedule.services: unknown ${service}`);
      }
      // The templates are meant to be copied to the repo root: every ./scripts/... they mention must exist there.
      for (const [path] of readFileSync(join(TEMPLATES, name), 'utf8').matchAll(/\.\/scripts\/[\w-]+\.\w+/g)) {
        assert.ok(existsSync(join(ROOT, path)), `${name} mentions ${path}, which does not exist`);
      }
    });
  }

  for (const name of yamlTemplates) {
    it(`${name} passes config --check once its placeholder paths exist`, async () => {
      // Each absolute cwd (/notebooks/ComfyUI, /srv/myapp) is created under a temp dir, and the file points there
      const folder = join(temp.path, `check-${name}`);
      mkdirSync(folder);
      let text = readFileSync(join(TEMPLATES, name), 'utf8');
      for (const [, placeholder] of text.matchAll(/^\s*cwd:\s*(\/[^\s#]*)/gm)) mkdirSync(join(folder, placeholder!), { recursive: true });
      const roots = new Set([...text.matchAll(/^\s*cwd:\s*\/([^\s#/]+)/gm)].map((match) => match[1]!));
      for (const root of roots) text = text.replaceAll(`/${root}`, join(folder, root));
      // The templates sit in the restart-control folder: their relative paths (demo/, scripts/) resolve from there
      for (const sibling of ['demo', 'scripts']) symlinkSync(join(sibling === 'demo' ? TEMPLATES : ROOT, sibling), join(folder, sibling));
      const file = join(folder, name);
      writeFileSync(file, text);
      const result = await runCommand(CLI, ['config', '--check', '--config', file], { cwd: folder, timeoutMs: TIMEOUT_MS });
      assert.equal(result.code, 0, result.stdout + result.stderr);
    });
  }

  it('the systemd unit waits longer than any template service takes to stop', () => {
    const unit = readFileSync(join(TEMPLATES, 'restart-control.service'), 'utf8');
    assert.match(unit, /^Type=simple$/m);
    assert.match(unit, /^KillMode=mixed$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^ExecStart=\S+\/run\.ts --config \S+$/m);
    const timeoutSec = Number(unit.match(/^TimeoutStopSec=(\d+)$/m)?.[1]);
    const longestStopMs = Math.max(...yamlTemplates.flatMap((name) => loadTemplate(name).services.map((service) => service.stop_timeout ?? 10_000)));
    assert.ok(timeoutSec * 1000 > longestStopMs, `TimeoutStopSec=${timeoutSec} must exceed ${longestStopMs} ms`);
  });

  it('the crontab lines are valid and detach', () => {
    const lines = readFileSync(join(TEMPLATES, 'crontab.txt'), 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const schedule = line.startsWith('@reboot') ? null : line.split(/\s+/).slice(0, 5).join(' ');
      if (schedule !== null) assert.equal(validateCronExpression(schedule), null, line);
      assert.match(line, /\/run\.ts --config \S+ --detach >> \S+ 2>&1$/);
    }
  });
});

describe('template and script files', () => {
  it('scripts and start-up hooks are executable, .ts scripts start with the sh header', () => {
    for (const file of [...tsScripts, ...shellFiles]) accessSync(file, constants.X_OK);
    for (const file of tsScripts) assert.equal(readFileSync(file, 'utf8').split('\n')[0], '#!/bin/sh', file);
    assert.ok(tsScripts.length >= 3 && shellFiles.length >= 2);
  });

  for (const file of shellFiles) {
    it(`sh -n ${file.slice(ROOT.length)}`, async () => {
      const result = await run('/bin/sh', ['-n', file]);
      assert.equal(result.code, 0, result.stderr);
    });
  }
});

describe('scripts/comfyui-idle.ts', () => {
  const idle = join(SCRIPTS, 'comfyui-idle.ts');
  let queue = { queue_running: [[0, 'prompt-1']], queue_pending: [[1, 'prompt-2']] };

  it('exits 1 while a prompt runs and 0 once the queue is empty, run directly and as a hook', async () => {
    const server = await startServer((_request, response) => response.end(JSON.stringify(queue)));
    const env = cleanEnv({ COMFYUI_URL: server.url });
    const busy = await run(idle, [], { env });
    assert.equal(busy.code, 1, busy.stderr);
    assert.match(busy.stdout, /busy \(1 running, 1 pending\)/);
    assert.equal(server.requests[0]?.url, '/queue');
    // As the supervisor runs wait_idle: /bin/sh in the config's folder, .ts through the project's tsx.
    const hookBusy = await runHook('./scripts/comfyui-idle.ts', { cwd: ROOT, timeoutMs: TIMEOUT_MS, env: { COMFYUI_URL: server.url } });
    assert.equal(hookBusy.code, 1, hookBusy.output);

    queue = { queue_running: [], queue_pending: [] };
    const free = await run(idle, [], { env });
    assert.equal(free.code, 0, free.stderr);
    const hookFree = await runHook('./scripts/comfyui-idle.ts', { cwd: ROOT, timeoutMs: TIMEOUT_MS, env: { COMFYUI_URL: server.url } });
    assert.ok(hookFree.ok, hookFree.output);
  });

  it('counts a ComfyUI that does not answer as idle, and says so', async () => {
    const result = await run(idle, [], { env: cleanEnv({ COMFYUI_URL: `http://127.0.0.1:${await closedPort()}` }) });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /did not answer \(ECONNREFUSED\)/);
  });
});

describe('scripts/notify-ntfy.ts', () => {
  const ntfy = join(SCRIPTS, 'notify-ntfy.ts');
  const event = { time: '2026-01-01T00:00:00.000Z', event: 'crashed', service: 'comfyui', exit_code: 1, host: 'gpu-box', log_tail: ['a', 'b'] };

  it('posts one line describing the event to NTFY_URL', async () => {
    const server = await startServer((_request, response) => response.end('{}'));
    const result = await run(ntfy, [], { env: cleanEnv({ NTFY_URL: `${server.url}/rc-topic` }), input: JSON.stringify(event) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.requests.length, 1);
    const [request] = server.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.url, '/rc-topic');
    assert.equal(request!.headers.priority, 'high');
    assert.doesNotMatch(request!.body, /\n/);
    assert.match(request!.body, /^comfyui crashed on host gpu-box .*exit code 1/);
  });

  it('does nothing when NTFY_URL is unset, and fails on an HTTP error', async () => {
    const unset = await run(ntfy, [], { input: JSON.stringify(event) });
    assert.equal(unset.code, 0);
    assert.match(unset.stderr, /NTFY_URL is not set/);
    const server = await startServer((_request, response) => { response.statusCode = 500; response.end(); });
    const failing = await run(ntfy, [], { env: cleanEnv({ NTFY_URL: `${server.url}/t` }), input: JSON.stringify(event) });
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /HTTP 500/);
  });
});

describe('scripts/gpu-reset.ts', () => {
  const gpuReset = join(SCRIPTS, 'gpu-reset.ts');
  /** A PATH holding only what the sh header needs: no real nvidia-smi can leak in. */
  function pathWithoutNvidiaSmi(): string {
    const bin = join(temp.path, 'bin-none');
    mkdirSync(bin);
    for (const tool of ['dirname', 'readlink']) symlinkSync(['/usr/bin', '/bin'].map((dir) => join(dir, tool)).find(existsSync)!, join(bin, tool));
    return bin;
  }

  it('exits 0 with a message when nvidia-smi is missing', async () => {
    const result = await run(gpuReset, [], { env: cleanEnv({ PATH: pathWithoutNvidiaSmi(), NODE: process.execPath }) });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /nvidia-smi not found/);
  });

  it('kills only listed GPU processes and runs the reset', async (t) => {
    const onGpu = spawn('sleep', ['30']);
    const notOnGpu = spawn('sleep', ['30']);
    t.after(() => { onGpu.kill('SIGKILL'); notOnGpu.kill('SIGKILL'); });
    const fakeDir = join(temp.path, 'fake-gpu');
    mkdirSync(fakeDir);
    writeFileSync(join(fakeDir, 'apps.csv'), `${onGpu.pid}, 300\n`);
    const bin = join(temp.path, 'bin-fake');
    mkdirSync(bin);
    symlinkSync(join(FIXTURES, 'nvidia-smi'), join(bin, 'nvidia-smi'));
    const env = cleanEnv({ PATH: `${bin}:${process.env.PATH}`, FAKE_NVIDIA_DIR: fakeDir });
    const result = await run(gpuReset, ['--pid', `${onGpu.pid},${notOnGpu.pid}`, '--reset', '0'], { env });
    assert.match(result.stdout, new RegExp(`pid ${onGpu.pid}\\s+300 MiB\\s+sleep`));
    assert.match(result.stdout, new RegExp(`pid ${notOnGpu.pid} is not a GPU compute process: skipped`));
    await waitFor(() => !alive(onGpu.pid!), 5000, 'the GPU process to end');
    assert.ok(alive(notOnGpu.pid!), 'a pid nvidia-smi does not list is never killed');
    // The fake nvidia-smi refuses --gpu-reset, so the script reports a failed reset.
    assert.equal(result.code, 1);
    assert.match(readFileSync(join(fakeDir, 'calls.log'), 'utf8'), /^--gpu-reset -i 0$/m);
  });
});

describe('templates/notebook-startup.sh', () => {
  const startup = join(TEMPLATES, 'notebook-startup.sh');

  it('starts the supervisor once and leaves a running one alone', async (t) => {
    const folder = join(temp.path, 'notebook');
    mkdirSync(folder);
    writeFileSync(join(folder, 'rc.yaml'), 'state_dir: state\nservices:\n  - name: sleeper\n    command: sleep 300\n    stop_timeout: 1\n');
    const config = join(folder, 'rc.yaml');
    t.after(async () => {
      await runCommand(CLI, ['shutdown', '--config', config], { cwd: folder, timeoutMs: TIMEOUT_MS });
    });
    const first = await run('/bin/sh', [startup, 'rc.yaml'], { cwd: folder });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /supervisor started/);
    const second = await run('/bin/sh', [startup, 'rc.yaml'], { cwd: folder });
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout + second.stderr, /already running/);
    const status = await runCommand(CLI, ['status', '--config', config], { cwd: folder, timeoutMs: TIMEOUT_MS });
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /sleeper\s+running/);
  });

  it('refuses a config that does not exist', async () => {
    const result = await run('/bin/sh', [startup, 'missing.yaml']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no config at .*missing\.yaml/);
  });
});
