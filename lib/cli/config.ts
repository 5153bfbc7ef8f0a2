/** `config`, `config --check`, `config --show-origin`. */
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.ts';
import { configToDisplay, flattenWithOrigins } from '../config/display.ts';
import { commandWarnings } from '../config/warnings.ts';
import type { CliIo } from './context.ts';

export function configCommand(io: CliIo, configFile: string, options: { check?: boolean; showOrigin?: boolean }): number {
  const { config, origins, rawKeys, lineOf } = loadConfig({ flag: configFile, env: io.env, cwd: io.cwd });
  if (options.check) {
    for (const warning of commandWarnings(config, io.env, lineOf)) io.stderr(`${warning}\n`);
    io.stdout(`${configFile}: OK (${config.services.length} service${config.services.length === 1 ? '' : 's'})\n`);
    return 0;
  }
  if (options.showOrigin) {
    for (const { key, value, origin } of flattenWithOrigins(configToDisplay(config, true), origins, rawKeys)) io.stdout(`${key} = ${JSON.stringify(value)}  (${origin})\n`);
    return 0;
  }
  io.stdout(`# effective config of ${config.file}: defaults filled in, environment overrides applied, secrets shown as ***\n`);
  io.stdout(stringify(configToDisplay(config)));
  return 0;
}
