/**
 * The documentation of the configuration against its schemas, in both directions:
 * - every option shown in a YAML example of README.md, docs/, secrets/README.md and
 *   plugins/<name>/README.md (commented-out `# key: value` lines included) and every
 *   backticked option path in their prose (`queue.slots`, `plugins.lxd.spares`) exists in
 *   the schema that validates it (core/config-schema.ts, core/queue/config.ts,
 *   secrets/config.ts, brain/config.ts, each plugin's `config` and its forge's target schema);
 * - every option of those schemas is documented where its users look (the main README for
 *   core, the brain and the secrets; the plugin's own README for a plugin): shown in a YAML
 *   example, or named in backticks;
 * - a default stated in an example's comment (`mirrorMaxAge: 30d  # default 14d`, or
 *   `events: [...]  # default`) is the schema's default.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { brainConfigSchema } from '../../brain/config.js';
import { settingsSchema, targetSchema as coreTargetSchema } from '../../core/config-schema.js';
import { NAMESPACES } from '../../core/config.js';
import { BUILTINS } from '../../plugins/index.js';
import { secretsConfigSchema } from '../../secrets/config.js';

type Schema = z.ZodTypeAny;

interface Group {
  /** `core`, `brain`, `secrets` or a plugin name. */
  name: string;
  schema: Schema;
  /** Where its keys sit in the config file. */
  prefix: string;
  /** Files where an operator looks for these options. */
  docs: string[];
}

const plugins = await Promise.all(BUILTINS.map(async (b) => ({ name: b.name, plugin: await b.load() })));
const pluginSchema = new Map(plugins.flatMap(({ name, plugin }) => (plugin.config ? [[name, plugin.config as Schema] as const] : [])));
const forgeSchema = new Map(plugins.flatMap(({ name, plugin }) => (plugin.forge ? [[name, plugin.forge.schema as Schema] as const] : [])));

const read = (path: string) => readFileSync(path, 'utf8');
const DOCS = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'secrets/README.md', ...plugins.map((p) => `plugins/${p.name}/README.md`).filter((f) => { try { read(f); return true; } catch { return false; } })];

const GROUPS: Group[] = [
  { name: 'core', schema: settingsSchema, prefix: '', docs: ['README.md'] },
  { name: 'secrets', schema: secretsConfigSchema, prefix: 'secrets', docs: ['README.md', 'secrets/README.md'] },
  { name: 'brain', schema: brainConfigSchema, prefix: 'brain', docs: ['README.md'] },
  ...[...pluginSchema].map(([name, schema]) => ({ name, schema, prefix: `plugins.${name}`, docs: [`plugins/${name}/README.md`] })),
  ...[...forgeSchema].map(([name, schema]) => ({ name: `${name} target`, schema, prefix: 'projects.*.targets[]', docs: [`plugins/${name}/README.md`, 'README.md'] })),
];

/** Sections whose contents another schema validates (core reserves the key only). */
function delegate(path: string): Schema | undefined {
  if (path === 'brain') return brainConfigSchema;
  if (path === 'secrets') return secretsConfigSchema;
  const plugin = /^plugins\.([^.]+)$/.exec(path);
  if (plugin) return pluginSchema.get(plugin[1]!) ?? z.record(z.unknown());
  return undefined;
}

function unwrap(schema: Schema): { inner: Schema; default?: () => unknown } {
  let s = schema;
  let def: (() => unknown) | undefined;
  for (;;) {
    const d = s._def as { typeName: string; innerType?: Schema; schema?: Schema; in?: Schema; getter?: () => Schema; defaultValue?: () => unknown };
    if (d.typeName === 'ZodDefault') {
      def ??= d.defaultValue;
      s = d.innerType!;
    } else if (['ZodOptional', 'ZodNullable', 'ZodBranded', 'ZodCatch', 'ZodReadonly'].includes(d.typeName)) s = d.innerType!;
    else if (d.typeName === 'ZodEffects') s = d.schema!;
    else if (d.typeName === 'ZodPipeline') s = d.in!;
    else if (d.typeName === 'ZodLazy') s = d.getter!();
    else return { inner: s, default: def };
  }
}

