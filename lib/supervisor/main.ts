/** `./run.ts`: load the config, then run the supervisor in the foreground or detached. */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { ConfigError, SupervisorError, errorMessage } from '../core/errors.ts';
import { AlreadyRunningError, runningSupervisorPid } from './lock.ts';
import { statePaths } from '../config/paths.ts';
import { MARKER_ENV, RUN_ENV } from '../process/markers.ts';

interface RunOptions {
  config?: string;
  detach?: boolean;
  waitReady?: boolean;
}

const USAGE = `Usage: run.ts [--config FILE] [--detach [--wait-ready]]

The restart-control supervisor: starts the services of a config file and keeps them alive.

Options:
  --config <file>  config file (default: $RESTART_CONTROL_CONFIG or ./restart-control.yaml)
  --detach         run in the background (own session); return once the services are started
  --wait-ready     with --detach: return once the services are ready (exit 1 naming any that is not)
  -h, --help       show this help
`;

const processOutput = { stdout: (text: string) => void process.stdout.write(text), stderr: (text: string) => void process.stderr.write(text) };

/** node:util's parseArgs, not commander: the supervisor lives for weeks, and commander costs ~5 MB of its heap. Exported for the fuzz test. */
export function parseRunArgs(argv: string[], output = processOutput): RunOptions | number {
  try {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, detach: { type: 'boolean' }, 'wait-ready': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      output.stdout(USAGE);
      return 0;
    }
    if (values.config !== undefined && values.config.trim() === '') throw new Error('--config: expected a config file path, got an empty string');
    return { config: values.config, detach: values.detach, waitReady: values['wait-ready'] };
  } catch (error) {
    output.stderr(`error: ${errorMessage(error)}\n${USAGE}`);
    return 2;
  }
}

export async function runMain(argv: string[]): Promise<number> {
  // Started from inside a managed service (a Jupyter cell): its markers would make our hooks, probes and notify
  // commands look like members of that service's tree, and its stops would kill them
  delete process.env[MARKER_ENV];
  delete process.env[RUN_ENV];
  const options = parseRunArgs(argv);
  if (typeof options === 'number') return options;
  try {
    const { config } = loadConfig({ flag: options.config });
    if (options.detach) {
      const running = runningSupervisorPid(statePaths(config.stateDir).supervisorPid);
      if (running !== null) {
        process.stdout.write(`already running (pid ${running})\n`);
        return 0;
      }
      const { detachSupervisor } = await import('./detach.ts');
      return await detachSupervisor(config, argv);
    }
    const { runForeground, READY_FD_ENV } = await import('./foreground.ts');
    // Launched by --detach: its output goes to supervisor.log, which rotates like the other logs
    if (process.env[READY_FD_ENV]) (await import('../logs/supervisor-log.ts')).installSupervisorLog(statePaths(config.stateDir).supervisorLog, config.logs);
    return await runForeground(config, { waitReady: Boolean(options.waitReady) });
  } catch (error) {
    if (error instanceof AlreadyRunningError) {
      process.stderr.write(`${error.message}\n`);
      return options.detach ? 0 : 1;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof SupervisorError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    return 1;
  }
}
