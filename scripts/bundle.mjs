/**
 * The second half of `npm run build`: after `tsc` has written dist/ (JavaScript and the
 * .d.ts files), esbuild bundles the package's three entry points over tsc's output of them:
 * dist/cli/main.js (the `byoci` command), dist/core/index.js (`byoci`, what plugins import)
 * and dist/testing/index.js (`byoci/testing`). One build with code splitting: code the
 * entries share lives once in dist/chunks/, so a plugin's `Rejection` or `definePlugin`
 * from `byoci` is the very class the CLI checks against; every dynamic import (a command,
 * a built-in plugin, ssh2 for the push-key check) stays a chunk of its own, loaded only
 * when used. Why: Node 20 spends most of a start-up resolving, reading and linking ~110
 * modules one by one (and yaml's ~50 CommonJS files); one file per step costs less
 * (README, design). Bundled besides byoci's own code: the pure-JavaScript libraries every
 * landing loads (yaml, zod, tapable, commander). Native or optional-native packages and
 * everything else stay imports of node_modules.
 *
 *   node scripts/bundle.mjs [dist]
 */
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const dist = resolve(ROOT, process.argv[2] ?? 'dist');
const BUNDLED = new Set(['yaml', 'zod', 'tapable', 'commander']);
const pkg = (await import(join(ROOT, 'package.json'), { with: { type: 'json' } })).default;
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter((name) => !BUNDLED.has(name));

/**
 * The CommonJS packages left in node_modules are loaded by require(), not import: Node 20's
 * import of CommonJS runs cjs-module-lexer over each file it reaches from ESM and builds a
 * module wrapper per file (ws's ESM wrapper imports eight of them: ~120 ms CPU by import,
 * ~33 by require; @napi-rs/keyring ~29 vs ~8; better-sqlite3 ~23 vs ~14, measured one
 * package per fresh process). Each import of one, static or dynamic, goes to a small ES
 * module that requires it and exports what Node's import would: `default` (module.exports)
 * and each of its properties by name (listed here by requiring the package once). After the
 * build each of those modules is imported from dist and compared with require(): a build
 * whose interop differs fails.
 */
const requireHere = createRequire(join(ROOT, 'package.json'));
const CJS_EXTERNAL = external.filter((name) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).type !== 'module');
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** The names an import of the package gives besides `default`. */
function exportNames(name) {
  const value = requireHere(name);
  return (value !== null && (typeof value === 'object' || typeof value === 'function') ? Object.keys(value) : []).filter((k) => IDENTIFIER.test(k) && k !== 'default' && k !== '__esModule');
}
const shims = new Map(CJS_EXTERNAL.map((name) => [name, exportNames(name)]));
const requireCommonJs = {
  name: 'require-commonjs',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!shims.has(args.path)) return undefined;
      return args.namespace === 'require-commonjs' ? { path: args.path, external: true } : { path: args.path, namespace: 'require-commonjs' };
    });
    b.onLoad({ filter: /.*/, namespace: 'require-commonjs' }, (args) => {
      const names = shims.get(args.path);
      const lines = [`const m = require(${JSON.stringify(args.path)});`, 'export default m;'];
      if (names.length) lines.push(`export const { ${names.join(', ')} } = m;`);
      return { contents: lines.join('\n') + '\n', loader: 'js' };
    });
  },
};

const BANNER = "import { createRequire as __byociCreateRequire } from 'node:module'; const require = __byociCreateRequire(import.meta.url);";
const ENTRIES = ['cli/main.js', 'core/index.js', 'testing/index.js'].map((entry) => join(dist, entry));
for (const entry of ENTRIES) {
  // The entries are tsc's output, bundled over in place: a second run needs tsc's again.
  if (readFileSync(entry, 'utf8').includes('__byociCreateRequire')) throw new Error(`bundle: ${entry} is already bundled: run tsc first (npm run build does both)`);
}
rmSync(join(dist, 'chunks'), { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ENTRIES,
  outdir: dist,
  outbase: dist,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  external: [...external, ...external.map((name) => `${name}/*`)],
  // CommonJS libraries (yaml, tapable, commander) call require() for node: modules.
  banner: { js: BANNER },
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [requireCommonJs],
});

// Each shim, imported as byoci's code imports it (a dynamic import, its own chunk, from a
// directory under dist/ so node_modules resolves as for the bundle): what require() gives.
const checkDir = join(dist, '.bundle-check');
try {
  await build({
    absWorkingDir: ROOT,
    stdin: { contents: `export const all = { ${[...shims.keys()].map((n) => `${JSON.stringify(n)}: await import(${JSON.stringify(n)})`).join(', ')} };`, resolveDir: ROOT, loader: 'js' },
    outdir: checkDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...external, ...external.map((name) => `${name}/*`)],
    banner: { js: BANNER },
    logLevel: 'warning',
    plugins: [requireCommonJs],
  });
  const { all } = await import(pathToFileURL(join(checkDir, 'stdin.js')).href);
  for (const [name, names] of shims) {
    const expected = requireHere(name);
    const wrong = [...(all[name].default === expected ? [] : ['default']), ...names.filter((k) => all[name][k] !== expected[k])];
    if (wrong.length) throw new Error(`bundle: importing ${name} in the bundle does not give what require('${name}') gives: ${wrong.join(', ')}`);
  }
} finally {
  rmSync(checkDir, { recursive: true, force: true });
}
