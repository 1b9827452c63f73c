/**
 * The one-way dependency rule (README "Design"): core never imports a plugin, the CLI or
 * jobs; plugins import only hooks/, core's public surface (core/index.ts) and their own
 * files, never another plugin.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (entry.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Relative imports of a file, resolved to repository paths. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((s) => relative('.', resolve(dirname(file), s)));
}

test('core and hooks import neither plugins, nor the CLI, nor jobs, nor the brain', () => {
  const offenders: string[] = [];
  for (const file of [...sources('core'), ...sources('hooks')]) {
    for (const target of relativeImports(file)) {
      if (/^(plugins|cli|jobs|demo|brain)\//.test(target)) offenders.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test("plugins import only hooks/, core/index.js and their own folder", () => {
  const offenders: string[] = [];
  for (const file of sources('plugins')) {
    const own = file.split('/').slice(0, 2).join('/');
    if (file === join('plugins', 'index.ts')) continue; // the registry imports every plugin
    for (const target of relativeImports(file)) {
      const allowed =
        target.startsWith(`${own}/`) || target.startsWith('hooks/') || target === 'core/index.js' || target.startsWith('types/');
      if (!allowed) offenders.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test("bench/, scripts/ and cli/ use a plugin's public face: its index (or the registry), never its inner files", () => {
  const offenders: string[] = [];
  const files = ['bench', 'scripts', 'cli'].flatMap((d) => sources(d));
  assert.ok(files.some((f) => f.startsWith('bench/')) && files.some((f) => f.startsWith('scripts/')), 'the folders are read');
  for (const file of files) {
    for (const target of relativeImports(file)) {
      if (target.startsWith('plugins/') && !/^plugins\/(index|[a-z0-9-]+\/index)\.js$/.test(target)) offenders.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('store/ imports nothing from core/, plugins/ or cli/', () => {
  const offenders: string[] = [];
  for (const file of sources('store')) {
    for (const target of relativeImports(file)) {
      if (!target.startsWith('store/')) offenders.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('brain/ imports only store/, core/index.js, the queue\'s and the test ledger\'s public faces, the forges\' webhook parsers and itself; only cli/ imports it', () => {
  const offenders: string[] = [];
  const parsers = /^plugins\/[a-z0-9-]+\/webhooks\.js$/;
  for (const file of sources('brain')) {
    for (const target of relativeImports(file)) {
      const allowed = target.startsWith('brain/') || target.startsWith('store/') || target === 'core/index.js' || target === 'core/queue/index.js' || target === 'core/test-report/index.js' || parsers.test(target) || target.startsWith('types/');
      if (!allowed) offenders.push(`${file} -> ${target}`);
    }
  }
  for (const file of [...sources('core'), ...sources('hooks'), ...sources('plugins'), ...sources('store'), ...sources('secrets')]) {
    for (const target of relativeImports(file)) if (target.startsWith('brain/')) offenders.push(`${file} -> ${target}`);
  }
  assert.deepEqual(offenders, []);
});

test('secrets/ imports nothing from core/ or cli/ (core uses secrets, not the other way round)', () => {
  const offenders: string[] = [];
  for (const file of sources('secrets')) {
    for (const target of relativeImports(file)) {
      if (/^(core|cli|plugins|jobs)\//.test(target)) offenders.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('the import graph of the sources has no circle (static, dynamic and type imports)', () => {
  const roots = ['cli', 'core', 'hooks', 'plugins', 'secrets', 'store', 'jobs', 'demo', 'testing', 'brain'].filter((d) => {
    try {
      return statSync(d).isDirectory();
    } catch {
      return false;
    }
  });
  const graph = new Map<string, string[]>();
  for (const file of roots.flatMap(sources)) {
    graph.set(file, relativeImports(file).map((t) => t.replace(/\.js$/, '.ts')));
  }
  const circles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') circles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  assert.deepEqual(circles, []);
});
