/** `status [service...] [--json]`: answered from the state files and /proc, never through the supervisor. */
import type { CliContext, CliIo } from './context.ts';
import { SupervisorError } from '../core/errors.ts';
import { addScheduleStatus } from './status-extra.ts';
import { formatStatusTable, readStatus } from './status-report.ts';

/** Exit 0 when the supervisor runs, 3 when it does not (the last known state is shown). */
export async function statusCommand(io: CliIo, context: CliContext, names: string[], json: boolean): Promise<number> {
  const { stateDir, configFile } = context;
  const report = readStatus(stateDir, names);
  const unknown = names.filter((name) => report.services.every((service) => service.name !== name));
  if (unknown.length > 0) {
    throw new SupervisorError('status.unknown-service', `unknown service ${unknown.map((n) => `"${n}"`).join(', ')}`, 2);
  }
  await addScheduleStatus(report, { stateDir, configFile, env: io.env, json });
  if (json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout(formatStatusTable(report) + (report.text_extra ? String(report.text_extra) : ''));
  delete report.text_extra;
  return report.supervisor.running ? 0 : 3;
}
