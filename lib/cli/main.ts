/** The control CLI: map errors to exit codes. Plain `status` skips commander (its start-up is most of a status call). */
import { writeSync } from 'node:fs';
import type { CliIo } from './context.ts';
import { reportCliError } from '../core/errors.ts';

export { type CliIo } from './context.ts';

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
};

/**
 * status's few kilobytes go out in one blocking write: creating process.stdout loads Node's stream modules (~3 ms of
 * a status call). A reader that closed early (EPIPE) is not an error.
 */
const statusIo: CliIo = {
  ...defaultIo,
  stdout: (text) => {
    try {
      writeSync(1, text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
    }
  },
};

/** Exit codes: 0 ok, 1 failed, 2 usage or config error, 3 no supervisor running. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const status = plainStatus(argv);
  if (!status) {
    // `logs ... | head`: a reader that stops early is not an error
    if (io === defaultIo) process.stdout.on('error', (error: NodeJS.ErrnoException) => { if (error.code === 'EPIPE') process.exit(0); });
    // Its own bundle in dist/ (scripts/build.mjs): status never loads commander or the other commands
    const { runProgram } = await import('./program.ts');
    return runProgram(argv, io);
  }
  if (io === defaultIo) io = statusIo;
  try {
    const [{ statusCommand }, { resolveContext }] = await Promise.all([import('./status.ts'), import('./context.ts')]);
    return await statusCommand(io, resolveContext(status.config, io), status.names, status.json);
  } catch (error) {
    return reportCliError(error, io.stderr);
  }
}

const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * `[--config F] status [NAME...] [--json] [--config F]` and nothing else; any other shape (help, `--`, an unknown
 * option, a second --config) goes through commander, which owns the messages for them.
 */
export function plainStatus(argv: string[]): { names: string[]; json: boolean; config: string | undefined } | null {
  let seenStatus = false;
  let json = false;
  let config: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config' || arg.startsWith('--config=')) {
      const value = arg === '--config' ? argv[++i] : arg.slice('--config='.length);
      if (config !== undefined || value === undefined || value === '' || value.startsWith('-')) return null;
      config = value;
    } else if (!seenStatus) {
      if (arg !== 'status') return null;
      seenStatus = true;
    } else if (arg === '--json' && !json) {
      json = true;
    } else if (SERVICE_NAME.test(arg)) {
      names.push(arg);
    } else {
      return null;
    }
  }
  return seenStatus ? { names, json, config } : null;
}
