/**
 * Loads byoci's YAML configuration.
 *
 * - Namespaces (from the seed): top-level `production`, `testing`, `selftest` sections hold
 *   per-setup values; the active one (`--namespace`, `BYOCI_NAMESPACE`, or the `byoci:` key,
 *   default `production`) is merged over the top level. `{byoci}` expands to its name, so
 *   `{{byoci}.landing.user}` is the landing user of the active namespace.
 * - `{path.to.option}` in any string expands to that option's value (looked up in the
 *   merged settings, then in the whole document); `${...}` is left for the shell.
 *   `{configDir}` is the directory of the config file.
 * - `-O path=value` overrides an option before anything else (value parsed as YAML).
 * - Every problem (syntax, unknown key, wrong type, unresolved reference) is collected and
 *   reported at once with file and line.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYamlValue, type Document, type LineCounter } from 'yaml';
import { ConfigError, type ConfigProblem } from './errors.js';
import { settingsSchema, type Settings } from './config-schema.js';
import { FILE_LIMITS, FileReadError, firstInvalidUtf8, lineOf, readRegularFileSync } from './files.js';
import { parseYaml } from './yaml.js';
import { describeIssue, didYouMean, optionNames, withReceived } from './zod-issues.js';

export const NAMESPACES = ['production', 'testing', 'selftest'] as const;

export interface LoadOptions {
  /** Path of the YAML file. */
  file?: string;
  /** YAML text instead of a file (tests); `file` still names it in messages. */
  text?: string;
  /** `path=value` overrides (`-O`). */
  overrides?: readonly string[];
  namespace?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  file: string | undefined;
  configDir: string;
  namespace: string;
  settings: Settings;
  /** Where an option of the merged settings is written (file, line), when known. */
  locate(path: readonly (string | number)[]): Pick<ConfigProblem, 'file' | 'line' | 'column'> | undefined;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys that name JavaScript machinery, not options: never looked up, never assigned. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Sets an own property, whatever its name (`__proto__` included): plain data, never the prototype. */
function put(obj: Obj, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

function own(obj: Obj, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(base)) put(out, key, value);
  for (const [key, value] of Object.entries(over)) {
    const prev = own(out, key);
    put(out, key, isObj(prev) && isObj(value) ? deepMerge(prev, value) : value);
  }
  return out;
}

function getPath(root: Json, path: readonly string[]): Json | undefined {
  let node: Json | undefined = root;
  for (const key of path) {
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(key)) return undefined;
      node = node[Number(key)];
    } else if (isObj(node)) node = own(node, key);
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

function setPath(root: Obj, path: readonly string[], value: Json): void {
  let node: Obj = root;
  for (const key of path.slice(0, -1)) {
    const next = own(node, key);
    if (!isObj(next)) put(node, key, {});
    node = own(node, key) as Obj;
  }
  put(node, path[path.length - 1] as string, value);
}

/** Problems for keys such as `__proto__` anywhere in `node`: unknown options, reported as such. */
function reservedKeys(node: Json, path: (string | number)[], out: (string | number)[][]): void {
  if (Array.isArray(node)) node.forEach((item, i) => reservedKeys(item, [...path, i], out));
  else if (isObj(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (RESERVED_KEYS.has(key)) out.push([...path, key]);
      else reservedKeys(value, [...path, key], out);
    }
  }
}

/** `{name}` not preceded by `$`, innermost first (no braces inside). */
const REFERENCE = /(?<!\$)\{([A-Za-z_][\w.-]*)\}/;

/**
 * Placeholders filled at run time by the feature that uses them, kept verbatim by the
 * loader: `{ids}` (failed test ids, `test.retry`), `{revision}` and `{proposal}` (remote CI
 * triggers and links). A config option of the same name cannot be referenced.
 */
export const RUNTIME_PLACEHOLDERS: ReadonlySet<string> = new Set(['ids', 'revision', 'proposal']);

class Locator {
  constructor(
    readonly file: string | undefined,
    readonly doc: Document | undefined,
    readonly lines: LineCounter,
    readonly namespace: string,
    readonly overridden: ReadonlySet<string>,
  ) {}

