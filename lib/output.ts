/** Routes each service's stdout/stderr into its log file under the logs dir. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { type Readable } from 'node:stream';
import { type Config } from './types.ts';

export class OutputRouter {
  private readonly files = new Map<string, WriteStream>();

  constructor(private config: Config) {}

  attach(service: string, stdout: Readable, stderr: Readable, _timestamps: boolean): void {
    let file = this.files.get(service);
    if (!file) {
      file = createWriteStream(join(this.config.logs.dir, `${service}.log`), { flags: 'a' });
      file.on('error', () => undefined);
      this.files.set(service, file);
    }
    stdout.pipe(file, { end: false });
    stderr.pipe(file, { end: false });
  }

  reconfigure(config: Config): void {
    this.config = config;
  }

  async rotateAll(): Promise<void> {}

  tail(_service: string): string[] {
    return [];
  }

  async close(): Promise<void> {
    await Promise.all([...this.files.values()].map((file) => new Promise((resolve) => file.end(resolve))));
    this.files.clear();
  }
}
