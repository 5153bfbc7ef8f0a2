/** `web.listen` and `web.base_path`: parsing and the loopback rule, pure so config checks and the CLI share them. */

export interface ListenAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:7070`, `[::1]:7070`, `localhost:7070`, `0.0.0.0:7070`, or a bare port (loopback). null when malformed. */
export function parseListen(text: string): ListenAddress | null {
  const value = text.trim();
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([a-zA-Z0-9.-]*)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  if (!match) return null;
  const port = Number(match[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return null;
  const host = match[1] || match[2] || '127.0.0.1';
  return { host, port };
}

/** Only these are reachable from this machine alone; everything else (0.0.0.0, ::, a LAN address, a name) is not. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Always starts and ends with `/`: `proxy/7070` → `/proxy/7070/`. */
export function normaliseBasePath(text: string): string {
  const trimmed = text.trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

/** The URL to open, from this machine: a wildcard address is reached through loopback. */
export function pageUrl(listen: ListenAddress, basePath: string): string {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '[::1]' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}${basePath}`;
}