  /** Location of a node by document path; walks up to the nearest existing parent. */
  at(docPath: readonly (string | number)[]): { file?: string; line?: number; column?: number } | undefined {
    if (!this.doc) return undefined;
    for (let n = docPath.length; n >= 0; n--) {
      const node = this.doc.getIn(docPath.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) {
        const pos = this.lines.linePos(node.range[0]);
        return { file: this.file, line: pos.line, column: pos.col };
      }
      if (n === 0) break;
    }
    return undefined;
  }

  /** Location of an option of the merged settings: the namespace first, then the top level. */
  option(path: readonly (string | number)[]): Pick<ConfigProblem, 'file' | 'line' | 'column'> | undefined {
    if (this.overridden.has(path.join('.'))) return { file: '-O' };
    const exact = (p: readonly (string | number)[]) => this.doc?.hasIn(p);
    if (exact([this.namespace, ...path])) return this.at([this.namespace, ...path]);
    if (exact(path)) return this.at(path);
    // Missing key: point at the deepest existing parent, in the namespace if it has one.
    for (let n = path.length - 1; n >= 0; n--) {
      if (exact([this.namespace, ...path.slice(0, n)])) return this.at([this.namespace, ...path.slice(0, n)]);
      if (n === 0 || exact(path.slice(0, n))) return this.at(path.slice(0, n));
    }
    return { file: this.file };
  }
}

function parseOverrides(overrides: readonly string[], problems: ConfigProblem[]): [string[], Json][] {
  const out: [string[], Json][] = [];
  for (const item of overrides) {
    const eq = item.indexOf('=');
    const path = eq > 0 ? item.slice(0, eq).trim() : '';
    if (eq <= 0 || !/^[A-Za-z_][\w-]*(\.[\w-]+)*$/.test(path)) {
      problems.push({ file: '-O', message: `expected option=value, got ${JSON.stringify(item)}` });
      continue;
    }
    const reserved = path.split('.').find((key) => RESERVED_KEYS.has(key));
    if (reserved) {
      problems.push({ file: '-O', path, message: `unknown option (${reserved} is not an option name)` });
      continue;
    }
    let value: Json;
    try {
      value = parseYamlValue(item.slice(eq + 1)) as Json;
    } catch {
      value = item.slice(eq + 1);
    }
    out.push([path.split('.'), value ?? '']);
  }
  return out;
}

/** Longest chain of `{a}` → `{b}` → … references followed. */
export const MAX_REFERENCE_DEPTH = 16;
/** Longest string an expansion may produce (characters). */
export const MAX_EXPANDED_LENGTH = 64 * 1024;
/** Most references expanded in one string. */
const MAX_REFERENCES_PER_STRING = 64;

/**
 * Expands `{references}` in every string of `settings`; unresolved ones become problems.
 * Each referenced option is expanded once (then reused), so nested references cost linear
 * work; chains deeper than MAX_REFERENCE_DEPTH, cycles and results longer than
 * MAX_EXPANDED_LENGTH are problems, not hangs.
 */
