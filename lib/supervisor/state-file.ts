/** state.json and the pid files: what `status` and the CLI read of a running supervisor. */
import { writeJsonAtomic } from '../core/atomic.ts';
import type { WriteGuard } from '../core/write-guard.ts';
import type { StateFile } from '../core/types.ts';
import type { StatePaths } from '../config/paths.ts';
import { PidFiles } from './pid-files.ts';

/** Least time between two state.json writes caused by service changes. */
const STATE_WRITE_GAP_MS = 50;

export class StateFileWriter {
  private writePending = false;
  private lastWriteAt = -Infinity;
  private readonly pidFiles: PidFiles;

  /** `collect` is called at each write: the file always shows the state of that moment. */
  constructor(private readonly paths: Pick<StatePaths, 'state' | 'pidsDir'>, private readonly writes: WriteGuard, private readonly collect: () => StateFile) {
    this.pidFiles = new PidFiles(paths.pidsDir);
  }

  /** One write for every change of a turn of the event loop (a crash storm's exits arrive together), at most one per STATE_WRITE_GAP_MS. */
  schedule(): void {
    if (this.writePending) return;
    this.writePending = true;
    const write = () => {
      this.writePending = false;
      this.write();
    };
    const wait = this.lastWriteAt + STATE_WRITE_GAP_MS - performance.now();
    if (wait > 0) setTimeout(write, wait);
    else setImmediate(write);
  }

  write(): void {
    const state = this.collect();
    this.lastWriteAt = performance.now();
    this.writes.attempt('state.json', this.paths.state, () => writeJsonAtomic(this.paths.state, state));
    this.writes.attempt('pid files', this.paths.pidsDir, () => this.pidFiles.sync(state.services));
  }
}
