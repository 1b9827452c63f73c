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
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parse as parseYaml, parseDocument, type Document } from 'yaml';
import { ConfigError, type ConfigProblem } from './errors.js';
import { settingsSchema, type Settings } from './config-schema.js';

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

function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isObj(prev) && isObj(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function getPath(root: Json, path: readonly string[]): Json | undefined {
  let node: Json | undefined = root;
  for (const key of path) {
    if (!isObj(node) && !Array.isArray(node)) return undefined;
    node = Array.isArray(node) ? node[Number(key)] : node[key];
    if (node === undefined) return undefined;
  }
  return node;
}

function setPath(root: Obj, path: readonly string[], value: Json): void {
  let node: Obj = root;
  path.slice(0, -1).forEach((key) => {
    const next = node[key];
    if (!isObj(next)) node[key] = {};
    node = node[key] as Obj;
  });
  node[path[path.length - 1] as string] = value;
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
    let value: Json;
    try {
      value = parseYaml(item.slice(eq + 1)) as Json;
    } catch {
      value = item.slice(eq + 1);
    }
    out.push([path.split('.'), value ?? '']);
  }
  return out;
}

/** Expands `{references}` in every string of `settings`; unresolved ones become problems. */
function interpolate(
  settings: Obj,
  document: Obj,
  vars: Record<string, string>,
  problems: ConfigProblem[],
  locate: (path: (string | number)[]) => Pick<ConfigProblem, 'file' | 'line' | 'column'> | undefined,
): Obj {
  function lookup(name: string, seen: Set<string>, path: (string | number)[]): string | undefined {
    if (name in vars) return vars[name];
    const keys = name.split('.');
    const value = getPath(settings, keys) ?? getPath(document, keys);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'object') {
      problems.push({ ...locate(path), path: path.join('.'), message: `{${name}} is a section, not a value` });
      return '';
    }
    if (seen.has(name)) {
      problems.push({ ...locate(path), path: path.join('.'), message: `{${name}} refers to itself` });
      return '';
    }
    return typeof value === 'string' ? expand(value, new Set([...seen, name]), path) : String(value);
  }

  function expand(text: string, seen: Set<string>, path: (string | number)[]): string {
    let out = text;
    for (let guard = 0; guard < 64; guard++) {
      const match = REFERENCE.exec(out);
      if (!match) return out.replace(/\u0000([\w.-]+)\u0001/g, '{$1}');
      const name = match[1] as string;
      if (RUNTIME_PLACEHOLDERS.has(name)) {
        out = out.slice(0, match.index) + `\u0000${name}\u0001` + out.slice(match.index + match[0].length);
        continue;
      }
      const value = lookup(name, seen, path);
      if (value === undefined) {
        problems.push({ ...locate(path), path: path.join('.'), message: `unknown option {${name}}` });
        // Replace by a marker that no longer matches so that other references still resolve.
        out = out.slice(0, match.index) + `<${name}?>` + out.slice(match.index + match[0].length);
        continue;
      }
      out = out.slice(0, match.index) + value + out.slice(match.index + match[0].length);
    }
    problems.push({ ...locate(path), path: path.join('.'), message: 'too many nested {references}' });
    return out;
  }

  function walk(node: Json, path: (string | number)[]): Json {
    if (typeof node === 'string') return expand(node, new Set(), path);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (isObj(node)) {
      const out: Obj = {};
      for (const [key, value] of Object.entries(node)) out[key] = walk(value, [...path, key]);
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
    if (!file) throw new ConfigError([{ message: 'no configuration file given (use --config or BYOCI_CONFIG)' }]);
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError([
        { file, message: code === 'ENOENT' ? 'configuration file not found' : `cannot read: ${(error as Error).message}` },
      ]);
    }
  }

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  for (const error of doc.errors) {
    const pos = error.linePos?.[0];
    problems.push({ file, line: pos?.line, column: pos?.col, message: error.message.split('\n')[0] ?? error.message });
  }
  if (doc.errors.length) throw new ConfigError(problems);

  const raw = doc.toJS() ?? {};
  if (!isObj(raw)) throw new ConfigError([{ file, line: 1, message: 'the configuration must be a mapping of options' }]);
  const document = raw as Obj;

  const overrides = parseOverrides(options.overrides ?? [], problems);

  const namespace =
    options.namespace ?? env.BYOCI_NAMESPACE ?? (typeof document.byoci === 'string' ? document.byoci : 'production');
  const namespaces = new Set<string>([...NAMESPACES, namespace]);
  const base: Obj = {};
  for (const [key, value] of Object.entries(document)) if (!namespaces.has(key)) base[key] = value;
  const section = document[namespace];
  if (section !== undefined && !isObj(section)) {
    problems.push({ file, message: `namespace ${namespace} must be a mapping of options` });
  }
  // -O applies to the document when it names a namespace, else to the merged settings.
  for (const [path, value] of overrides) if (namespaces.has(path[0] as string)) setPath(document, path, value);
  const current = document[namespace];
  const merged = deepMerge(base, isObj(current) ? current : {});
  for (const [path, value] of overrides) if (!namespaces.has(path[0] as string)) setPath(merged, path, value);

  const locator = new Locator(file, doc, lines, namespace, new Set(overrides.map(([p]) => p.join('.'))));
  const locate = (path: readonly (string | number)[]) => locator.option(path);
  const expanded = interpolate(merged, document, { byoci: namespace, configDir }, problems, (p) => locate(p));

  const parsed = settingsSchema.safeParse(expanded);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        // One problem per unknown key, located at the key itself.
        for (const key of issue.keys) {
          const path = [...issue.path, key];
          problems.push({ ...locate(path), path: path.join('.'), message: 'unknown option' });
        }
        continue;
      }
      problems.push({ ...locate(issue.path), path: issue.path.join('.'), message: describeIssue(issue) });
    }
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);

  const settings = parsed.data;
  const fromConfig = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
  settings.workdir = fromConfig(settings.workdir);
  settings.artefacts = fromConfig(settings.artefacts);
  return { file, configDir, namespace, settings, locate };
}

function describeIssue(issue: { code: string; message: string; received?: unknown }): string {
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return 'required option is missing';
  return issue.message;
}
