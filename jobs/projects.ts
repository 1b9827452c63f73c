/**
 * The project list as the operator wrote it (jobs/*.yaml `- project:` entries), with the
 * values the checker expects in the rendered jobs: the slave label and the byoci config.
 * Template variables resolve like JJB does: the project's own value, else its `defaults`
 * (`global` unless it names another), with `{var}` references expanded.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface ProjectEntry {
  name: string;
  /** Label expression of the slaves that run the project's jobs. */
  node: string | undefined;
  /** The byoci config file on the slave. */
  config: string | undefined;
  /** Source file of the entry. */
  file: string;
  vars: Record<string, unknown>;
}

type Entry = Record<string, Record<string, unknown>>;

function expand(value: unknown, vars: Record<string, unknown>): unknown {
  if (typeof value !== 'string') return value;
  let text = value;
  for (let pass = 0; pass < 10; pass += 1) {
    const next = text.replace(/(?<!\{)\{([A-Za-z0-9_-]+)\}(?!\})/g, (whole, key: string) =>
      key in vars && typeof vars[key] !== 'object' ? String(vars[key]) : whole,
    );
    if (next === text) break;
    text = next;
  }
  return text.replace(/\{\{/g, '{').replace(/\}\}/g, '}');
}

/** Reads the `- project:` entries of the YAML files in `dir` (non-recursive, like JJB). */
export async function readProjects(dir: string): Promise<ProjectEntry[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const defaults = new Map<string, Record<string, unknown>>();
  const projects: { file: string; data: Record<string, unknown> }[] = [];
  for (const file of files) {
    let doc: unknown;
    try {
      // Like PyYAML, a repeated key is not an error (the last one wins).
      doc = parse(await readFile(join(dir, file), 'utf8'), { uniqueKeys: false });
    } catch {
      continue; // The renderer reports unreadable YAML with its own message.
    }
    if (!Array.isArray(doc)) continue;
    for (const item of doc as Entry[]) {
      if (!item || typeof item !== 'object') continue;
      if (item.defaults && typeof item.defaults.name === 'string') defaults.set(item.defaults.name, item.defaults);
      if (item.project && typeof item.project === 'object') projects.push({ file, data: item.project });
    }
  }
  return projects.map(({ file, data }) => {
    const base = defaults.get(typeof data.defaults === 'string' ? data.defaults : 'global') ?? {};
    const vars: Record<string, unknown> = { ...base, ...data };
    const resolved: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(vars)) resolved[k] = expand(v, vars);
    const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
    return { name: String(data.name), node: str(resolved.label), config: str(resolved.config), file, vars: resolved };
  });
}
