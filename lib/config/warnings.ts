/**
 * Warnings of `config --check`: things that are probably wrong but may be right. A string command whose first word is
 * no executable on PATH or relative to its cwd is the usual one (`pyhton3 app.py`); shell syntax can hide the real
 * program, so it is never an error.
 */
import { basename } from 'node:path';
import { findExecutable } from '../process/executable.ts';
import type { Config } from '../core/types.ts';

/** Special built-ins and keywords of a POSIX sh, and the regular built-ins dash has: never on PATH, never a typo. */
const SHELL_WORDS = new Set([
  '.', ':', 'break', 'continue', 'eval', 'exec', 'exit', 'export', 'readonly', 'return', 'set', 'shift', 'times', 'trap', 'unset',
  'alias', 'bg', 'cd', 'command', 'echo', 'false', 'fg', 'getopts', 'hash', 'jobs', 'kill', 'printf', 'pwd', 'read', 'test', '[',
  'true', 'type', 'ulimit', 'umask', 'unalias', 'wait', 'local',
  'if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'while', 'until', 'do', 'done', 'in', '!', '{', '}',
]);

/** Characters after which the word is not the program's literal name (expansions, quotes, redirections, groups). */
const SHELL_SYNTAX = /[$`"'\\*?[\]~(){}<>|;&]/;

/** The program a `/bin/sh -c` command runs, when it can be told without a shell: null when syntax could hide it. */
export function programOfShellCommand(command: string): string | null {
  const words = command.trim().split(/\s+/);
  let index = 0;
  // `A=1 B=2 prog`: assignments first; `exec prog`: the program is the next word
  while (index < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[index]!) || words[index] === 'exec')) index++;
  const word = words[index];
  if (word === undefined || word === '' || SHELL_SYNTAX.test(word)) return null;
  return word;
}

/** One line per string command whose program is not found: `file:line: services[i].command: warning: ...`. */
export function commandWarnings(config: Config, env: NodeJS.ProcessEnv, lineOf: (path: (string | number)[]) => number = () => 1): string[] {
  const warnings: string[] = [];
  config.services.forEach((service, index) => {
    if (typeof service.command !== 'string') return; // argv lists are checked as errors by normaliseConfig
    const program = programOfShellCommand(service.command);
    if (program === null || SHELL_WORDS.has(program)) return;
    if (findExecutable(program, service.env.PATH ?? env.PATH ?? '', service.cwd)) return;
    const where = program.includes('/') ? `relative to ${service.cwd}` : 'on PATH';
    warnings.push(`${basename(config.file)}:${lineOf(['services', index, 'command'])}: services[${index}].command: warning: ${program}: no such executable ${where} (only a warning: shell syntax may hide the real program)`);
  });
  return warnings;
}
