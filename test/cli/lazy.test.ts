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
import { BUILTINS } from '../../plugins/index.js';
import { buildProgram, commandNamed, commandWord, configOptionsOf } from '../../cli/program.js';
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
      // The registry's static facts (plugins/index.ts and the no-import helpers it reads) list
      // the built-in plugins' commands; no plugin itself, no command module.
      const registryFiles = /^plugins\/(index|[a-z-]+\/vcs)\.ts$/;
      assert.deepEqual(files.filter((f) => (f.startsWith('plugins/') && !registryFiles.test(f)) || (f.startsWith('cli/') && f !== 'cli/commands/index.ts' && f !== 'cli/main.ts' && f !== 'cli/program.ts')), []);
      assert.deepEqual(packages, ['commander']);
      if (args[0] === '--help') assert.match(stdout, /^ {2}image +build and list the LXD images/m, 'a built-in plugin\'s command is listed');
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

  test('byoci irc say --help loads the irc plugin, and no other plugin', () => {
    const { files, stdout } = importsOf(['irc', 'say', '--help']);
    assert.match(stdout, /Usage: byoci irc say \[options\] <channel> <text\.\.\.>/);
    const plugins = [...new Set(files.filter((f) => /^plugins\/[a-z-]+\/index\.ts$/.test(f)).map((f) => f.split('/')[1]))];
    assert.deepEqual(plugins, ['irc']);
    assert.deepEqual(files.filter((f) => f.startsWith('cli/commands/') && f !== 'cli/commands/index.ts'), []);
  });
});

describe('the static command facts', () => {
  test('the listing from the facts is the listing of the loaded commands', async () => {
    const full = await buildProgram();
    const stubs = await buildProgram({ only: null });
    assert.equal(stubs.helpInformation(), full.helpInformation());
    assert.deepEqual(
      full.commands.map((c) => [c.name(), c.description()]),
      [...COMMANDS.map((c) => [c.name, c.description]), ...BUILTINS.flatMap((b) => (b.commands ?? []).map((c) => [c.name, c.description]))],
    );
  });

  test("no command's option reuses a global option's flag (commander gives it to the global one: `flakes -n 5` was --namespace 5)", async () => {
    const program = await buildProgram();
    const globals = new Set(program.options.flatMap((o) => [o.short, o.long]).filter((f): f is string => !!f));
    const clashes: string[] = [];
    const walk = (cmd: typeof program, path: string): void => {
      for (const o of cmd.options) for (const flag of [o.short, o.long]) if (flag && globals.has(flag)) clashes.push(`${path} ${flag}`);
      for (const sub of cmd.commands) walk(sub, `${path} ${sub.name()}`);
    };
    for (const sub of program.commands) walk(sub, sub.name());
    assert.ok(globals.has('-n') && globals.has('--namespace'), [...globals].join(' '));
    assert.deepEqual(clashes, []);
  });

  test('the command a call names is found past global options and help', () => {
    assert.equal(commandNamed(['-c', 'land', 'list']), 'list');
    assert.equal(commandNamed(['--config=x.yaml', '-O', 'a=b', '--json', 'land', '--dry-run']), 'land');
    assert.equal(commandNamed(['help', 'secrets']), 'secrets');
    assert.equal(commandNamed(['-c', 'x.yaml', 'irc', 'say', '#c', 'hi']), 'irc', "a built-in plugin's command");
    assert.equal(commandWord(['--json', 'hello', 'ann']), 'hello', 'an unknown word, looked for in the plugins of the config');
    assert.deepEqual(configOptionsOf(['--config=a.yaml', '-Ox=1', '--option', 'y=2', '-n', 'testing', 'hello', '-c', 'b.yaml']), {
      config: 'b.yaml',
      option: ['x=1', 'y=2'],
      namespace: 'testing',
    });
    assert.equal(commandNamed(['--help']), undefined);
    assert.equal(commandNamed(['bogus', 'land']), undefined);
    assert.equal(commandNamed(['--', 'land']), undefined);
  });
});
