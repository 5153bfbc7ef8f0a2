/** Load the YAML config: parse, validate (file:line: key: problem), apply env overrides, normalise. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { LineCounter, isMap, parseDocument, visit, type Document } from 'yaml';
import { validateRawConfig, type RawConfig, type SchemaIssue } from './schema.ts';
import { ConfigError } from '../core/errors.ts';
import { applyEnvOverrides, type Origins } from './env.ts';
import { checkDirectory, normaliseConfig, restartWindowProblem } from './normalise.ts';
import { parseDurationMs } from './duration.ts';
import type { Config } from '../core/types.ts';
import { missingConfigMessage, resolveConfigPath } from './paths.ts';
import { collectRawKeys } from './display.ts';

export { resolveConfigPath };

export interface LoadedConfig {
  config: Config;
  origins: Origins;
  /** Flattened keys present in the file, for `config --show-origin`. */
  rawKeys: Set<string>;
  /** The line of a key path in the file (for warnings). */
  lineOf: (path: (string | number)[]) => number;
}

export interface LoadOptions {
  /** The --config flag, if given. */
  flag?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Throws ConfigError with one line per problem. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const file = resolveConfigPath(options.flag, env, options.cwd);
  if (!existsSync(file)) throw new ConfigError([missingConfigMessage(options.flag, env, options.cwd)]);
  return parseConfigText(readFileSync(file, 'utf8'), file, env, options.flag ? 'flag --config' : env.RESTART_CONTROL_CONFIG ? 'env RESTART_CONTROL_CONFIG' : 'default');
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env, fileOrigin = 'flag --config'): LoadedConfig {
  const name = basename(file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((error) => {
      const line = lineCounter.linePos(error.pos[0]).line;
      return `${name}:${line}: YAML error: ${error.message.split('\n')[0]}`;
    }));
  }
  const input = documentValue(doc, lineCounter, name);
  const parsed = validateRawConfig(input);
  if (!parsed.ok) {
    // Cross-field checks too, so that one run names every problem
    const issues = [...parsed.issues, ...crossCheckRawServices(input, dirname(file))];
    const sorted = issues.sort((a, b) => lineOf(doc, lineCounter, a.path) - lineOf(doc, lineCounter, b.path));
    throw new ConfigError(sorted.map((issue) => describeIssue(issue, input, doc, lineCounter, name)));
  }
  const raw: RawConfig = parsed.value;
  const origins: Origins = new Map([['config', fileOrigin]]);
  const withEnv = applyEnvOverrides(raw, env, origins, name);
  const lineOfPath = (path: (string | number)[]) => lineOf(doc, lineCounter, path);
  const config = normaliseConfig(withEnv, { file, env, origins, lineOf: lineOfPath });
  return { config, origins, rawKeys: collectRawKeys(input), lineOf: lineOfPath };
}

/** The document as plain data. Aliases fail only here (an anchor used before it is set, too many aliases): a refusal with its line, not a stack. */
function documentValue(doc: Document, lineCounter: LineCounter, name: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (error) {
    let line = 1;
    visit(doc, {
      Alias: (_key, alias) => {
        if (alias.resolve(doc) !== undefined) return undefined;
        line = alias.range ? lineCounter.linePos(alias.range[0]).line : 1;
        return visit.BREAK;
      },
    });
    throw new ConfigError([`${name}:${line}: YAML error: ${(error as Error).message.split('\n')[0]}`]);
  }
}

function describeIssue(issue: SchemaIssue, input: unknown, doc: Document, lineCounter: LineCounter, name: string): string {
  const where = `${name}:${lineOf(doc, lineCounter, issue.path)}: ${formatPath(issue.path) || '(top level)'}`;
  if (issue.unknownKey) return `${where}: unknown key${issue.suggestion ? ` (did you mean ${issue.suggestion}?)` : ''}`;
  const missing = issue.path.length > 0 && valueAt(input, issue.path) === undefined;
  return `${where}: ${missing ? 'required key is missing' : issue.message}`;
}

/** `services[1].restart_sec` */
export function formatPath(path: (string | number)[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

/** Line of the key (or the closest existing parent) at `path`; 1 when nothing matches. */
export function lineOf(doc: Document, lineCounter: LineCounter, path: (string | number)[]): number {
  for (let length = path.length; length > 0; length--) {
    const parent = length > 1 ? doc.getIn(path.slice(0, length - 1), true) : doc.contents;
    const key = path[length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
      const range = (pair?.key as { range?: [number, number, number] } | null)?.range;
      if (range) return lineCounter.linePos(range[0]).line;
    }
    const node = doc.getIn(path.slice(0, length), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}


export function configFolder(file: string): string {
  return dirname(resolve(file));
}

/** Duplicate names and missing cwds, on a config the schema refused (normaliseConfig checks them otherwise). */
function crossCheckRawServices(input: unknown, folder: string): SchemaIssue[] {
  const services = (input as { services?: unknown } | null)?.services;
  if (!Array.isArray(services)) return [];
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  services.forEach((service: unknown, index) => {
    const { name, cwd, restart_window: window, restart_max: max } = (service ?? {}) as { name?: unknown; cwd?: unknown; restart_window?: unknown; restart_max?: unknown };
    const windowProblem = restartWindowProblem(parseDurationMs(window), typeof max === 'number' ? max : undefined);
    if (windowProblem) issues.push({ path: ['services', index, 'restart_window'], message: windowProblem, unknownKey: false });
    if (typeof name === 'string') {
      if (seen.has(name)) issues.push({ path: ['services', index, 'name'], message: `duplicate service name "${name}"`, unknownKey: false });
      seen.add(name);
    }
    const problem = typeof cwd === 'string' ? checkDirectory(resolve(folder, cwd)) : null;
    if (problem) issues.push({ path: ['services', index, 'cwd'], message: problem, unknownKey: false });
  });
  return issues;
}

function valueAt(input: unknown, path: (string | number)[]): unknown {
  let value = input;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return value;
}
