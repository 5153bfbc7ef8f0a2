/** Hot reload: re-read the config, refuse it whole if invalid, else restart exactly what changed; file watchers. */
import { loadConfig } from '../config/load.ts';
import { ConfigError, errorMessage } from '../core/errors.ts';
import { diffServices, unappliableChanges } from './diff.ts';
import { requestRestart } from '../supervisor/restart-requests.ts';
import type { Service } from '../supervisor/service.ts';
import { watchConfigFile, watchServiceSources } from './watch.ts';
import type { Config, EventRecord, ServiceConfig } from '../core/types.ts';

/** What the reloader needs from the supervisor. */
export interface ReloadTarget {
  config: Config;
  readonly services: Map<string, Service>;
  createService(config: ServiceConfig): Service;
  record(event: Omit<EventRecord, 'time'>): void;
  changed(): void;
  applyGlobals(config: Config): void;
  readonly signal: AbortSignal;
}

export interface ReloadResult {
  ok: boolean;
  error?: string;
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
  warnings: string[];
}

export class Reloader {
  private configWatch: (() => Promise<void>) | null = null;
  private readonly sourceWatches = new Map<string, () => Promise<void>>();
  private running: Promise<unknown> | null = null;
  /** Set by close(): no watcher is created after it (shutdown). */
  private closed = false;

  constructor(private readonly target: ReloadTarget) {}

  /** Reads the config file now; reloads never interleave (a second request waits for the first, then runs). */
  reload(trigger: string): Promise<ReloadResult> {
    return this.serialised(() => this.reloadNow(trigger));
  }

  /**
   * `restart SVC`: applies the file's whole config the way a reload does (globals, added and removed services,
   * watchers), but of the changed services only `names` take their new definition, and none is restarted here:
   * the caller restarts `names`; the others keep theirs until the next reload restarts them. Resolves false when the
   * file is invalid (then the last good config stays).
   */
  reloadForRestart(names: string[], trigger: string): Promise<boolean> {
    return this.serialised(async () => {
      const next = this.readValidConfig();
      if (!next || this.target.signal.aborted) return false;
      await this.apply(next, trigger, new Set(names));
      return true;
    });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.running ?? Promise.resolve(null);
    const next = previous.then(work, work);
    this.running = next;
    void next.then(() => undefined, () => undefined).finally(() => { if (this.running === next) this.running = null; });
    return next;
  }

  /** The current definition on disk, or null when the file is invalid (then the old one is kept). */
  readValidConfig(): Config | null {
    try {
      return loadConfig({ flag: this.target.config.file }).config;
    } catch {
      return null;
    }
  }

  private async reloadNow(trigger: string): Promise<ReloadResult> {
    const empty = { added: [], removed: [], changed: [], unchanged: [], warnings: [] };
    if (this.target.signal.aborted) return { ok: false, error: 'the supervisor is shutting down', ...empty };
    let next: Config;
    try {
      next = loadConfig({ flag: this.target.config.file }).config;
    } catch (error) {
      const message = error instanceof ConfigError ? error.problems.join('; ') : errorMessage(error);
      this.target.record({ event: 'config_error', message, reason: `${trigger}: config refused, keeping the last good one` });
      return { ok: false, error: message, ...empty };
    }
    return this.apply(next, trigger);
  }

