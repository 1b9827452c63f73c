/**
 * Load only what is used: `byoci --help` and `--version` import no command module and no
 * plugin (nor their libraries); a command loads only itself; the listing built from the
 * static facts is the one the loaded commands give.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { COMMANDS } from '../../cli/commands/index.js';
import { buildProgram, commandNamed } from '../../cli/program.js';
import { ROOT } from '../support/cli.js';

/** The repository files and packages a `byoci` call imports. */
function importsOf(args: string[]): { files: string[]; packages: string[]; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-imports-'));
  const trace = join(dir, 'imports');
  try {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--import', join(ROOT, 'test', 'support', 'trace-imports.mjs'), join(ROOT, 'cli', 'main.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, BYOCI_TRACE_IMPORTS: trace }, encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    const urls = readFileSync(trace, 'utf8').split('\n').filter((u) => u.startsWith('file://'));
    const files = urls.filter((u) => !u.includes('/node_modules/')).map((u) => u.slice(`file://${ROOT}/`.length));
    const packages = [...new Set(urls.filter((u) => u.includes('/node_modules/')).map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)![1]!))];
    return { files, packages, stdout: result.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('start-up imports only what the call needs', () => {
  for (const args of [['--help'], ['--version']]) {
    test(`byoci ${args.join(' ')} imports no plugin and no command module`, () => {
      const { files, packages, stdout } = importsOf(args);
      assert.ok(stdout.length > 0);
      assert.ok(files.includes('cli/main.ts') && files.includes('cli/commands/index.ts'), files.join('\n'));
      assert.deepEqual(files.filter((f) => f.startsWith('plugins/') || (f.startsWith('cli/commands/') && f !== 'cli/commands/index.ts')), []);
      assert.deepEqual(packages, ['commander']);
    });
  }

  test('byoci land --help loads the land command, still no plugin', () => {
    const { files, stdout } = importsOf(['land', '--help']);
    assert.match(stdout, /Usage: byoci land \[options\]/);
    assert.ok(files.includes('cli/commands/land.ts'));
    // The registry and the facts it reads without loading a plugin; no plugin itself.
    const registryFiles = /^plugins\/(index|[a-z-]+\/vcs)\.ts$/;
    assert.deepEqual(files.filter((f) => (f.startsWith('plugins/') && !registryFiles.test(f)) || f === 'cli/commands/list.ts'), []);
  });
});

describe('the static command facts', () => {
  test('the listing from the facts is the listing of the loaded commands', async () => {
    const full = await buildProgram();
    const stubs = await buildProgram({ only: null });
    assert.equal(stubs.helpInformation(), full.helpInformation());
    assert.deepEqual(
      full.commands.map((c) => [c.name(), c.description()]),
      COMMANDS.map((c) => [c.name, c.description]),
    );
  });

  test('the command a call names is found past global options and help', () => {
    assert.equal(commandNamed(['-c', 'land', 'list']), 'list');
    assert.equal(commandNamed(['--config=x.yaml', '-O', 'a=b', '--json', 'land', '--dry-run']), 'land');
    assert.equal(commandNamed(['help', 'secrets']), 'secrets');
    assert.equal(commandNamed(['--help']), undefined);
    assert.equal(commandNamed(['bogus', 'land']), undefined);
    assert.equal(commandNamed(['--', 'land']), undefined);
  });
});
