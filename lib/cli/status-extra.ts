/** What `status` adds for scheduled restarts and system resources. */
import { formatBytes, formatDuration } from '../config/duration.ts';
import { findExecutable } from '../process/executable.ts';
import { isoInZone } from '../core/time-format.ts';
import { statePaths } from '../config/paths.ts';
import { readScheduleState } from '../schedule/state.ts';
import { readStateFile, type StatusReport } from './status-report.ts';
import { diskUsedPercent, systemSnapshot } from '../process/system.ts';
import { formatRestartLogEntry } from '../logs/restart-log.ts';

export interface ExtraContext {
  stateDir: string;
  configFile: string;
  env: NodeJS.ProcessEnv;
  json: boolean;
}

/** nvidia-smi is asked only when it is on PATH, with a short timeout: status must stay fast. */
const STATUS_GPU_TIMEOUT_MS = 2000;

export async function addScheduleStatus(report: StatusReport, context: ExtraContext): Promise<void> {
  const state = readStateFile(statePaths(context.stateDir).state);
  const recorded = state?.schedule ?? null;
  const persisted = readScheduleState(context.stateDir);
  const now = Date.now();
  const next = report.supervisor.running && recorded?.next_restart ? recorded.next_restart : null;
  report.schedule = recorded
    ? {
        enabled: persisted.enabled ?? recorded.enabled,
        mode: recorded.mode,
        expression: recorded.expression,
        next_restart: next,
        remaining_s: next ? Math.max(0, Math.round((Date.parse(next) - now) / 1000)) : null,
      }
    : null;
  const system = await systemSnapshot(context.stateDir, { nvidiaSmi: findExecutable('nvidia-smi', context.env.PATH ?? '') !== null, gpuTimeoutMs: STATUS_GPU_TIMEOUT_MS });
  report.system = system;
  if (state?.notify && Array.isArray(state.notify) && state.notify.length > 0) {
    // The NATS sink's label is "nats <servers>" (lib/notify/nats.ts): it gets its own key
    const sinks = state.notify as Array<{ sink: string }>;
    const nats = sinks.find((sink) => sink.sink.startsWith('nats '));
    report.notify = { webhooks: sinks.filter((sink) => sink !== nats), ...(nats ? { nats } : {}) };
  }
  if (context.json) return;
  const lines: string[] = [];
  const schedule = report.schedule as { enabled: boolean; mode: string; expression: string; next_restart: string | null; remaining_s: number | null } | null;
  if (!schedule) lines.push('scheduled restarts: not configured');
  else {
    const when = schedule.next_restart ? `, next restart ${isoInZone(new Date(schedule.next_restart), null)} (in ${formatDuration((schedule.remaining_s ?? 0) * 1000)})` : '';
    lines.push(`scheduled restarts: ${schedule.enabled ? 'enabled' : 'disabled'} (${schedule.mode}: ${schedule.expression})${when}`);
  }
  const disk = system.disk.total > 0 ? `, disk ${formatBytes(system.disk.used)}/${formatBytes(system.disk.total)} (${diskUsedPercent(system.disk)}% used)` : '';
  const gpus = system.gpus.map((gpu, index) => `, gpu${index} ${gpu.name} ${formatBytes(gpu.memory_used)}/${formatBytes(gpu.memory_total)}`).join('');
  lines.push(`system: memory ${formatBytes(system.memory.used)}/${formatBytes(system.memory.total)}${disk}${gpus}`);
  for (const sink of (state?.notify as { sink: string; sent: number; failed: number; dropped: number }[] | undefined) ?? []) {
    lines.push(`notify ${sink.sink}: sent ${sink.sent}, failed ${sink.failed}, dropped ${sink.dropped}`);
  }
  if (report.events.length > 0) {
    lines.push('recent events:');
    for (const event of report.events) lines.push(...formatRestartLogEntry(event).trimEnd().split('\n').map((line) => `  ${line}`));
  }
  report.text_extra = `${lines.join('\n')}\n`;
}
