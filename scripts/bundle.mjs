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
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const dist = resolve(ROOT, process.argv[2] ?? 'dist');
const BUNDLED = new Set(['yaml', 'zod', 'tapable', 'commander']);
const pkg = (await import(join(ROOT, 'package.json'), { with: { type: 'json' } })).default;
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter((name) => !BUNDLED.has(name));

rmSync(join(dist, 'chunks'), { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ['cli/main.js', 'core/index.js', 'testing/index.js'].map((entry) => join(dist, entry)),
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
  banner: { js: "import { createRequire as __byociCreateRequire } from 'node:module'; const require = __byociCreateRequire(import.meta.url);" },
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
