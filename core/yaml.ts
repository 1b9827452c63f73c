/**
 * Parsing YAML written by people (the config, proposal files) so that every problem is a
 * located message, never an exception: syntax errors, duplicate keys (checked in linear
 * time: the yaml library's own check compares each key with every earlier one), unresolved
 * aliases and alias floods ("billion laughs") all come back in `problems`.
 */
import { LineCounter, isAlias, isMap, isScalar, parseDocument, visit, type Document, type Node } from 'yaml';

export interface YamlProblem {
  message: string;
  line?: number;
  column?: number;
}

export interface ParsedYaml {
  doc: Document.Parsed;
  lines: LineCounter;
  /** The document as plain data; undefined when there are problems. */
  value: unknown;
  problems: YamlProblem[];
}

export interface ParseOptions {
  schema?: 'core' | 'failsafe';
  /** Alias resolutions allowed (each one counted by the size it expands to). Default 100. */
  maxAliasCount?: number;
}

function at(lines: LineCounter, node: { range?: readonly number[] | null } | null | undefined): { line?: number; column?: number } {
  const offset = node?.range?.[0];
  if (offset === undefined) return {};
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return `${typeof key.value}:${String(key.value)}`;
  return undefined;
}

/** Duplicate keys of every mapping, each map checked with a Set. */
function duplicateKeys(doc: Document.Parsed, lines: LineCounter): YamlProblem[] {
  const problems: YamlProblem[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const text = keyText(pair.key);
        if (text === undefined) continue;
        if (seen.has(text)) {
          problems.push({ ...at(lines, pair.key as Node), message: `duplicate key ${JSON.stringify(String((pair.key as { value: unknown }).value))}` });
        }
        seen.add(text);
      }
    },
  });
  return problems;
}

/** Where the alias behind a toJS failure is: the first alias without an earlier anchor, else the first alias. */
function aliasProblem(doc: Document.Parsed, lines: LineCounter, error: Error): YamlProblem {
  const anchors = new Set<string>();
  let unresolved: Node | undefined;
  let first: Node | undefined;
  visit(doc, (_, node) => {
    if (isAlias(node)) {
      first ??= node;
      if (!anchors.has(node.source) && !unresolved) unresolved = node;
    } else if (node && typeof node === 'object' && 'anchor' in node && typeof (node as { anchor?: unknown }).anchor === 'string') {
      anchors.add((node as { anchor: string }).anchor);
    }
  });
  const excessive = /excessive alias count/i.test(error.message);
  if (excessive) return { ...at(lines, first), message: 'too many YAML aliases (more than the 100 allowed): the document would expand beyond any sensible size' };
  if (unresolved && isAlias(unresolved)) {
    return { ...at(lines, unresolved), message: `alias *${unresolved.source} refers to no anchor &${unresolved.source} defined before it` };
  }
  return { ...at(lines, first), message: `invalid YAML: ${error.message}` };
}

/** Parses `text`; problems instead of exceptions. */
export function parseYaml(text: string, options: ParseOptions = {}): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: true, schema: options.schema ?? 'core' });
  const problems: YamlProblem[] = doc.errors.map((error) => {
    const pos = error.linePos?.[0];
    const message = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
    return { line: pos?.line, column: pos?.col, message };
  });
  if (problems.length) return { doc, lines, value: undefined, problems };
  problems.push(...duplicateKeys(doc, lines));
  if (problems.length) return { doc, lines, value: undefined, problems };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: options.maxAliasCount ?? 100 });
  } catch (error) {
    problems.push(aliasProblem(doc, lines, error as Error));
    return { doc, lines, value: undefined, problems };
  }
  return { doc, lines, value, problems };
}

/** Whether the document has no content at all (empty, or only comments). */
export function isEmptyDocument(parsed: ParsedYaml): boolean {
  return parsed.doc.contents === null || (isScalar(parsed.doc.contents) && parsed.doc.contents.value === null && !parsed.doc.contents.range?.[1]);
}

export { isMap };
