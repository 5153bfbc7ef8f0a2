/**
 * `<state_dir>/pids/<service>.pid`, kept in step with state.json: only files whose pid changed are written, so a
 * state write costs one file per changed service, not one per service (500 services, 3 state changes per crash).
 */
import { readdirSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.ts';

export class PidFiles {
  /** What each file holds now: a pid, or null when there is no file. Unknown until the first sync. */
  private written: Map<string, number | null> | null = null;

  constructor(private readonly dir: string) {}

  sync(services: ReadonlyArray<{ name: string; pid: number | null }>): void {
    const written = this.written ?? this.scan();
    const current = new Set<string>();
    for (const { name, pid } of services) {
      current.add(name);
      if ((written.get(name) ?? null) === pid) continue;
      const file = `${this.dir}/${name}.pid`;
      if (pid) writeFileAtomic(file, `${pid}\n`);
      else rmSync(file, { force: true });
      written.set(name, pid);
    }
    // Services removed by a reload leave no stale pid file behind
    for (const [name, pid] of written) {
      if (current.has(name)) continue;
      if (pid !== null) rmSync(`${this.dir}/${name}.pid`, { force: true });
      written.delete(name);
    }
    this.written = written;
  }

  /** Files left by an earlier supervisor: treated as holding a pid, so the first sync rewrites or removes them. */
  private scan(): Map<string, number | null> {
    const found = new Map<string, number | null>();
    try {
      for (const name of readdirSync(this.dir)) if (name.endsWith('.pid')) found.set(name.slice(0, -'.pid'.length), -1);
    } catch {
      // no directory yet: nothing to clean
    }
    return found;
  }
}
