/** `import pm2|supervisord|procfile FILE`: read the file as that format and produce our YAML and the warnings. */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ImportError, type ImportFormat, type ImportResult } from './model.ts';
import { importToYaml } from './yaml-writer.ts';

export interface ConvertOptions {
  /** pm2 `--env NAME`. */
  env?: string;
}

export interface Converted {
  yaml: string;
  warnings: string[];
}

export async function convertFile(format: ImportFormat, file: string, options: ConvertOptions = {}): Promise<Converted> {
  const path = resolve(file);
  const result = await readAs(format, path, options);
  const header = [
    `restart-control config imported from ${path} (${format})`,
    `by \`restart-control.ts import ${format}\`. Check it with \`restart-control.ts config --check --config FILE\`.`,
  ];
  header.push(...result.fileNotes);
  if (result.warnings.length > 0) header.push(`${result.warnings.length} setting(s) had no equivalent: see the comments beside the services.`);
  return { yaml: importToYaml(result, header), warnings: result.warnings };
}

async function readAs(format: ImportFormat, path: string, options: ConvertOptions): Promise<ImportResult> {
  switch (format) {
    case 'pm2': {
      const [{ loadEcosystem }, { importPm2 }] = await Promise.all([import('./pm2-load.ts'), import('./pm2.ts')]);
      return importPm2(path, await loadEcosystem(path, readText(path)), options);
    }
    case 'supervisord': {
      const { importSupervisord } = await import('./supervisord.ts');
      return importSupervisord(path);
    }
    case 'procfile': {
      const { importProcfile } = await import('./procfile.ts');
      return importProcfile(path, readText(path));
    }
    default: {
      const never: never = format;
      throw new ImportError(`unknown format ${String(never)}`);
    }
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ImportError(`${basename(path)}: cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
