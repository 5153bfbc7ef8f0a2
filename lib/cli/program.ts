/** The control CLI's commands, parsed with commander. Heavy modules load lazily, per command. */
import { Command, CommanderError } from 'commander';
import { type CliContext, type CliIo, resolveContext } from './context.ts';
import { statusCommand } from './status.ts';
import { sendControlRequest } from '../control/client.ts';
import { reportCliError } from '../core/errors.ts';
import type { ControlCommand } from '../control/protocol.ts';
import { socketPath, statePaths } from '../config/paths.ts';
import { runningSupervisorPid } from '../process/pid-file.ts';
import { isAlive } from '../process/proc.ts';
import { registerBootCommands } from './boot.ts';

/** Parses with commander, runs the command and reports its errors; returns the exit code. */
export async function runProgram(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, (code) => { exitCode = code; });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return reportCliError(error, io.stderr);
  }
}

function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('restart-control')
    .description('Control the restart-control supervisor: status, start/stop/restart services, schedules, logs.')
    .option('--config <file>', 'config file (default: $RESTART_CONTROL_CONFIG or ./restart-control.yaml)')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  const context = (command: Command, requireConfig = true): CliContext => resolveContext((command.optsWithGlobals() as { config?: string }).config, io, { requireConfig });
  const sub = (name: string, description: string) =>
    program.command(name).description(description).option('--config <file>', 'config file').exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  sub('status', 'show services, their state, pid, uptime, restarts and last exit')
    .argument('[service...]', 'only these services')
    .option('--json', 'machine-readable output')
    .action(async (names: string[], options: { json?: boolean }, command: Command) => {
      setExit(await statusCommand(io, context(command), names, Boolean(options.json)));
    });

  for (const [name, description] of [
    ['start', 'start services (no name = all)'],
    ['stop', 'stop services, whole process trees (no name = all)'],
    ['restart', 'restart services gracefully (no name = all)'],
    ['force-restart', 'restart now, ignoring and resetting the restart limit; without names, the full restart sequence'],
  ] as const) {
    const command = sub(name, description).argument('[service...]', 'services');
    if (name === 'force-restart') command.option('--wait-idle', 'wait for the schedule\'s wait_idle check first');
    // Issue 11: start, restart and force-restart return once the services are ready
    if (name !== 'stop') command.option('--no-wait', 'return once spawned, without waiting for readiness');
    command.action(async (names: string[], options: { waitIdle?: boolean; wait?: boolean }, cmd: Command) => {
      const noWait = options.wait === false;
      const ctx = context(cmd);
      const { showWaitProgress } = await import('./wait-progress.ts');
      const stopProgress = name === 'stop' || noWait ? () => undefined : showWaitProgress(ctx.stateDir, names, io.stderr, Boolean(process.stderr.isTTY));
      try {
        setExit(await control(io, ctx, name, names, { waitIdle: Boolean(options.waitIdle), noWait }, stopProgress));
      } finally {
        stopProgress();
      }
    });
  }

  sub('reload', 're-read the config file and apply it: restart only what changed').action(async (_: unknown, cmd: Command) => {
    setExit(await control(io, context(cmd), 'reload', [], {}));
  });

  sub('shutdown', 'stop every service and then the supervisor').option('--timeout <duration>', 'how long to wait for it (default: the longest stop_timeout + 20s)').action(async (options: { timeout?: string }, cmd: Command) => {
    setExit(await shutdown(io, context(cmd), options.timeout));
  });

  sub('config', 'print the effective config')
    .option('--check', 'only validate: exit 0 when valid, 2 when not')
    .option('--show-origin', 'print every effective value with where it came from')
    .action(async (options: { check?: boolean; showOrigin?: boolean }, cmd: Command) => {
      const { configCommand } = await import('./config.ts');
      setExit(configCommand(io, context(cmd).configFile, options));
    });

  sub('enable', 'turn scheduled restarts on (persisted in state_dir)').action(async (_: unknown, cmd: Command) => {
    const { setScheduleEnabled } = await import('./schedule.ts');
    setExit(await setScheduleEnabled(io, context(cmd).stateDir, true));
  });
  sub('disable', 'turn scheduled restarts off (persisted; running services are not stopped)').action(async (_: unknown, cmd: Command) => {
    const { setScheduleEnabled } = await import('./schedule.ts');
    setExit(await setScheduleEnabled(io, context(cmd).stateDir, false));
  });
  sub('next', 'print the next restart times, one ISO-8601 time per line')
    .option('--count <n>', 'how many', '5')
    .option('--cron <expr>', 'check this cron expression instead of the config\'s')
    .option('--interval <duration>', 'check this interval instead of the config\'s')
    .option('--timezone <zone>', 'time zone for --cron (default: the config\'s, else the machine\'s)')
    .action(async (options: Record<string, string>, cmd: Command) => {
      const { nextCommand } = await import('./schedule.ts');
      setExit(nextCommand(io, context(cmd, !options.cron && !options.interval).configFile, options));
    });

  sub('logs', 'the restart log, or the output of services (several are interleaved by time)')
    .argument('[service...]', 'services whose output to show')
    .option('-n <lines>', 'last N lines (default 50, or all with --since)')
    .option('-f, --follow', 'keep printing new lines, across rotations, until Ctrl-C')
    .option('--since <duration>', 'only lines from the last DURATION (e.g. 1h)')
    .action(async (names: string[], options: { n?: string; follow?: boolean; since?: string }, cmd: Command) => {
      const { logsCommand } = await import('./logs.ts');
      const { configFile, stateDir } = context(cmd);
      setExit(await logsCommand(io, configFile, stateDir, names, options));
    });
  sub('events', 'the event stream (events.jsonl), human-readable or raw JSON lines')
    .option('-n <count>', 'last N events (default 50)')
    .option('-f, --follow', 'keep printing new events until Ctrl-C')
    .option('--json', 'raw JSON lines')
    .option('--service <name>', 'only this service')
    .option('--type <type>', 'only this event type (comma-separated for several)')
    .action(async (options: { n?: string; follow?: boolean; json?: boolean; service?: string; type?: string }, cmd: Command) => {
      const { eventsCommand } = await import('./logs.ts');
      setExit(await eventsCommand(io, context(cmd).stateDir, options));
    });

  sub('web', 'print the web page\'s URL (with the token link when web.token is set)').action(async (_: unknown, cmd: Command) => {
    const { webCommand } = await import('./web.ts');
    setExit(await webCommand(io, context(cmd).configFile));
  });

  const notify = program.command('notify').description('notifications').exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  notify.command('test').description('send a test event to every configured sink and report each result')
    .option('--event <type>', 'event type of the test event', 'crashed')
    .option('--config <file>', 'config file')
    .exitOverride()
    .action(async (options: { event: string }, cmd: Command) => {
      const { notifyTestCommand } = await import('./notify.ts');
      setExit(await notifyTestCommand(io, context(cmd).configFile, options.event));
    });

  registerBootCommands(sub, io, (command) => context(command).configFile, setExit);

  return program;
}

