/**
 * The `byoci` command's parser. Global options apply to every command; see `byoci <command> --help`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Help, Option } from 'commander';
import { EXIT } from '../core/errors.js';
import { BUILTINS } from '../plugins/index.js';
import { COMMANDS } from './commands/index.js';
import type { CommandSource } from './plugin-commands.js';
import { timeSpan } from '../core/timings.js';

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

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Global options that take a value (their value is no command name). */
const VALUE_OPTIONS = new Set(['-c', '--config', '-O', '--option', '-n', '--namespace']);

/** The commands built-in plugins contribute, from the registry's static facts (no plugin loaded). */
const PLUGIN_COMMANDS = BUILTINS.flatMap((entry) => (entry.commands ?? []).map((c) => ({ ...c, term: c.term ?? c.name, plugin: entry })));

/** Every command name core and the built-in plugins define. */
export function knownCommands(): string[] {
  return [...COMMANDS.map((c) => c.name), ...PLUGIN_COMMANDS.map((c) => c.name)];
}

/** The first word of a call that may name a command (past global options and `help`). */
export function commandWord(argv: readonly string[]): string | undefined {
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
    return word;
  }
  return undefined;
}

/**
 * The command a call names (`byoci -c x.yaml land ...` → land; `byoci help land` → land),
 * or undefined for `byoci --help`, `--version` and unknown words.
 */
export function commandNamed(argv: readonly string[]): string | undefined {
  const word = commandWord(argv);
  return word !== undefined && knownCommands().includes(word) ? word : undefined;
}

/** The global options naming the config, from the raw arguments (before commander parses them). */
export function configOptionsOf(argv: readonly string[]): { config?: string; option: string[]; namespace?: string } {
  const out: { config?: string; option: string[]; namespace?: string } = { option: [] };
  const set = (flag: string, value: string) => {
    if (flag === '-c' || flag === '--config') out.config = value;
    else if (flag === '-O' || flag === '--option') out.option.push(value);
    else out.namespace = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') break;
    if (VALUE_OPTIONS.has(word)) {
      if (i + 1 < argv.length) set(word, argv[i + 1]!);
      i += 1;
      continue;
    }
    const long = /^(--config|--option|--namespace)=(.*)$/s.exec(word);
    if (long) set(long[1]!, long[2]!);
    else if (/^-[cOn]./s.test(word)) set(word.slice(0, 2), word.slice(2));
  }
  return out;
}

export interface BuildOptions {
  /**
   * Load and register only this command; the others are listed from their static facts.
   * Absent: every command is loaded (for tools that read the whole usage).
   */
  only?: string | null;
  /** Plugins loaded by path or package whose commands are registered too. */
  extra?: readonly CommandSource[];
}

