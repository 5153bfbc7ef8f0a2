/** File watching for hot reload: the config file, and each service's `watch` paths. Debounced; globs filtered by us (chokidar 5 takes them literally). */
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { globBase, globToRegExp, isGlob, matchesAny } from './glob.ts';
import type { ServiceConfig } from '../core/types.ts';

/** Always ignored under watched folders. */
export const DEFAULT_WATCH_IGNORE = ['.git', 'node_modules', '__pycache__', '*.pyc'];
/** Paths named in one watch_restart event. */
const MAX_REPORTED_PATHS = 5;

class Debouncer {
  private timer: NodeJS.Timeout | null = null;
  private paths: string[] = [];
  private total = 0;

  constructor(private readonly delayMs: number, private readonly fire: (paths: string[], total: number) => void) {}

  add(path: string): void {
    this.total++;
    if (this.paths.length < MAX_REPORTED_PATHS && !this.paths.includes(path)) this.paths.push(path);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const [paths, total] = [this.paths, this.total];
      this.timer = null;
      this.paths = [];
      this.total = 0;
      this.fire(paths, total);
    }, this.delayMs);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

export interface WatchHandling {
  /** A shutdown: stop waiting for the first scan (of a big tree, it may take long). */
  signal?: AbortSignal;
  /** The watcher failed (ENOSPC: inotify limit, EACCES); called once per watcher, later errors are counted only. */
  onError?: (error: Error) => void;
}

/** Resolves when the first scan is done or `signal` aborts; routes errors to onError (once). */
async function settle(watcher: FSWatcher, handling: WatchHandling): Promise<void> {
  let reported = false;
  watcher.on('error', (error) => {
    if (reported) return;
    reported = true;
    try {
      handling.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // reporting must not break the watcher
    }
  });
  const { signal } = handling;
  if (signal?.aborted) return;
  await new Promise<void>((ready) => {
    const done = (): void => {
      signal?.removeEventListener('abort', done);
      ready();
    };
    watcher.once('ready', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Calls `onChange` once per burst of saves of the config file (editors that save by rename included). */
export async function watchConfigFile(file: string, debounceMs: number, onChange: () => void, handling: WatchHandling = {}): Promise<() => Promise<void>> {
  const { watch } = await import('chokidar');
  const name = basename(file);
  const debouncer = new Debouncer(debounceMs, () => onChange());
  // Watching the folder, not the file: a rename-over replaces the inode a file watch would follow
  const watcher = watch(dirname(file), { depth: 0, ignoreInitial: true, ignored: (path) => path !== dirname(file) && basename(path) !== name });
  watcher.on('all', (_event, path) => {
    if (basename(path) === name) debouncer.add(path);
  });
  await settle(watcher, handling);
  return async () => {
    debouncer.cancel();
    await watcher.close();
  };
}

export interface SourceWatchOptions extends WatchHandling {
  /** Folders never watched (state dir, logs dir). */
  excluded: string[];
  onChange: (paths: string[], total: number) => void;
}

/** Watches a service's `watch` paths (relative to its cwd); resolves once the initial scan is done. */
export async function watchServiceSources(service: ServiceConfig, options: SourceWatchOptions): Promise<() => Promise<void>> {
  const { watch } = await import('chokidar');
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(service.cwd, path));
  const globs = service.watch.filter(isGlob).map((pattern) => globToRegExp(relative(service.cwd, absolute(pattern)).split(sep).join('/')));
  const roots = [...new Set(service.watch.map((pattern) => absolute(isGlob(pattern) ? globBase(pattern) : pattern)))];
  const plainRoots = service.watch.filter((pattern) => !isGlob(pattern)).map(absolute);
  const ignore = [...DEFAULT_WATCH_IGNORE, ...service.watchIgnore];
  const ignorePaths = ignore.filter((pattern) => pattern.includes('/')).map(globToRegExp);
  const ignoreNames = ignore.filter((pattern) => !pattern.includes('/')).map(globToRegExp);
  const excluded = options.excluded.map((folder) => resolve(folder));
  const isIgnored = (path: string): boolean => {
    if (excluded.some((folder) => path === folder || path.startsWith(folder + sep))) return true;
    return matchesAny(relative(service.cwd, path).split(sep).join('/'), ignorePaths, ignoreNames);
  };
  const debouncer = new Debouncer(service.watchDebounceMs, options.onChange);
  const watcher: FSWatcher = watch(roots, { ignoreInitial: true, ignored: (path) => isIgnored(path) });
  watcher.on('all', (event, path) => {
    if (event === 'addDir' || isIgnored(path)) return;
    const rel = relative(service.cwd, path).split(sep).join('/');
    const underPlainRoot = plainRoots.some((root) => path === root || path.startsWith(root + sep));
    if (!underPlainRoot && !globs.some((glob) => glob.test(rel))) return;
    debouncer.add(rel);
  });
  await settle(watcher, options);
  return async () => {
    debouncer.cancel();
    await watcher.close();
  };
}
