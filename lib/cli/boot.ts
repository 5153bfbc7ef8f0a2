/** `install-hook` / `uninstall-hook cron|jupyter|systemd` and `import pm2|supervisord|procfile FILE`. */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliIo } from './context.ts';
import { SupervisorError } from '../core/errors.ts';
import { HOOK_KINDS, type HookKind, type HookReport, hookTarget } from '../boot/target.ts';
import { IMPORT_FORMATS, type ImportFormat } from '../import/model.ts';

type Sub = (name: string, description: string) => Command;

export function registerBootCommands(sub: Sub, io: CliIo, configFileOf: (command: Command) => string, setExit: (code: number) => void): void {
  for (const action of ['install', 'uninstall'] as const) {
    sub(`${action}-hook`, action === 'install'
      ? 'start the supervisor at boot: cron (@reboot + every 5 min), jupyter (Jupyter server start-up) or systemd (a unit)'
      : 'remove this config\'s boot hook (cron, jupyter or systemd)')
      .argument('<kind>', HOOK_KINDS.join('|'))
      .option('--dry-run', 'print what would change and change nothing')
      .option('--system', 'systemd: a system-wide unit (root) instead of a --user unit')
      .option('--user', 'systemd: a --user unit (the default)')
      .action(async (kind: string, options: { dryRun?: boolean; system?: boolean; user?: boolean }, command: Command) => {
        setExit(await hookCommand(io, action, kind, configFileOf(command), options));
      });
  }
  sub('import', 'convert a PM2 ecosystem file, a supervisord.conf or a Procfile into our YAML')
    .argument('<format>', IMPORT_FORMATS.join('|'))
    .argument('<file>', 'the file to convert')
    .option('--out <file>', 'write to this file instead of stdout (refuses to overwrite without --force)')
    .option('--force', 'overwrite the --out file')
    .option('--env <name>', 'pm2: use env_<name> over env')
    .action(async (format: string, file: string, options: { out?: string; force?: boolean; env?: string }) => {
      setExit(await importCommand(io, format, file, options));
    });
}

async function hookCommand(io: CliIo, action: 'install' | 'uninstall', kind: string, configFile: string, options: { dryRun?: boolean; system?: boolean; user?: boolean }): Promise<number> {
  if (!(HOOK_KINDS as readonly string[]).includes(kind)) {
    io.stderr(`error: ${action}-hook: expected one of ${HOOK_KINDS.join('|')}, got ${JSON.stringify(kind)}\n`);
    return 2;
  }
  if ((options.system || options.user) && kind !== 'systemd') {
    io.stderr(`error: --${options.system ? 'system' : 'user'} is for ${action}-hook systemd only\n`);
    return 2;
  }
  if (options.system && options.user) {
    io.stderr(`error: ${action}-hook systemd: --user and --system exclude each other\n`);
    return 2;
  }
  let maxStopTimeoutMs = 0;
  if (action === 'install') {
    // A hook for a config the supervisor would refuse is no use: check it first (exit 2 with every problem)
    const { loadConfig } = await import('../config/load.ts');
    const { config } = loadConfig({ flag: configFile, env: io.env, cwd: io.cwd });
    maxStopTimeoutMs = Math.max(0, ...config.services.map((service) => service.stopTimeoutMs));
  }
  const target = hookTarget(configFile);
  const hookOptions = { dryRun: Boolean(options.dryRun) };
  let report: HookReport;
  switch (kind as HookKind) {
    case 'cron':
      report = await (await import('../boot/cron.ts')).cronHook(action, target, hookOptions, io.env);
      break;
    case 'jupyter':
      report = await (await import('../boot/jupyter.ts')).jupyterHook(action, target, hookOptions, io.env);
      break;
    case 'systemd':
      report = await (await import('../boot/systemd.ts')).systemdHook(action, target, { ...hookOptions, system: Boolean(options.system), maxStopTimeoutMs }, io.env);
      break;
  }
  for (const line of report.lines) (line.startsWith('error: ') ? io.stderr : io.stdout)(`${line}\n`);
  return report.exitCode;
}

async function importCommand(io: CliIo, format: string, file: string, options: { out?: string; force?: boolean; env?: string }): Promise<number> {
  if (!(IMPORT_FORMATS as readonly string[]).includes(format)) {
    io.stderr(`error: import: expected one of ${IMPORT_FORMATS.join('|')}, got ${JSON.stringify(format)}\n`);
    return 2;
  }
  if (options.env !== undefined && format !== 'pm2') {
    io.stderr('error: --env is for import pm2 only\n');
    return 2;
  }
  const out = options.out === undefined ? undefined : resolve(io.cwd, options.out);
  if (out !== undefined && existsSync(out) && !options.force) {
    throw new SupervisorError('import.exists', `${out} already exists; use --force to overwrite it`, 1);
  }
  const { convertFile } = await import('../import/convert.ts');
  const { yaml, warnings } = await convertFile(format as ImportFormat, resolve(io.cwd, file), { env: options.env });
  for (const warning of warnings) io.stderr(`warning: ${warning}\n`);
  if (out === undefined) io.stdout(yaml);
  else {
    writeFileSync(out, yaml);
    io.stdout(`wrote ${out} (${warnings.length === 0 ? 'everything mapped' : `${warnings.length} warning${warnings.length === 1 ? '' : 's'}`})\n`);
  }
  return 0;
}
