/** `web`: where the web page is, with the token link when a token is configured, and whether it answers now. */
import { request } from 'node:http';
import { SupervisorError } from '../core/errors.ts';
import { pageUrl } from '../web/address.ts';
import type { CliIo } from './context.ts';

const PROBE_TIMEOUT_MS = 1000;

export async function webCommand(io: CliIo, configFile: string): Promise<number> {
  const { loadConfig } = await import('../config/load.ts');
  const { config } = loadConfig({ flag: configFile, env: io.env, cwd: io.cwd });
  if (!config.web) {
    throw new SupervisorError('web.not-configured', `the web page is off: add a web: section to ${configFile}, e.g.\n  web:\n    listen: 127.0.0.1:7070`, 1);
  }
  const url = pageUrl({ host: config.web.host, port: config.web.port }, config.web.basePath);
  io.stdout(`web page: ${url}\n`);
  if (config.web.token) io.stdout(`with the token (allows actions; keep it private): ${url}?token=${encodeURIComponent(config.web.token)}\n`);
  else io.stdout('read-only: set web.token to allow start/stop/restart from the page\n');
  const jupyterPrefix = io.env.JUPYTERHUB_SERVICE_PREFIX ?? (io.env.JUPYTER_SERVER_ROOT || io.env.JPY_SESSION_NAME ? '/' : null);
  if (jupyterPrefix !== null) io.stdout(`in JupyterLab (jupyter-server-proxy): <your Jupyter URL>${jupyterPrefix.replace(/\/?$/, '/')}proxy/${config.web.port}/\n`);
  const answering = await probe(`${url}api/session`);
  io.stdout(answering ? 'answering now\n' : 'not answering now: is the supervisor running (./run.ts --detach)?\n');
  return answering ? 0 : 3;
}

function probe(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: PROBE_TIMEOUT_MS }, (response) => {
      response.resume();
      resolve(response.statusCode !== undefined && response.statusCode < 500);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
