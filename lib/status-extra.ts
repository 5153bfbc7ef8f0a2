/** Sections that later features add to `status`: schedule, system resources. */
import { type StatusReport } from './status.ts';

export interface ExtraContext {
  stateDir: string;
  configFile: string;
  env: NodeJS.ProcessEnv;
  json: boolean;
}

export async function addScheduleStatus(_report: StatusReport, _context: ExtraContext): Promise<void> {}
