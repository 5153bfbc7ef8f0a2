import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer } from 'node:net';

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = 'condition', pollMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** A temp dir for one test file; `fresh()` makes a new empty sub-folder per test case. */
export function makeTempDir(prefix = 'rc-test-'): { path: string; remove: () => void; fresh: () => string } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  let cases = 0;
  return {
    path,
    remove: () => rmSync(path, { recursive: true, force: true }),
    fresh: () => {
      const dir = join(path, `case-${++cases}`);
      mkdirSync(dir);
      return dir;
    },
  };
}

/** A TCP port on 127.0.0.1 that nobody listens on right now (the kernel picks it; closed before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
