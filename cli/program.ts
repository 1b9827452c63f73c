/**
 * The `byoci` command's parser. Global options apply to every command; see `byoci <command> --help`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
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

export function buildProgram(): Command {
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
  for (const command of COMMANDS) command.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
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