const typeName = (s: Schema) => (s._def as { typeName: string }).typeName;

/** The object options of a schema: itself, or the objects of a union. */
function objects(schema: Schema): z.AnyZodObject[] {
  const { inner } = unwrap(schema);
  if (inner instanceof z.ZodObject) return [inner];
  if (inner instanceof z.ZodUnion || inner instanceof z.ZodDiscriminatedUnion) {
    return (inner.options as Schema[]).flatMap((o) => objects(o));
  }
  return [];
}

interface SchemaKey {
  path: string;
  schema: Schema;
}

/** Every option of a schema, with `*` for record keys and `[]` for array elements. */
function schemaKeys(schema: Schema, prefix: string, out: SchemaKey[] = []): SchemaKey[] {
  const { inner } = unwrap(schema);
  if (inner instanceof z.ZodRecord) return schemaKeys(inner._def.valueType as Schema, `${prefix}.*`, out);
  if (inner instanceof z.ZodArray) return schemaKeys(inner._def.type as Schema, `${prefix}[]`, out);
  for (const object of objects(inner)) {
    for (const [key, value] of Object.entries(object.shape as Record<string, Schema>)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (delegate(path)) continue;
      out.push({ path, schema: value });
      schemaKeys(value, path, out);
    }
  }
  return out;
}

interface DocKey {
  path: string;
  file: string;
  line: number;
  value: unknown;
  comment: string;
}