function interpolate(
  settings: Obj,
  document: Obj,
  vars: Record<string, string>,
  problems: ConfigProblem[],
  locate: (path: (string | number)[]) => Pick<ConfigProblem, 'file' | 'line' | 'column'> | undefined,
): Obj {
  const done = new Map<string, string>();
  const report = (path: (string | number)[], message: string) => problems.push({ ...locate(path), path: path.join('.'), message });

  function lookup(name: string, stack: readonly string[], path: (string | number)[]): string | undefined {
    if (Object.hasOwn(vars, name)) return vars[name];
    const keys = name.split('.');
    if (keys.some((k) => RESERVED_KEYS.has(k))) return undefined;
    const value = getPath(settings, keys) ?? getPath(document, keys);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'object') {
      report(path, `{${name}} is a section, not a value`);
      return '';
    }
    if (typeof value !== 'string') return String(value);
    const cached = done.get(name);
    if (cached !== undefined) return cached;
    if (stack.includes(name)) {
      const cycle = [...stack.slice(stack.indexOf(name)), name].map((n) => `{${n}}`).join(' → ');
      report(path, stack[stack.length - 1] === name && stack.length === 1 ? `{${name}} refers to itself` : `the references form a cycle: ${cycle}`);
      return '';
    }
    if (stack.length >= MAX_REFERENCE_DEPTH) {
      report(path, `references nested more than ${MAX_REFERENCE_DEPTH} deep (${[...stack, name].map((n) => `{${n}}`).join(' → ')})`);
      return '';
    }
    const expanded = expand(value, [...stack, name], path);
    done.set(name, expanded);
    return expanded;
  }

  /** Runtime placeholders were hidden from the reference pattern while expanding. */
  const restore = (text: string) => text.replace(/\u0000([\w.-]+)\u0001/g, '{$1}');

  function expand(text: string, stack: readonly string[], path: (string | number)[]): string {
    let out = text;
    for (let count = 0; ; count++) {
      const match = REFERENCE.exec(out);
      if (!match) return restore(out);
      const name = match[1] as string;
      if (RUNTIME_PLACEHOLDERS.has(name)) {
        out = out.slice(0, match.index) + `\u0000${name}\u0001` + out.slice(match.index + match[0].length);
        continue;
      }
      if (count >= MAX_REFERENCES_PER_STRING) {
        report(path, `more than ${MAX_REFERENCES_PER_STRING} {references} in one value`);
        return restore(out);
      }
      const value = lookup(name, stack, path);
      // An unknown one becomes a marker that no longer matches, so that the others still resolve.
      const replacement = value ?? `<${name}?>`;
      if (value === undefined) report(path, `unknown option {${name}}`);
      if (out.length - match[0].length + replacement.length > MAX_EXPANDED_LENGTH) {
        report(path, `expanding {${name}} makes the value longer than ${MAX_EXPANDED_LENGTH} characters`);
        return restore(out.slice(0, match.index));
      }
      out = out.slice(0, match.index) + replacement + out.slice(match.index + match[0].length);
    }
  }

  function walk(node: Json, path: (string | number)[]): Json {
    if (typeof node === 'string') return expand(node, [], path);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (isObj(node)) {
      const out: Obj = {};
      for (const [key, value] of Object.entries(node)) put(out, key, walk(value, [...path, key]));
      return out;
    }
    return node;
  }
  return walk(settings, []) as Obj;
}

