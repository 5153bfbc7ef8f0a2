/** Finding executables without spawning anything (`which` through zx would load zx on hot paths like `status`). */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** An executable regular file. */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A command with a slash is a path (relative to `cwd`); a bare name is looked up on `pathVariable`. */
export function findExecutable(command: string, pathVariable = process.env.PATH ?? '', cwd = process.cwd()): string | null {
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : resolve(cwd, command)]
    : pathVariable.split(delimiter).filter(Boolean).map((folder) => join(folder, command));
  return candidates.find(isExecutableFile) ?? null;
}
