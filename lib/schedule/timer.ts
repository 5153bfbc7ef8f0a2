/** Arms one timer for the next scheduled restart; the restart itself is the supervisor's restart sequence. */
import { msToDuration } from '../config/duration.ts';
import { readScheduleState, scheduleStateFile, writeScheduleState } from './state.ts';
import type { WriteGuard } from '../core/write-guard.ts';
import { nextRestartTime } from './timing.ts';
import type { ScheduleConfig } from '../core/types.ts';

/** setTimeout's limit (~24.8 days): longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SchedulerStatus {
  enabled: boolean;
  mode: 'interval' | 'cron';
  expression: string;
  next_restart: string | null;
  last_restart: string | null;
  /** The effective schedule (env overrides applied), so `next` can show what the running supervisor will do. */
  interval_ms: number;
  cron: string | null;
  timezone: string | null;
}

export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private next: Date | null = null;
  /** Interval mode counts from here: the supervisor's start or the last restart. */
  private lastRestart: Date;
  /** Set by the supervisor: a failing schedule.json write after a restart is recorded, never thrown. */
  writes: WriteGuard | null = null;

  constructor(
    private schedule: ScheduleConfig | null,
    private readonly stateDir: string,
    private readonly fire: () => void,
    private readonly now: () => number = Date.now,
  ) {
    this.lastRestart = new Date(this.now());
  }

  /** enable/disable persisted in state_dir wins over the config and the environment. */
  enabled(): boolean {
    if (!this.schedule) return false;
    return readScheduleState(this.stateDir).enabled ?? this.schedule.enabled;
  }

  arm(): void {
    this.disarm();
    if (!this.schedule || !this.enabled()) return;
    this.next = nextRestartTime({ ...this.schedule, enabled: true }, new Date(this.now()), this.lastRestart);
    if (!this.next) return;
    const wait = Math.max(0, this.next.getTime() - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.next && this.next.getTime() > this.now()) return this.arm(); // a long wait re-armed in steps
      this.next = null;
      this.fire();
    }, Math.min(wait, MAX_TIMER_MS));
    this.timer.unref?.();
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.next = null;
  }

  /** After any completed restart sequence: the interval countdown starts again from it. */
  restarted(at: Date): void {
    this.lastRestart = at;
    const write = () => void writeScheduleState(this.stateDir, { last_restart: at.toISOString() });
    if (this.writes) this.writes.attempt('schedule.json', scheduleStateFile(this.stateDir), write);
    else write();
    this.arm();
  }

  setEnabled(enabled: boolean): void {
    const wasEnabled = this.enabled();
    writeScheduleState(this.stateDir, { enabled });
    // Enabling starts a fresh countdown: hours spent disabled must not make a restart overdue at once
    if (enabled && !wasEnabled) this.lastRestart = new Date(this.now());
    this.arm();
  }

  reconfigure(schedule: ScheduleConfig | null): void {
    this.schedule = schedule;
    this.arm();
  }

  nextRestart(): Date | null {
    return this.next;
  }

  /** The restart after one that starts now (for the `scheduled_restart` event): null when off. */
  followingRestart(): Date | null {
    if (!this.schedule || !this.enabled()) return null;
    const now = new Date(this.now());
    return nextRestartTime({ ...this.schedule, enabled: true }, now, now);
  }

  status(): SchedulerStatus | null {
    if (!this.schedule) return null;
    return {
      enabled: this.enabled(),
      mode: this.schedule.mode,
      expression: describeSchedule(this.schedule),
      next_restart: this.next?.toISOString() ?? null,
      last_restart: this.lastRestart.toISOString(),
      interval_ms: this.schedule.intervalMs,
      cron: this.schedule.cron,
      timezone: this.schedule.timezone,
    };
  }
}

/** "every 6h" or the cron expression with its zone. */
export function describeSchedule(schedule: ScheduleConfig): string {
  if (schedule.mode === 'cron') return `${schedule.cron}${schedule.timezone ? ` (${schedule.timezone})` : ''}`;
  return `every ${msToDuration(schedule.intervalMs)}`;
}
