/** schedule.json in state_dir: the persisted enable/disable override and the last restart. Read by the CLI without a supervisor. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, writeJsonAtomic } from '../core/atomic.ts';

export interface ScheduleState {
  /** Set by `enable` / `disable`; null = the config decides. */
  enabled: boolean | null;
  /** ISO time of the last completed restart sequence (scheduled or forced). */
  last_restart: string | null;
}

export function scheduleStateFile(stateDir: string): string {
  return join(stateDir, 'schedule.json');
}

export function readScheduleState(stateDir: string): ScheduleState {
  try {
    const parsed = JSON.parse(readFileSync(scheduleStateFile(stateDir), 'utf8')) as Partial<ScheduleState>;
    return { enabled: typeof parsed.enabled === 'boolean' ? parsed.enabled : null, last_restart: parsed.last_restart ?? null };
  } catch {
    return { enabled: null, last_restart: null };
  }
}

export function writeScheduleState(stateDir: string, update: Partial<ScheduleState>): ScheduleState {
  const next = { ...readScheduleState(stateDir), ...update };
  ensureDir(stateDir); // `disable` before the first start: state_dir does not exist yet
  writeJsonAtomic(scheduleStateFile(stateDir), next);
  return next;
}
