/**
 * The `byoci` command's parser. Global options apply to every command; see `byoci <command> --help`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Help, Option } from 'commander';
import { EXIT } from '../core/errors.js';
import { COMMANDS } from './commands/index.js';

/** byoci's own package.json, found from this file in the source tree or in dist/. */
function packageJson(): { version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8')) as { version: string };
    const parent = dirname(dir);
    if (parent === dir) return { version: 'unknown' };
    dir = parent;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Global options that take a value (their value is no command name). */
const VALUE_OPTIONS = new Set(['-c', '--config', '-O', '--option', '-n', '--namespace']);

/**
 * The command a call names (`byoci -c x.yaml land ...` → land; `byoci help land` → land),
 * or undefined for `byoci --help`, `--version` and unknown words.
 */
export function commandNamed(argv: readonly string[]): string | undefined {
  const names = new Set(COMMANDS.map((c) => c.name));
  let helpSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return undefined;
    if (VALUE_OPTIONS.has(word)) {
      i += 1;
      continue;
    }
    if (word.startsWith('-')) continue;
    if (word === 'help' && !helpSeen) {
      helpSeen = true;
      continue;
    }
    return names.has(word) ? word : undefined;
  }
  return undefined;
}

export interface BuildOptions {
  /**
   * Load and register only this command; the others are listed from their static facts.
   * Absent: every command is loaded (for tools that read the whole usage).
   */
  only?: string | null;
}

export async function buildProgram(options: BuildOptions = {}): Promise<Command> {
  const pkg = packageJson();
  const program = new Command('byoci')
    .description('bring your own CI: lands approved proposals after testing the merge in a throw-away container')
    .version(pkg.version)
    .option('-c, --config <file>', 'configuration file (default: $BYOCI_CONFIG or ./byoci.yaml)')
    .option('-O, --option <path=value>', 'override a configuration option, e.g. -O projects.demo.test.timeout=10m (repeatable)', collect, [])
    .option('-n, --namespace <name>', 'configuration namespace: production, testing or selftest (default: the byoci key, else production)')
    .option('--json', 'log JSON lines on stderr and print results as JSON on stdout')
    .option('--dry-run', 'do everything but push, change statuses or comment')
    .option('--keep', 'keep the run work directory (checkouts) for inspection')
    .addOption(new Option('-v, --verbose', 'log debug lines (every hook tap with its timing)'))
    .showHelpAfterError('(byoci --help lists the commands and options)')
    .exitOverride();
  program.addHelpText(
    'after',
    `
Exit codes:
  0  landed, or nothing to do
  1  a proposal was rejected (or, for test, the tests failed)
  2  usage or configuration error
  3  internal error

Quick start: npm run demo (a real landing on a local forge), then see README.md.`,
  );
  // Commands not loaded are listed by their static term (commander would derive it from
  // options and arguments the stub does not have).
  const terms = new Map<Command, string>();
  for (const entry of COMMANDS) {
    if (options.only === undefined || options.only === entry.name) {
      (await entry.load()).register(program);
      continue;
    }
    const stub = program
      .command(entry.name)
      .description(entry.description)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new Error(`command ${entry.name} was not loaded (a bug in byoci's command dispatch)`);
      });
    terms.set(stub, entry.term);
  }
  if (terms.size) {
    program.configureHelp({
      subcommandTerm: (cmd) => terms.get(cmd) ?? new Help().subcommandTerm(cmd),
    });
  }
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram({ only: commandNamed(argv) ?? null });
  if (argv.length === 0) {
    // `byoci` alone: show help rather than doing nothing.
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    throw error;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
}