export async function buildProgram(options: BuildOptions = {}): Promise<Command> {
  const pkg = packageJson();
  const program = new Command('byoci')
    .description('bring your own CI: lands approved proposals after testing the merge in a throw-away container')
    .version(pkg.version)
    .option('-c, --config <file>', 'configuration file (default: $BYOCI_CONFIG or ./byoci.yaml)')
    .option('-O, --option <path=value>', 'override a configuration option, e.g. -O projects.demo.test.timeout=10m (repeatable)', collect)
    .option('-n, --namespace <name>', 'configuration namespace: production, testing, selftest or another top-level section (default: $BYOCI_NAMESPACE, else the byoci key, else production)')
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
An error prints a hint and a stable code (code: config-missing; in --json too):
docs/errors.md lists the codes.

Plugins named by path or package in the config may add commands: byoci plugins lists
them, byoci <command> --help describes one.

Quick start: npm run demo (a real landing on a local forge), then see README.md.`,
  );
  // Commands not loaded are listed by their static term (commander would derive it from
  // options and arguments the stub does not have).
  const terms = new Map<Command, string>();
  for (const entry of COMMANDS) {
    if (options.only === undefined || options.only === entry.name) {
      (await timeSpan('step', `module load (${entry.name})`, () => entry.load())).register(program);
      continue;
    }
    const stub = unloadedCommand(program, entry.name, entry.description, `command ${entry.name}`);
    terms.set(stub, entry.term);
  }
  // Commands of the built-in plugins: the plugin is loaded only when one of them is called.
  const registered = new Set<string>();
  for (const entry of PLUGIN_COMMANDS) {
    if (options.only === undefined || options.only === entry.name) {
      if (registered.has(entry.plugin.name)) continue;
      registered.add(entry.plugin.name);
      const { registerPluginCommands } = await import('./plugin-commands.js');
      registerPluginCommands(program, { plugin: await entry.plugin.load(), configKey: entry.plugin.name, source: 'built-in' });
      continue;
    }
    const stub = unloadedCommand(program, entry.name, entry.description, `command ${entry.name} of plugin ${entry.plugin.name}`);
    terms.set(stub, entry.term);
  }
  if (options.extra?.length) {
    const { registerPluginCommands } = await import('./plugin-commands.js');
    for (const source of options.extra) registerPluginCommands(program, source);
  }
  if (terms.size) {
    program.configureHelp({
      subcommandTerm: (cmd) => terms.get(cmd) ?? new Help().subcommandTerm(cmd),
    });
  }
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/**
 * The plugins named by path or package in the config that contribute the command `word`
 * (not one of core's or a built-in's). Nothing when no config is named and ./byoci.yaml is
 * absent; a config that cannot be read, or a plugin that cannot be loaded, is an error.
 */
async function thirdPartyCommands(argv: readonly string[], word: string): Promise<CommandSource[]> {
  const [{ loadConfig }, { loadNamedPlugins }, { ConfigError }, { declaredCommands }, { registry }, { isMissingConfigFile }] = await Promise.all([
    import('../core/config.js'),
    import('../core/loader.js'),
    import('../core/errors.js'),
    import('../core/commands.js'),
    import('../plugins/index.js'),
    import('./context.js'),
  ]);
  const given = configOptionsOf(argv);
  const explicit = given.config ?? process.env.BYOCI_CONFIG;
  let config;
  try {
    config = loadConfig({ file: explicit ?? 'byoci.yaml', overrides: given.option, ...(given.namespace ? { namespace: given.namespace } : {}) });
  } catch (error) {
    if (!explicit && isMissingConfigFile(error)) return [];
    throw error;
  }
  const { plugins, problems } = await loadNamedPlugins(config.settings, config.configDir, registry);
  if (problems.length) throw new ConfigError(problems.map((p) => ({ ...config.locate(p.path?.split('.') ?? []), ...p })));
  const known = new Set(knownCommands());
  const wanted: CommandSource[] = [];
  const owners = new Map<string, string>();
  for (const p of plugins) {
    const declared = declaredCommands(p.plugin);
    if (declared.problems.length) throw new ConfigError(declared.problems.map((message) => ({ ...config.locate(['plugins', p.configKey]), path: `plugins.${p.configKey}`, message })));
    const names = declared.commands.map((c) => c.name);
    if (!names.includes(word)) continue;
    for (const name of names) {
      const owner = known.has(name) ? 'byoci itself' : owners.get(name);
      if (owner) throw new ConfigError([{ ...config.locate(['plugins', p.configKey]), path: `plugins.${p.configKey}`, message: `its command ${name} is already defined by ${owner}` }]);
      owners.set(name, `the plugin of plugins.${p.configKey}`);
    }
    wanted.push(p);
  }
  return wanted;
}

export async function main(argv: readonly string[]): Promise<number> {
  const named = commandNamed(argv);
  const word = commandWord(argv);
  let extra: CommandSource[] = [];
  if (named === undefined && word !== undefined) {
    try {
      extra = await thirdPartyCommands(argv, word);
    } catch (error) {
      const { reportError } = await import('./context.js');
      process.stderr.write(`byoci: ${JSON.stringify(word)} is not a command of byoci; looking for it in the plugins of the config failed:\n`);
      return reportError(error, (await import('../core/logger.js')).createLogger({}));
    }
  }
  const program = await buildProgram({ only: named ?? null, extra });
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

/** A listed command whose module was not loaded: shown by --help, never run. */
function unloadedCommand(program: Command, name: string, description: string, what: string): Command {
  return program
    .command(name)
    .description(description)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new Error(`${what} was not loaded (a bug in byoci's command dispatch)`);
    });
}
