/**
 * `install-hook jupyter`: a tagged block in jupyter_server_config.py that starts the supervisor in the background when
 * the Jupyter server starts (Paperspace notebooks, any JupyterLab). The block never delays or fails the server: it
 * spawns `run.ts --detach` without waiting, reaps it on a daemon thread, and catches every error.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { shellQuote } from '../core/shell.ts';
import { execProgram, findProgram } from './exec.ts';
import { type HookOptions, type HookReport, type HookTarget, hookTag } from './target.ts';
import { blockMarkers, removeBlock, replaceBlock } from './tagged.ts';

export const JUPYTER_CONFIG_FILE = 'jupyter_server_config.py';

/** JSON string literals are valid Python string literals. */
const py = (text: string) => JSON.stringify(text);

export function jupyterBlock(target: HookTarget): string[] {
  const { start, end } = blockMarkers(hookTag(target.configFile));
  const argv = [target.runTs, '--config', target.configFile, '--detach'];
  return [
    start,
    '# Added by `restart-control.ts install-hook jupyter`: starts the supervisor in the background when the Jupyter',
    '# server starts, without delaying or failing it. Remove with `restart-control.ts uninstall-hook jupyter --config FILE`.',
    'def _restart_control_start(config, state_dir, node, argv):',
    '    import os, subprocess, threading',
    '    try:',
    '        os.makedirs(state_dir, exist_ok=True)',
    "        with open(os.path.join(state_dir, 'hook.log'), 'ab') as log:",
    '            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,',
    "                                     env=dict(os.environ, NODE=node), start_new_session=True, close_fds=True)",
    '        threading.Thread(target=child.wait, daemon=True).start()  # reaps it; the server never waits',
    '    except Exception as error:',
    "        print('restart-control: could not start the supervisor for %s: %s' % (config, error))",
    `_restart_control_start(${py(target.configFile)}, ${py(target.stateDir)}, ${py(target.node)}, [${argv.map(py).join(', ')}])`,
    'del _restart_control_start',
    end,
  ];
}

/** The one line for a notebook with no persistent start-up (Colab): run it in the first cell. */
export function colabLine(target: HookTarget): string {
  return `!NODE=${shellQuote(target.node)} ${shellQuote(target.runTs)} --config ${shellQuote(target.configFile)} --detach`;
}

/** `jupyter --config-dir`, else $JUPYTER_CONFIG_DIR (what jupyter itself would print), else ~/.jupyter. */
export async function jupyterConfigDir(env: NodeJS.ProcessEnv): Promise<string> {
  const jupyter = findProgram('jupyter', env);
  if (jupyter) {
    const result = await execProgram(jupyter, ['--config-dir'], { env });
    const dir = result.stdout.trim();
    if (result.code === 0 && dir.startsWith('/')) return dir;
  }
  if (env.JUPYTER_CONFIG_DIR) return env.JUPYTER_CONFIG_DIR;
  return join(env.HOME || homedir(), '.jupyter');
}

export async function jupyterHook(action: 'install' | 'uninstall', target: HookTarget, options: HookOptions, env: NodeJS.ProcessEnv): Promise<HookReport> {
  const file = join(await jupyterConfigDir(env), JUPYTER_CONFIG_FILE);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const tag = hookTag(target.configFile);
  const edit = action === 'install' ? replaceBlock(before, tag, jupyterBlock(target)) : removeBlock(before, tag);
  const colab = action === 'install' ? [`Colab (no persistent start-up): put this line in the notebook's first cell:`, `  ${colabLine(target)}`] : [];
  if (!edit.changed) {
    const line = action === 'install' ? `jupyter: already installed in ${file} for ${target.configFile}; nothing changed` : `jupyter: no hook for ${target.configFile} in ${file}; nothing changed`;
    return { lines: [line, ...colab], exitCode: 0 };
  }
  if (options.dryRun) {
    const shown = action === 'install' ? jupyterBlock(target).map((line) => `+ ${line}`) : edit.removed.map((line) => `- ${line}`);
    return { lines: [`jupyter: would change ${file} (dry run, nothing changed):`, ...shown, ...colab], exitCode: 0 };
  }
  if (edit.text === '' && action === 'uninstall') rmSync(file, { force: true });
  else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, edit.text);
  }
  const summary = action === 'install'
    ? `jupyter: installed the start-up hook in ${file} for ${target.configFile} (output: ${target.hookLog}); it runs when the Jupyter server next starts`
    : `jupyter: removed the hook for ${target.configFile} from ${file}`;
  return { lines: [summary, ...colab], exitCode: 0 };
}
