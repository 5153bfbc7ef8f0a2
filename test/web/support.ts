/** Web-page test support: a free port, and a sandbox config with a web: section. */
import { appendFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { Sandbox, type ServiceSpec } from '../support.ts';
import { freePort } from '../helpers.ts';
export { freePort };


/** A sandbox whose config serves the web page on a free loopback port. */
export async function webSandbox(services: ServiceSpec[], web: { token?: string; basePath?: string; extra?: string } = {}): Promise<{ box: Sandbox; port: number }> {
  const box = new Sandbox(services);
  const port = await freePort();
  appendFileSync(box.configFile, [
    'web:',
    `  listen: 127.0.0.1:${port}`,
    ...(web.basePath ? [`  base_path: ${web.basePath}`] : []),
    ...(web.token ? [`  token: ${web.token}`] : []),
    web.extra ?? '',
  ].join('\n'));
  return { box, port };
}
