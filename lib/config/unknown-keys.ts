/** Every unknown key of a config, each with the known key it is probably a typo of: valibot stops at the first per map. */
import { closestMatch } from '../core/suggest.ts';

/** One unknown key (schema.ts's SchemaIssue has this shape: no import back, so no circle). */
export interface UnknownKeyIssue {
  path: (string | number)[];
  message: string;
  unknownKey: true;
  suggestion: string | null;
}

/** The parts of a valibot schema the walk reads (valibot's own types are too deep for this). */
interface SchemaNode {
  type: string;
  entries?: Record<string, SchemaNode>;
  item?: SchemaNode;
  wrapped?: SchemaNode;
  options?: SchemaNode[];
  value?: SchemaNode;
}

/** Walks `input` beside `schema`: maps against strict objects' entries, lists against their item schema. */
export function unknownKeyIssues(schema: unknown, input: unknown, path: (string | number)[] = []): UnknownKeyIssue[] {
  const node = schema as SchemaNode;
  if (input === null || typeof input !== 'object') return [];
  if (node.wrapped) return unknownKeyIssues(node.wrapped, input, path);
  if (node.options) {
    // A union: the first option of the input's shape (a list or a map)
    const option = node.options.find((candidate) => (candidate.type === 'array') === Array.isArray(input) && (candidate.type !== 'string'));
    return option ? unknownKeyIssues(option, input, path) : [];
  }
  if (node.type === 'array' && node.item && Array.isArray(input)) {
    return input.flatMap((item, index) => unknownKeyIssues(node.item, item, [...path, index]));
  }
  if (node.type === 'record' && node.value && !Array.isArray(input)) {
    return Object.entries(input).flatMap(([key, value]) => unknownKeyIssues(node.value, value, [...path, key]));
  }
  if ((node.type === 'strict_object' || node.type === 'object') && node.entries && !Array.isArray(input)) {
    const entries = node.entries;
    const known = Object.keys(entries);
    return Object.entries(input).flatMap(([key, value]) => {
      if (!Object.hasOwn(entries, key)) {
        return node.type === 'strict_object' ? [{ path: [...path, key], message: 'unknown key', unknownKey: true, suggestion: closestMatch(key, known) }] : [];
      }
      return unknownKeyIssues(entries[key], value, [...path, key]);
    });
  }
  return [];
}
