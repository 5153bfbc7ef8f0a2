/** Processes a stop could not end (uninterruptible sleep, EPERM): named by pid and command, so someone can act. */
import { readFileSync } from 'node:fs';
import { readProcStat } from './proc.ts';

export interface Survivor {
  pid: number;
  /** The command line, or the short name when the command line cannot be read. */
  command: string;
  /** /proc state letter: D = uninterruptible sleep, Z = zombie; null when unknown. */
  state: string | null;
}

const MAX_COMMAND_CHARS = 200;

export function describeSurvivors(pids: number[]): Survivor[] {
  return pids.map((pid) => ({ pid, command: commandOf(pid), state: readProcStat(pid)?.state ?? null }));
}

function commandOf(pid: number): string {
  try {
    const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    if (line) return line.slice(0, MAX_COMMAND_CHARS);
  } catch {
    // gone, or not ours to read
  }
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** "1234 (python train.py, state D), 1240 (sleep 9, state D)" */
export function formatSurvivors(survivors: Survivor[]): string {
  return survivors.map((survivor) => `${survivor.pid} (${survivor.command}${survivor.state ? `, state ${survivor.state}` : ''})`).join(', ');
}
