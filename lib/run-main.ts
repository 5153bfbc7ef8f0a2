/** `./run.ts`: load the config, then run the supervisor in the foreground or detached. */
import { Command, CommanderError } from 'commander';
import { loadConfig } from './config.ts';
import { ConfigError, SupervisorError, errorMessage } from './errors.ts';
import { AlreadyRunningError, runningSupervisorPid } from './lock.ts';
import { statePaths } from './paths.ts';

interface RunOptions {
  config?: string;
  detach?: boolean;
}

export async function runMain(argv: string[]): Promise<number> {
  const program = new Command('run.ts')
    .description('The restart-control supervisor: starts the services of a config file and keeps them alive.')
    .option('--config <file>', 'config file (default: $RESTART_CONTROL_CONFIG or ./restart-control.yaml)')
    .option('--detach', 'run in the background (own session); return once the services are started')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const options = program.opts<RunOptions>();
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
    const { runForeground } = await import('./foreground.ts');
    return await runForeground(config);
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