async function control(io: CliIo, context: CliContext, command: ControlCommand, services: string[], options: Record<string, unknown>, beforeOutput?: () => void): Promise<number> {
  const response = await sendControlRequest(socketPath(context.stateDir), { command, services, options });
  beforeOutput?.(); // the progress line of a wait goes before the answer is printed
  for (const message of response.messages ?? []) io.stdout(`${message}\n`);
  if (!response.ok) {
    io.stderr(`error: ${response.error ?? 'request failed'}\n`);
    return response.exitCode ?? 1;
  }
  return 0;
}

async function shutdown(io: CliIo, context: CliContext, timeout?: string): Promise<number> {
  const { shutdownCommand } = await import('./shutdown.ts');
  let limitMs: number | undefined;
  if (timeout !== undefined) {
    const { parseDurationMs, MAX_TIMER_DURATION_MS } = await import('../config/duration.ts');
    limitMs = parseDurationMs(timeout);
    if (limitMs === undefined || limitMs > MAX_TIMER_DURATION_MS) {
      io.stderr(`error: --timeout: expected a duration such as 30s or 2m (at most 24d), got ${JSON.stringify(timeout)}\n`);
      return 2;
    }
  }
  return shutdownCommand(io, context, () => control(io, context, 'shutdown', [], {}), limitMs);
}
