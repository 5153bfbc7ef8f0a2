/**
 * templates/notebook-comfyui-jupyter.yaml on a real Jupyter (Debian's python3-jupyter-server, 1.23): paths point at a
 * temp dir, ComfyUI is a small HTTP stand-in, ports are free ones; everything else is the template's own text. As root
 * (as on notebook platforms), Jupyter starts, answers with the configured token only, and force-restart completes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '../helpers.ts';
import { FIXTURES, ROOT, Sandbox, type Supervisor } from '../support.ts';

const PYTHON = '/usr/bin/python3';
const TOKEN = 'rc-test-token-5f0c2a';
const TIMEOUT_MS = 180_000;

/** null when jupyter_server can be run; else why not. */
function jupyterMissing(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import jupyter_server; print(jupyter_server.__version__)'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not found (${probe.error.message}): install python3-jupyter-server`;
  return probe.status === 0 ? null : `jupyter_server is not importable by ${PYTHON} (install python3-jupyter-server): ${probe.stderr.trim().split('\n').at(-1)}`;
}


/** `text` with `from` replaced by `to`, which must occur: the template must keep the shape this test relies on. */
function replaceIn(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the template no longer contains ${JSON.stringify(from)}`);
  return text.replaceAll(from, to);
}

async function httpStatus(url: string, token?: string): Promise<number> {
  try {
    const response = await fetch(url, { headers: token ? { authorization: `token ${token}` } : {}, signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

function uidOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1]);
}

const missing = jupyterMissing();

describe('the notebook template on a real Jupyter', { timeout: TIMEOUT_MS, skip: missing ?? false }, () => {
  let box: Sandbox;
  let supervisor: Supervisor;
  let comfyPort: number;
  let jupyterPort: number;
  const jupyterUrl = () => `http://127.0.0.1:${jupyterPort}/api/status`;
  /** Until Jupyter accepts the token; a crash ends the wait at once (waitFor retries on a throw), with its cause. */
  const waitForJupyter = async (what: string) => {
    const result = await waitFor(async () => {
      const crash = box.eventsOf('jupyterlab', 'crashed')[0];
      if (crash) return { crash };
      return (await httpStatus(jupyterUrl(), TOKEN)) === 200 ? { crash: null } : null;
    }, 60_000, `${what}\n${supervisor.output()}`, 200);
    if (result.crash) assert.fail(`Jupyter crashed: ${String(result.crash.reason)}: ${String(result.crash.last_stderr)}\n${supervisor.output()}`);
  };

  before(async () => {
    box = new Sandbox([], { stateDir: '.restart-control' });
    [comfyPort, jupyterPort] = [await freePort(), await freePort()];
    // The template is meant to sit in the restart-control folder: its ./scripts/... must resolve from the config's folder
    symlinkSync(join(ROOT, 'scripts'), box.path('scripts'));
    mkdirSync(box.path('notebooks', 'ComfyUI'), { recursive: true });
    let text = readFileSync(join(ROOT, 'templates', 'notebook-comfyui-jupyter.yaml'), 'utf8');
    text = replaceIn(text, '/notebooks', box.path('notebooks'));
    text = replaceIn(text, 'python main.py --listen 127.0.0.1 --port 8188', `exec node ${join(FIXTURES, 'comfyui-standin.mjs')} --listen 127.0.0.1 --port ${comfyPort}`);
    text = replaceIn(text, 'exec jupyter lab --ip', `exec ${PYTHON} -m jupyter_server --ip`);
    text = replaceIn(text, '--port 8889', `--port ${jupyterPort}`);
    // The port: keys, readiness and health checks follow the services to their free ports
    text = replaceIn(text, '8188', String(comfyPort));
    text = replaceIn(text, '8889', String(jupyterPort));
    writeFileSync(box.configFile, text);
  });
  after(async () => {
    await box?.cli(['shutdown'], { timeoutMs: 60_000 }).catch(() => undefined);
    await box?.cleanup();
  });

  test('config --check passes', async () => {
    const check = await box.cli(['config', '--check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  test('the supervisor starts ComfyUI; Jupyter waits to be asked for (autostart: false)', async () => {
    supervisor = await box.startSupervisor({
      timeoutMs: 30_000,
      env: {
        JUPYTER_TOKEN: TOKEN,
        // Jupyter's own files and the hook's queue backups stay in the temp dir
        JUPYTER_RUNTIME_DIR: box.path('jupyter', 'runtime'),
        JUPYTER_CONFIG_DIR: box.path('jupyter', 'config'),
        JUPYTER_DATA_DIR: box.path('jupyter', 'data'),
        COMFYUI_URL: `http://127.0.0.1:${comfyPort}`,
        BACKUP_DIR: box.path('queue-backup'),
      },
    });
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${comfyPort}/queue`)) === 200, 15_000, 'the ComfyUI stand-in to answer');
    assert.equal(box.service('jupyterlab')?.state, 'stopped');
    assert.equal(await httpStatus(jupyterUrl(), TOKEN), 0, 'nothing listens on the Jupyter port yet');
  });

  test('started as root, Jupyter answers on its port with the configured token, and only with it', async () => {
    const start = await box.cli(['start', 'jupyterlab'], { timeoutMs: 60_000 });
    assert.equal(start.code, 0, start.stdout + start.stderr);
    await waitForJupyter(`Jupyter to answer on ${jupyterPort}`);
    assert.equal(await httpStatus(jupyterUrl()), 403, 'no token: refused');
    assert.equal(await httpStatus(jupyterUrl(), 'wrong'), 403, 'a wrong token: refused');
    const pid = box.service('jupyterlab')!.pid!;
    if (process.getuid?.() === 0) assert.equal(uidOf(pid), 0, 'Jupyter runs as root');
    assert.equal(box.eventsOf('jupyterlab', 'crashed').length, 0, 'no crash (as root, without --allow-root, it would exit 1)');
  });

  test('force-restart runs the whole sequence and both services answer again', async () => {
    const before = { comfyui: box.service('comfyui')!.pid, jupyterlab: box.service('jupyterlab')!.pid };
    const since = new Date().toISOString();
    const restart = await box.cli(['force-restart'], { timeoutMs: 120_000 });
    assert.equal(restart.code, 0, restart.stdout + restart.stderr);
    const completed = await waitFor(() => box.events().find((event) => event.event === 'restart_completed' && event.time >= since), 10_000, `a restart_completed event\n${supervisor.output()}`);
    assert.deepEqual([...(completed!.services as string[])].sort(), ['comfyui', 'jupyterlab']);
    for (const name of ['comfyui', 'jupyterlab'] as const) {
      const now = await box.waitForState(name, 'running');
      assert.notEqual(now.pid, before[name], `${name} has a new process`);
    }
    await waitForJupyter('Jupyter to answer after the restart');
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${comfyPort}/queue`)) === 200, 15_000, 'the stand-in to answer after the restart');
    assert.equal(box.events().filter((event) => event.event === 'hook_failed' && event.time >= since).length, 0, 'the pre_restart hook ran cleanly');
  });
});