/** YAML examples of a Markdown file, with commented-out option lines put back. */
function yamlBlocks(file: string): { text: string; line: number }[] {
  const blocks: { text: string; line: number }[] = [];
  const lines = read(file).split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ya?ml\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    while (++i < lines.length && !/^```/.test(lines[i]!));
    const body = lines.slice(start, i);
    const uncommented = body.map((l) => l.replace(/^(\s*)# ([A-Za-z][\w-]*:(\s|$))/, '$1$2')).join('\n');
    const text = parseDocument(uncommented).errors.length ? body.join('\n') : uncommented;
    blocks.push({ text, line: start + 1 });
  }
  return blocks;
}

const ROOTS = new Set([...Object.keys(settingsSchema.shape), ...NAMESPACES]);

/** The options of a config example: every key path, with its value and its line comment. */
function docKeys(file: string): DocKey[] {
  const out: DocKey[] = [];
  for (const block of yamlBlocks(file)) {
    const doc = parseDocument(block.text, { keepSourceTokens: true });
    if (doc.errors.length || !isMap(doc.contents)) continue;
    const top = doc.contents.items.map((p) => String((p.key as { value?: unknown })?.value));
    if (!top.every((k) => ROOTS.has(k))) continue;
    const lineOf = (node: Node | null | undefined) => {
      const offset = node?.range?.[0] ?? 0;
      return block.line + block.text.slice(0, offset).split('\n').length - 1;
    };
    const visit = (node: unknown, path: string) => {
      if (isMap(node)) {
        for (const pair of node.items) {
          if (!isPair(pair) || !isScalar(pair.key)) continue;
          // a key holding dots (a plugin named by its path, `./my-plugin.js`) stays one segment
          const key = String(pair.key.value).replace(/\./g, '\u00b7');
          const here = path === '' && (NAMESPACES as readonly string[]).includes(key) ? '' : path ? `${path}.${key}` : key;
          const value = pair.value as Node | null;
          const comment = (value as { comment?: string } | null)?.comment ?? '';
          if (here !== '') out.push({ path: here, file, line: lineOf(pair.key as Node), value: value && 'toJSON' in value ? value.toJSON() : null, comment: comment.trim() });
          visit(value, here);
        }
      } else if (isSeq(node)) {
        for (const item of node.items) visit(item, `${path}[]`);
      }
    };
    visit(doc.contents, '');
  }
  return out;
}

/** The schema an option path reaches, or why it reaches none. */
function resolve(path: string, value?: unknown): Schema | string {
  let schema: Schema = settingsSchema;
  let at = '';
  const parts = path.match(/[^.[\]]+|\[\]/g) ?? [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const { inner } = unwrap(schema);
    if (part === '[]') {
      if (!(inner instanceof z.ZodArray)) return `${at} is not a list`;
      schema = inner._def.type as Schema;
      at += '[]';
      if (at === 'projects.*.targets[]') {
        const forge = (value as { forge?: unknown } | undefined)?.forge;
        const own = typeof forge === 'string' ? forgeSchema.get(forge) : undefined;
        const next = parts[i + 1];
        if (own && next !== undefined && next !== 'forge') schema = own;
        else if (next === 'forge') schema = coreTargetSchema;
        else return z.unknown();
      }
      continue;
    }
    at = at ? `${at}.${part}` : part;
    if (inner instanceof z.ZodRecord) {
      schema = inner._def.valueType as Schema;
      at = at.replace(/[^.]+$/, '*');
      const d = delegate(at.replace(/\*$/, part));
      if (d) {
        schema = d;
        at = at.replace(/\*$/, part);
      }
      continue;
    }
    const options = objects(inner).filter((o) => part in o.shape);
    if (!options.length) return `${at}: no such option`;
    schema = options[0]!.shape[part] as Schema;
    schema = delegate(at) ?? schema;
  }
  return schema;
}

/** The value's path in the config file, with `*` where the schema has a record. */
function canonical(path: string): string {
  let schema: Schema = settingsSchema;
  let out = '';
  for (const part of path.match(/[^.[\]]+|\[\]/g) ?? []) {
    const { inner } = unwrap(schema);
    if (part === '[]') {
      out += '[]';
      schema = inner instanceof z.ZodArray ? (inner._def.type as Schema) : z.unknown();
      continue;
    }
    const here = out ? `${out}.${part}` : part;
    if (inner instanceof z.ZodRecord) {
      const d = delegate(here);
      out = d ? here : out ? `${out}.*` : '*';
      schema = d ?? (inner._def.valueType as Schema);
      continue;
    }
    out = here;
    const options = objects(inner).filter((o) => part in o.shape);
    schema = delegate(here) ?? (options[0]?.shape[part] as Schema | undefined) ?? z.unknown();
  }
  return out;
}

const examples = DOCS.flatMap((file) => docKeys(file));

/** Backticked option paths in prose: `queue.slots`, `plugins.lxd.spares`, `test.limits.memory`. */
function proseOptions(file: string): { path: string; line: number }[] {
  const out: { path: string; line: number }[] = [];
  read(file)
    .split('\n')
    .forEach((text, i) => {
      for (const m of text.matchAll(/`((?:queue|store|landing|secrets|brain|plugins|test|projects)\.[\w.<>|-]+)(?::[^`]*)?`/g)) {
        const path = m[1]!;
        if (/\.(ts|js|md|json|db|yaml)$/.test(path)) continue;
        out.push({ path, line: i + 1 });
      }
    });
  return out;
}

/** A prose path made a config path: `test.x` is a project's, `<placeholders>` are any name. */
function proseToPath(path: string): string[] {
  const named = path.replace(/<[^>]*>/g, '*');
  const full = named.startsWith('test.') ? `projects.*.${named}` : named;
  const plugin = /^plugins\.\*\.(.*)$/.exec(full);
  if (plugin) return [...pluginSchema.keys()].map((name) => `plugins.${name}.${plugin[1]}`);
  return [full];
}

function matchesSome(path: string): boolean {
  const tries = proseToPath(path);
  return tries.some((p) => typeof resolve(p.replace(/\.\*(?=\.|$)/g, '.x')) !== 'string');
}

