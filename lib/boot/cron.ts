/**
 * `install-hook cron`: an `@reboot` line and an every-5-minutes "ensure it is up" line in the user's crontab, through
 * `crontab -l` / `crontab -`. Each line ends in a comment with the config's absolute path, which is how uninstall finds
 * exactly its own lines; every other line is kept byte for byte.
 */
import { userInfo } from 'node:os';
import { shellQuote } from '../core/shell.ts';
import { SupervisorError } from '../core/errors.ts';
import { execProgram, findProgram } from './exec.ts';
import { type HookOptions, type HookReport, type HookTarget, hookTag } from './target.ts';
import { replaceTaggedLines } from './tagged.ts';

export const CRON_SCHEDULES = ['@reboot', '*/5 * * * *'] as const;

/** cron turns an unescaped % into a newline (the rest becomes stdin): every % in our lines is escaped. */
function cronEscape(text: string): string {
  return text.replaceAll('%', '\\%');
}

/** The shell command of both lines: works with cron's PATH=/usr/bin:/bin and before state_dir exists. */
export function cronCommand(target: HookTarget): string {
  const { stateDir, hookLog, node, runTs, configFile } = target;
  return `mkdir -p ${shellQuote(stateDir)} && NODE=${shellQuote(node)} ${shellQuote(runTs)} --config ${shellQuote(configFile)} --detach >> ${shellQuote(hookLog)} 2>&1`;
}

export function cronLines(target: HookTarget): string[] {
  const tail = cronEscape(`${cronCommand(target)} # ${hookTag(target.configFile)}`);
  return CRON_SCHEDULES.map((schedule) => `${schedule} ${tail}`);
}

function isOurs(configFile: string): (line: string) => boolean {
  const tag = cronEscape(` # ${hookTag(configFile)}`);
  return (line) => line.endsWith(tag);
}

export async function cronHook(action: 'install' | 'uninstall', target: HookTarget, options: HookOptions, env: NodeJS.ProcessEnv): Promise<HookReport> {
  const crontab = findProgram('crontab', env);
  if (!crontab) {
    throw new SupervisorError('hook.no-crontab', 'no crontab command found: install the Debian package cron (apt-get install cron), or use install-hook jupyter or install-hook systemd instead', 1);
  }
  const before = await readCrontab(crontab, env);
  const edit = replaceTaggedLines(before, isOurs(target.configFile), action === 'install' ? cronLines(target) : []);
  const who = `${userInfo().username}'s crontab`;
  if (!edit.changed) {
    return { lines: [action === 'install' ? `cron: already installed in ${who} for ${target.configFile}; nothing changed` : `cron: no hook for ${target.configFile} in ${who}; nothing changed`], exitCode: 0 };
  }
  const added = action === 'install' ? cronLines(target) : [];
  const diff = [...edit.removed.map((line) => `- ${line}`), ...added.map((line) => `+ ${line}`)];
  if (options.dryRun) return { lines: [`cron: would change ${who} (dry run, nothing changed):`, ...diff], exitCode: 0 };
  await writeCrontab(crontab, edit.text, env);
  const summary = action === 'install'
    ? `cron: installed ${added.length} lines in ${who} for ${target.configFile} (output: ${target.hookLog})`
    : `cron: removed ${edit.removed.length} lines from ${who} for ${target.configFile}`;
  return { lines: [summary, ...diff], exitCode: 0 };
}

async function readCrontab(crontab: string, env: NodeJS.ProcessEnv): Promise<string> {
  const result = await execProgram(crontab, ['-l'], { env });
  if (result.code === 0) return result.stdout;
  if (/no crontab for/i.test(result.stderr)) return '';
  throw new SupervisorError('hook.crontab', `crontab -l failed (exit ${result.code}): ${result.stderr.trim().split('\n')[0]}`, 1);
}

/** An empty result removes the crontab (`crontab -r`), so a user who had none is left with none. */
async function writeCrontab(crontab: string, text: string, env: NodeJS.ProcessEnv): Promise<void> {
  const result = text === '' ? await execProgram(crontab, ['-r'], { env }) : await execProgram(crontab, ['-'], { env, input: text });
  if (result.code !== 0) throw new SupervisorError('hook.crontab', `crontab ${text === '' ? '-r' : '-'} failed (exit ${result.code}): ${result.stderr.trim().split('\n')[0]}`, 1);
}
