#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test through tsx (Node 20 has no type stripping
// and `node --test` takes no globs). Extra arguments are test files to run instead;
// arguments starting with -- go to node (e.g. --test-name-pattern=SIGTERM).
// Writes JUnit XML to reports/junit.xml beside the spec output.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== 'fixtures' && entry !== 'node_modules') out.push(...find(path));
    } else if (entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const nodeOptions = args.filter((a) => a.startsWith('--'));
const named = args.filter((a) => !a.startsWith('--'));
const files = named.length ? named : find('test').sort();
mkdirSync('reports', { recursive: true });
const concurrency = process.env.BYOCI_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  [
    '--import', 'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=junit', '--test-reporter-destination=reports/junit.xml',
    ...nodeOptions,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
