/** The page's files (lib/web/page/) and uPlot (from node_modules), read once and served from memory. No CDN. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  body: Buffer;
  type: string;
}

/** Served path (relative to base_path) → file relative to the project root. */
const FILES: Record<string, { path: string; type: string }> = {
  '': { path: 'lib/web/page/index.html', type: 'text/html; charset=utf-8' },
  'index.html': { path: 'lib/web/page/index.html', type: 'text/html; charset=utf-8' },
  'app.js': { path: 'lib/web/page/app.js', type: 'text/javascript; charset=utf-8' },
  'state.js': { path: 'lib/web/page/state.js', type: 'text/javascript; charset=utf-8' },
  'format.js': { path: 'lib/web/page/format.js', type: 'text/javascript; charset=utf-8' },
  'services.js': { path: 'lib/web/page/services.js', type: 'text/javascript; charset=utf-8' },
  'panels.js': { path: 'lib/web/page/panels.js', type: 'text/javascript; charset=utf-8' },
  'log.js': { path: 'lib/web/page/log.js', type: 'text/javascript; charset=utf-8' },
  'style.css': { path: 'lib/web/page/style.css', type: 'text/css; charset=utf-8' },
  'vendor/uplot.js': { path: 'node_modules/uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'vendor/uplot.css': { path: 'node_modules/uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

let root: string | undefined;

/** Found by walking up to package.json: lib/web/ and dist/ sit at different depths. */
function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  root = dir;
  return root;
}

const cache = new Map<string, Promise<StaticFile | null>>();

export function isStaticPath(path: string): boolean {
  return Object.hasOwn(FILES, path);
}

export function readStatic(path: string): Promise<StaticFile | null> {
  const file = FILES[path];
  if (!file) return Promise.resolve(null);
  let loaded = cache.get(file.path);
  if (!loaded) {
    loaded = readFile(join(projectRoot(), file.path)).then((body) => ({ body, type: file.type }), () => null);
    cache.set(file.path, loaded);
  }
  return loaded;
}
