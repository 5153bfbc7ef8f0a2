/** What every CLI command needs: where to write, the environment, and which config and state_dir it is about. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { missingConfigMessage, readStateDirLenient, resolveConfigPath } from '../config/paths.ts';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CliContext {
  configFile: string;
  stateDir: string;
}

/**
 * state_dir is read leniently: a config that is invalid right now must not stop `status` or `stop`. A config file that
 * does not exist is an error (exit 2, naming the paths tried), unless its state_dir holds a supervisor's state: a
 * supervisor whose file was deleted or moved can still be asked about and shut down.
 */
export function resolveContext(configFlag: string | undefined, io: CliIo, options: { requireConfig?: boolean } = {}): CliContext {
  // An empty --config would resolve to a folder, and `enable` would create a state_dir beside it
  if (configFlag !== undefined && configFlag.trim() === '') throw new ConfigError(['--config: expected a config file path, got an empty string']);
  const configFile = resolveConfigPath(configFlag, io.env, io.cwd);
  const stateDir = readStateDirLenient(configFile, io.env);
  if (options.requireConfig !== false && !existsSync(configFile) && !existsSync(join(stateDir, 'state.json'))) {
    throw new ConfigError([missingConfigMessage(configFlag, io.env, io.cwd)]);
  }
  return { configFile, stateDir };
}