/** Loads, merges, interpolates and validates; throws ConfigError with every problem. */
export function loadConfig(options: LoadOptions): LoadedConfig {
  const env = options.env ?? process.env;
  const file = options.file ? resolve(options.file) : undefined;
  const configDir = file ? dirname(file) : process.cwd();
  const problems: ConfigProblem[] = [];

  let text = options.text;
  if (text === undefined) {
    if (!file) throw new ConfigError([{ message: 'no configuration file given (use --config or BYOCI_CONFIG)', code: 'config-not-given' }]);
    let bytes: Buffer;
    try {
      bytes = readRegularFileSync(file, FILE_LIMITS.config);
    } catch (error) {
      const problem = error instanceof FileReadError ? error.problem : 'unreadable';
      const message =
        problem === 'missing' ? 'configuration file not found' : error instanceof FileReadError ? error.message.slice(file.length + 2) : `cannot read: ${(error as Error).message}`;
      throw new ConfigError([{ file, message, code: problem === 'missing' ? 'config-missing' : 'config-unreadable' }]);
    }
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const bad = Math.max(0, firstInvalidUtf8(bytes));
      const pos = lineOf(bytes.subarray(0, bad).toString('utf8'), bad);
      throw new ConfigError([{ file, line: pos.line, message: `not UTF-8 text (byte 0x${bytes[bad]!.toString(16)} at offset ${bad}): save the file as UTF-8`, code: 'config-unreadable' }]);
    }
  }

  const parsedYaml = parseYaml(text);
  const { doc, lines } = parsedYaml;
  for (const p of parsedYaml.problems) problems.push({ file, line: p.line, column: p.column, message: p.message, code: 'config-parse' });
  if (problems.length) throw new ConfigError(problems);

  if (parsedYaml.value === null || parsedYaml.value === undefined) {
    throw new ConfigError([{ file, line: 1, message: 'the configuration is empty (no options, only comments or blank lines): see README.md for an example' }]);
  }
  const raw = parsedYaml.value;
  if (!isObj(raw)) throw new ConfigError([{ file, line: 1, message: 'the configuration must be a mapping of options' }]);
  const document = raw as Obj;

  const overrides = parseOverrides(options.overrides ?? [], problems);

  const chosen = options.namespace ?? env.BYOCI_NAMESPACE;
  const byoci = own(document, 'byoci');
  if (byoci !== undefined && typeof byoci !== 'string') {
    problems.push({ ...at(doc, lines, file, ['byoci']), path: 'byoci', message: `expected the name of a namespace (${NAMESPACES.join(', ')}), got ${describeValue(byoci)}` });
  }
  const namespace = chosen ?? (typeof byoci === 'string' ? byoci : 'production');
  if (!(NAMESPACES as readonly string[]).includes(namespace) && !isObj(own(document, namespace))) {
    const where = chosen === undefined ? { ...at(doc, lines, file, ['byoci']), path: 'byoci' } : { file: options.namespace !== undefined ? '--namespace' : 'BYOCI_NAMESPACE' };
    problems.push({ ...where, message: `unknown namespace ${JSON.stringify(namespace)}: expected one of ${NAMESPACES.join(', ')}, or a top-level section of that name` });
  }
  const namespaces = new Set<string>([...NAMESPACES, namespace]);
  const base: Obj = {};
  for (const [key, value] of Object.entries(document)) if (!namespaces.has(key)) put(base, key, value);
  const section = own(document, namespace);
  if (section !== undefined && section !== null && !isObj(section)) {
    problems.push({ ...at(doc, lines, file, [namespace]), path: namespace, message: `namespace ${namespace} must be a mapping of options, got ${describeValue(section)}` });
  }
  // -O applies to the document when it names a namespace, else to the merged settings.
  for (const [path, value] of overrides) if (namespaces.has(path[0] as string)) setPath(document, path, value);
  const current = own(document, namespace);
  const merged = deepMerge(base, isObj(current) ? current : {});
  for (const [path, value] of overrides) if (!namespaces.has(path[0] as string)) setPath(merged, path, value);

  const locator = new Locator(file, doc, lines, namespace, new Set(overrides.map(([p]) => p.join('.'))));
  const locate = (path: readonly (string | number)[]) => locator.option(path);
  const expanded = interpolate(merged, document, { byoci: namespace, configDir }, problems, (p) => locate(p));
  const reserved: (string | number)[][] = [];
  reservedKeys(expanded, [], reserved);
  for (const path of reserved) {
    problems.push({ ...locate(path), path: path.join('.'), message: `unknown option (${String(path[path.length - 1])} is not an option name)` });
  }
  if (reserved.length) throw new ConfigError(problems);

  const parsed = settingsSchema.safeParse(expanded);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        // One problem per unknown key, located at the key itself.
        for (const key of issue.keys) {
          const path = [...issue.path, key];
          problems.push({ ...locate(path), path: path.join('.'), message: `unknown option${didYouMean(key, optionNames(settingsSchema, issue.path))}` });
        }
        continue;
      }
      problems.push({ ...locate(issue.path), path: issue.path.join('.'), message: withReceived(describeIssue(issue, settingsSchema), issue, expanded) });
    }
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);

  const settings = parsed.data;
  const fromConfig = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
  settings.workdir = fromConfig(settings.workdir);
  settings.artefacts = fromConfig(settings.artefacts);
  return { file, configDir, namespace, settings, locate };
}

/** Location of a document node (no namespace lookup). */
function at(doc: Document, lines: LineCounter, file: string | undefined, path: (string | number)[]): Pick<ConfigProblem, 'file' | 'line' | 'column'> {
  const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
  if (node && typeof node === 'object' && node.range) {
    const pos = lines.linePos(node.range[0]);
    return { file, line: pos.line, column: pos.col };
  }
  return { file };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
