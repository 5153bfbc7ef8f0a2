/**
 * `install-hook systemd`: a unit that runs the supervisor in the foreground (systemd tracks it), `--user` by default or
 * system-wide with `--system` (root). systemctl is run when systemd is running; otherwise the commands are printed.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { SupervisorError } from '../core/errors.ts';
import { execProgram, findProgram } from './exec.ts';
import { type HookOptions, type HookReport, type HookTarget, configHash, hookTag } from './target.ts';

/** Beyond the largest stop_timeout (services stop in parallel): room for hooks and the supervisor's own exit. */
export const STOP_MARGIN_SEC = 30;

export interface SystemdOptions extends HookOptions {
  system: boolean;
  /** Largest stop_timeout of the config, ms (install only). */
  maxStopTimeoutMs?: number;
}

export function unitName(configFile: string): string {
  const stem = basename(configFile, extname(configFile)).toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'config';
  return `restart-control-${stem}-${configHash(configFile)}.service`;
}

export function unitDir(system: boolean, env: NodeJS.ProcessEnv): string {
  if (system) return '/etc/systemd/system';
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'systemd', 'user');
}

/** A word of an Exec line: quoted when needed; % is a specifier and $ an expansion in unit files. */
function execWord(word: string): string {
  const quoted = /^[\w./:@+=,-]+$/.test(word) ? word : `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return quoted.replaceAll('%', '%%').replaceAll('$', () => '$$');
}

export function unitText(target: HookTarget, options: { system: boolean; maxStopTimeoutMs: number }): string {
  const timeoutSec = Math.ceil(options.maxStopTimeoutMs / 1000) + STOP_MARGIN_SEC;
  const check = ['/bin/sh', '-c', '"$0" status --config "$1" >/dev/null 2>&1; [ $? -eq 3 ]', target.cliTs, target.configFile];
  return [
    `# ${hookTag(target.configFile)}`,
    '# Written by `restart-control.ts install-hook systemd`; remove it with `restart-control.ts uninstall-hook systemd --config FILE`.',
    '[Unit]',
    `Description=restart-control supervisor for ${target.configFile.replaceAll('%', '%%')}`,
    ...(options.system ? ['After=network-online.target', 'Wants=network-online.target'] : []),
    '',
    '[Service]',
    '# Foreground: systemd tracks the supervisor itself.',
    'Type=simple',
    `WorkingDirectory=${dirname(target.configFile).replaceAll('%', '%%')}`,
    `Environment=${execWord(`NODE=${target.node}`)}`,
    '# Started only when no supervisor already runs for this config (status exits 3), e.g. one started by cron.',
    `ExecCondition=${check.map(execWord).join(' ')}`,
    `ExecStart=${[target.runTs, '--config', target.configFile].map(execWord).join(' ')}`,
    '# SIGHUP makes the supervisor re-read its config.',
    'ExecReload=/bin/kill -HUP $MAINPID',
    '# SIGTERM to the supervisor only: it stops every service tree gracefully; what is left at the timeout gets SIGKILL.',
    'KillMode=mixed',
    `# Above the largest stop_timeout (${options.maxStopTimeoutMs / 1000}s) plus ${STOP_MARGIN_SEC}s.`,
    `TimeoutStopSec=${timeoutSec}`,
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    `WantedBy=${options.system ? 'multi-user.target' : 'default.target'}`,
    '',
  ].join('\n');
}

/** sd_booted(): systemd is PID 1 when this directory exists. */
function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

export async function systemdHook(action: 'install' | 'uninstall', target: HookTarget, options: SystemdOptions, env: NodeJS.ProcessEnv): Promise<HookReport> {
  if (options.system && process.getuid?.() !== 0) {
    throw new SupervisorError('hook.not-root', `${action}-hook systemd --system needs root (the unit goes to /etc/systemd/system); without --system it is a --user unit`, 1);
  }
  const name = unitName(target.configFile);
  const file = join(unitDir(options.system, env), name);
  const scope = options.system ? [] : ['--user'];
  const commands = action === 'install'
    ? [[...scope, 'daemon-reload'], [...scope, 'enable', '--now', name]]
    : [[...scope, 'disable', '--now', name], [...scope, 'daemon-reload']];
  const shown = commands.map((args) => `  systemctl ${args.join(' ')}`);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : null;
  if (before !== null && !before.startsWith(`# ${hookTag(target.configFile)}\n`)) {
    throw new SupervisorError('hook.foreign-unit', `${file} exists and was not written for ${target.configFile}; not touching it`, 1);
  }
  const wanted = action === 'install' ? unitText(target, { system: options.system, maxStopTimeoutMs: options.maxStopTimeoutMs ?? 0 }) : null;
  if (before === wanted) {
    const line = action === 'install' ? `systemd: ${file} is already installed for ${target.configFile}; nothing changed` : `systemd: no unit for ${target.configFile} (${file}); nothing changed`;
    return { lines: [line], exitCode: 0 };
  }
  if (options.dryRun) {
    const body = wanted === null ? [`- remove ${file}`] : [`+ write ${file}:`, ...wanted.trimEnd().split('\n').map((line) => `    ${line}`)];
    return { lines: [`systemd: would change (dry run, nothing changed):`, ...body, '  then run:', ...shown], exitCode: 0 };
  }
  const lines: string[] = [];
  if (wanted !== null) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, wanted);
    lines.push(`systemd: wrote ${file} (TimeoutStopSec above the largest stop_timeout)`);
  } else if (!systemdRunning()) {
    rmSync(file, { force: true });
    lines.push(`systemd: removed ${file}${removeWantsLinks(dirname(file), name) ? ' and its enablement links' : ''}`);
  }
  const systemctl = findProgram('systemctl', env);
  if (!systemdRunning() || !systemctl) {
    lines.push(`systemd is not running here (no /run/systemd/system)${systemctl ? '' : ' and systemctl is missing'}; run these where it is:`, ...shown);
    if (action === 'install' && !options.system) lines.push('  loginctl enable-linger "$USER"   # so the --user unit starts at boot, before any login');
    return { lines, exitCode: 0 };
  }
  for (const args of commands) {
    if (wanted === null && args.includes('daemon-reload')) {
      rmSync(file, { force: true });
      lines.push(`systemd: removed ${file}`);
    }
    const result = await execProgram(systemctl, args, { env });
    if (result.code !== 0) {
      lines.push(`error: systemctl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim().split('\n')[0]}`);
      return { lines, exitCode: 1 };
    }
    lines.push(`systemd: ran systemctl ${args.join(' ')}`);
  }
  return { lines, exitCode: 0 };
}

/** `systemctl enable` left `<dir>/<target>.wants/<unit>` links; without a running systemd we remove them ourselves. */
function removeWantsLinks(dir: string, name: string): boolean {
  let removed = false;
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir)) {
    const link = join(dir, entry, name);
    if (!entry.endsWith('.wants') || !existsSync(dirname(link))) continue;
    try {
      if (lstatSync(link).isSymbolicLink() && basename(readlinkSync(link)) === name) {
        rmSync(link);
        removed = true;
      }
    } catch {
      // no link here
    }
  }
  return removed;
}
