/** Shell text the supervisor builds for hooks, probes and command sinks: quoting, and `.ts` commands through tsx. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

let tsxLoader: string | undefined;

/** The project's tsx loader. Found by walking up to package.json: lib/<folder>/x.ts and dist/x.cjs sit at different depths. */
function tsxLoaderPath(): string {
  if (tsxLoader) return tsxLoader;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  tsxLoader = join(dir, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  return tsxLoader;
}

/** A command whose first word is a `.ts` file runs through node and the project's tsx, so hooks can be TypeScript. */
export function tsShellCommand(command: string): string {
  const text = command.trim();
  const firstWord = text.split(/\s+/, 1)[0] ?? '';
  if (!/\.ts["']?$/.test(firstWord)) return command;
  return `${shellQuote(process.execPath)} --import ${shellQuote(tsxLoaderPath())} ${text}`;
}
