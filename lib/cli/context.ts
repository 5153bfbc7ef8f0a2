/** What every CLI command needs: where to write, the environment, and which config and state_dir it is about. */
import { readStateDirLenient, resolveConfigPath } from '../config/paths.ts';
import { ConfigError } from '../core/errors.ts';

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

/** state_dir is read leniently: a config that is invalid right now must not stop `status` or `stop`. */
export function resolveContext(configFlag: string | undefined, io: CliIo): CliContext {
  // An empty --config would resolve to a folder, and `enable` would create a state_dir beside it
  if (configFlag !== undefined && configFlag.trim() === '') throw new ConfigError(['--config: expected a config file path, got an empty string']);
  const configFile = resolveConfigPath(configFlag, io.env, io.cwd);
  return { configFile, stateDir: readStateDirLenient(configFile, io.env) };
}
