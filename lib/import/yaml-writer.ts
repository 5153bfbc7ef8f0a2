/** Turns an import result into our YAML, with the notes as comments (the `yaml` package's Document API). */
import { Document, isScalar, type Node, type Pair, YAMLMap, YAMLSeq } from 'yaml';
import type { ImportResult, ImportedService } from './model.ts';

/** `header`: comment lines at the top of the file (where it came from). */
export function importToYaml(result: ImportResult, header: string[]): string {
  const doc = new Document();
  const root = new YAMLMap();
  for (const [key, value] of result.top) root.add(pairWithNote(doc, key, value, result.topNotes.get(key)));
  const services = new YAMLSeq();
  for (const service of result.services) services.items.push(serviceNode(doc, service));
  root.add(doc.createPair('services', services));
  doc.contents = root as unknown as typeof doc.contents;
  doc.commentBefore = header.map((line) => ` ${line}`).join('\n');
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function serviceNode(doc: Document, service: ImportedService): YAMLMap {
  const map = new YAMLMap();
  map.add(doc.createPair('name', service.name));
  for (const [key, value] of service.settings) map.add(pairWithNote(doc, key, value, service.keyNotes.get(key)));
  if (service.notes.length > 0) map.commentBefore = service.notes.map((note) => ` ${note}`).join('\n');
  return map;
}

function pairWithNote(doc: Document, key: string, value: unknown, note: string | undefined): Pair {
  const pair = doc.createPair(key, value);
  const node = pair.value as Node;
  // Short lists of scalars read best inline: `watch: [src, lib]`
  if (node instanceof YAMLSeq && node.items.every((item) => isScalar(item)) && node.items.length <= 8) node.flow = true;
  // Beside a scalar; above the key of a map or a block list (a comment after one would land below it)
  if (note !== undefined && isScalar(node)) node.comment = ` ${note}`;
  else if (note !== undefined && node instanceof YAMLSeq && node.flow) node.comment = ` ${note}`;
  else if (note !== undefined) (pair.key as Node).commentBefore = ` ${note}`;
  return pair;
}