  /** `only`: a restart command's services; changed services not in it keep their running definition. */
  private async apply(next: Config, trigger: string, only?: Set<string>): Promise<ReloadResult> {
    const target = this.target;
    const warnings = unappliableChanges(target.config, next);
    const nextConfig = { ...next, stateDir: target.config.stateDir };
    // The live definitions, not the last loaded file: `restart SERVICE` may have taken a newer one already
    const diff = diffServices([...target.services.values()].map((service) => service.config), next.services);
    if (only) diff.changed = diff.changed.filter((config) => only.has(config.name));
    target.config = nextConfig;
    target.applyGlobals(nextConfig);
    const work: Promise<unknown>[] = [];
    for (const name of diff.removed) {
      const service = target.services.get(name)!;
      target.services.delete(name);
      await this.unwatchSources(name);
      service.dispose();
      work.push(service.enqueue(() => service.stop('removed from the config')));
    }
    for (const config of diff.added) {
      // Shutdown has taken its list of services to stop: one added now would outlive the supervisor
      if (target.signal.aborted) continue;
      const service = target.createService(config);
      target.services.set(config.name, service);
      if (config.autostart) work.push(service.enqueue(() => target.signal.aborted ? Promise.resolve() : service.start('user', 'added to the config')));
      await this.watchSources(service);
    }
    // health checks and limits take effect at the next probe or sample: the running process is left alone
    for (const config of diff.inPlace) target.services.get(config.name)!.updateConfig(config);
    // An `after`-only change counts as unchanged: take the new order without restarting (issue 11)
    for (const config of nextConfig.services) if (diff.unchanged.includes(config.name)) target.services.get(config.name)?.updateConfig(config);
    for (const config of diff.changed) {
      const service = target.services.get(config.name)!;
      service.updateConfig(config);
      await this.watchSources(service);
      if (only) continue; // the restart command restarts it
      const restart = requestRestart(service, 'config changed', { record: (e) => target.record(e), changed: () => target.changed(), hookTimeoutMs: next.hooks.timeoutMs, signal: target.signal });
      // A restart deferred by wait_idle must not hold the reload command for up to max_wait
      if (!config.waitIdle) work.push(restart);
    }
    await this.configureAutoReload();
    const result = {
      ok: true, added: diff.added.map((s) => s.name), removed: diff.removed, changed: diff.changed.map((s) => s.name), unchanged: diff.unchanged, warnings,
    };
    if (!only || result.added.length + result.removed.length + result.changed.length + diff.inPlace.length > 0) target.record({ event: 'config_reloaded', added: result.added, removed: result.removed, changed: result.changed, unchanged: result.unchanged, reason: trigger, ...(warnings.length ? { warnings } : {}), ...(diff.inPlace.length ? { applied_in_place: diff.inPlace.map((s) => s.name) } : {}) });
    await Promise.all(work);
    target.changed();
    return result;
  }

  /** Starts every watcher the config asks for. */
  async start(): Promise<void> {
    for (const service of this.target.services.values()) await this.watchSources(service);
    await this.configureAutoReload();
  }

  private async configureAutoReload(): Promise<void> {
    const { config } = this.target;
    if (this.closed) return;
    if (config.autoReload && !this.configWatch) {
      this.configWatch = await watchConfigFile(config.file, config.reloadDebounceMs, () => void this.reload('config file saved').catch((error) => this.failed('reload on a config save', error)), {
        signal: this.target.signal, onError: (error) => this.watchError(null, config.file, error),
      });
    } else if (!config.autoReload && this.configWatch) {
      await this.configWatch();
      this.configWatch = null;
    }
  }

  private async watchSources(service: Service): Promise<void> {
    await this.unwatchSources(service.name);
    if (service.config.watch.length === 0 || this.closed || service.disposed.aborted) return;
    const { config } = this.target;
    let close: () => Promise<void>;
    try {
      close = await watchServiceSources(service.config, {
      excluded: [config.stateDir, config.logs.dir],
      signal: this.target.signal,
      onError: (error) => this.watchError(service.name, service.config.watch.join(', '), error),
      onChange: (paths, total) => {
        this.target.record({ event: 'watch_restart', service: service.name, paths, changes: total, reason: `watched files changed: ${paths.join(', ')}` });
        requestRestart(service, 'watched files changed', {
          record: (e) => this.target.record(e), changed: () => this.target.changed(), hookTimeoutMs: config.hooks.timeoutMs, signal: this.target.signal,
        }).catch((error) => this.failed(`restart of ${service.name} on a watched change`, error));
      },
      });
    } catch (error) {
      return this.watchError(service.name, service.config.watch.join(', '), error as Error);
    }
    // Closed, shut down or the service removed while chokidar scanned: nobody would close this watcher later
    if (this.closed || service.disposed.aborted || this.target.signal.aborted) return void await close().catch(() => undefined);
    this.sourceWatches.set(service.name, close);
  }

  /** One watch_error per watcher: watching goes on where it still can, supervision is untouched. */
  private watchError(service: string | null, paths: string, error: Error): void {
    const code = (error as NodeJS.ErrnoException).code ?? null;
    const hint = code === 'ENOSPC' ? ' (inotify watch limit reached: raise fs.inotify.max_user_watches)' : '';
    this.target.record({ event: 'watch_error', ...(service ? { service } : {}), paths, code, message: error.message, reason: `watching ${paths} failed: ${error.message}${hint}; changes there may go unnoticed` });
  }

  private failed(where: string, error: unknown): void {
    this.target.record({ event: 'supervisor_error', where, message: errorMessage(error), stack: error instanceof Error ? (error.stack ?? '').slice(0, 4000) : '', reason: `${where}: ${errorMessage(error)}` });
  }

  private async unwatchSources(name: string): Promise<void> {
    const close = this.sourceWatches.get(name);
    this.sourceWatches.delete(name);
    await close?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.configWatch?.();
    this.configWatch = null;
    await Promise.all([...this.sourceWatches.keys()].map((name) => this.unwatchSources(name)));
  }
}