describe('configuration documentation against the schemas', () => {
  test('the docs hold YAML examples to check (the extraction works)', () => {
    const paths = new Set(examples.map((k) => k.path));
    for (const path of ['queue.window', 'projects.calc.test.timeout', 'plugins.lxd.spares', 'brain.jenkins.lookback', 'plugins.github.botLogin']) {
      assert.ok(paths.has(path), `${path} is in an example (found ${paths.size} paths)`);
    }
  });

  test('every option in a YAML example exists in its schema', () => {
    const problems = examples.flatMap((k) => {
      const parent = examples.find((p) => p.file === k.file && k.path.startsWith(`${p.path}`) && /^projects\.[^.]+\.targets$/.test(p.path));
      const target = parent && Array.isArray(parent.value) ? (parent.value as unknown[]).find((t) => typeof t === 'object' && t && Object.keys(t).includes(k.path.split('.').pop()!)) : undefined;
      const found = resolve(k.path, target);
      return typeof found === 'string' ? [`${k.file}:${k.line}: ${k.path}: ${found}`] : [];
    });
    assert.deepEqual(problems, []);
  });

  test('every backticked option path in the prose exists in a schema', () => {
    const problems = DOCS.flatMap((file) => proseOptions(file).filter((o) => !matchesSome(o.path)).map((o) => `${file}:${o.line}: \`${o.path}\``));
    assert.deepEqual(problems, []);
  });

  test('every option of every schema is documented where its users look', () => {
    const shown = new Set(examples.map((k) => canonical(k.path)));
    const undocumented: string[] = [];
    for (const group of GROUPS) {
      const text = group.docs.map(read).join('\n');
      for (const key of schemaKeys(group.schema, group.prefix)) {
        const leaf = key.path.split('.').pop()!.replace(/\[\]$/, '');
        if (leaf === '*' || leaf === '') continue;
        if (shown.has(key.path)) continue;
        // the same option shown at another place of the same shape (a target's `rules` override the plugin's)
        const tail = key.path.split('.').slice(-2).join('.');
        if ([...shown].some((p) => p.endsWith(`.${tail}`) && group.docs.some((f) => examples.some((k) => k.file === f && canonical(k.path) === p)))) continue;
        const named = new RegExp('`(?:[\\w.<>*|-]+\\.)?' + leaf.replace(/[-]/g, '\\-') + '(?:`|[:\\s=(])');
        if (named.test(text)) continue;
        undocumented.push(`${key.path} (${group.name}: ${group.docs.join(', ')})`);
      }
    }
    assert.deepEqual(undocumented, []);
  });

  test('a default stated in an example\'s comment is the schema\'s default', () => {
    const scalarToken = /^(\d+(\.\d+)?(ms|s|m|h|d|KiB|MiB|GiB)?|true|false)$/;
    const problems: string[] = [];
    for (const k of examples) {
      const m = /^(?:optional,\s*)?default(?::\s*|\s+)([^\s;,()]+)|^default\s*(?:$|[;,(])/.exec(k.comment);
      if (!m) continue;
      const schema = resolve(k.path);
      if (typeof schema === 'string') continue;
      const { default: def } = unwrap(schema);
      const token = m[1];
      if (token !== undefined && !scalarToken.test(token)) continue;
      const stated = token === undefined ? k.value : parseDocument(token).toJSON();
      // no schema default: one computed at run time (irc's port: 6697 with TLS, 6667 without)
      if (!def) continue;
      const want = schema.safeParse(undefined);
      const got = schema.safeParse(stated);
      if (!want.success || !got.success || JSON.stringify(want.data) !== JSON.stringify(got.data)) {
        problems.push(`${k.file}:${k.line}: ${k.path}: documented default ${JSON.stringify(stated)}, schema default ${JSON.stringify(def())}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
