/** Running the few programs the hooks need (crontab, jupyter, systemctl), found on PATH, never blocking. */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const EXEC_TIMEOUT_MS = 20_000;

/** Absolute path of `name` on PATH, or null. */
export function findProgram(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

export function execProgram(file: string, args: string[], options: { env: NodeJS.ProcessEnv; input?: string }): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: options.env, timeout: EXEC_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (error && code === 1 && !stderr ? error.message : '') });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}
