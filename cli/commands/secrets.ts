import type { Command } from 'commander';
import { ConfigError, UsageError } from '../../core/errors.js';
import { resolvePlugins } from '../../core/loader.js';
import type { AnyPlugin } from '../../core/plugin.js';
import { DEFAULT_PLUGINS, loadDefaults, registry } from '../../plugins/index.js';
import { secretsCheck, secretsDelete, secretsGet, secretsList, secretsSet, type SecretsContext, type SecretsIo } from '../../secrets/cli.js';
import { STORE_NAMES, type StoreName } from '../../secrets/index.js';
import { createOutput, globalOptions, loadConfigOrDefaults, reportError, secretsConfigOf } from '../context.js';

const io: SecretsIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

interface Loaded {
  ctx: SecretsContext;
  plugins: () => Promise<AnyPlugin[]>;
}

/**
 * The `secrets:` section and the plugins of the config. Without a config file (none given
 * with --config/BYOCI_CONFIG and no ./byoci.yaml) the defaults apply, so a slave's secrets
 * can be stored before its configuration is written.
 */
function load(command: Command): Loaded {
  const globals = globalOptions(command);
  const { config, missing } = loadConfigOrDefaults(command);
  const ctx: SecretsContext = { config: secretsConfigOf(config), json: globals.json, dryRun: globals.dryRun, ...(missing ? {} : { storeOptions: { baseDir: config.configDir } }) };
  if (missing) return { ctx, plugins: loadDefaults };
  return {
    ctx,
    plugins: async () => {
      const { plugins, problems } = await resolvePlugins(config.settings, config.configDir, registry, DEFAULT_PLUGINS);
      if (problems.length) throw new ConfigError(problems);
      return plugins.map((p) => p.plugin);
    },
  };
}

/** The `--store` option of a subcommand, if given: a usage error (exit 2) when no store has that name. */
function storeOf(command: Command): { store?: StoreName } {
  const { store } = command.opts<{ store?: string }>();
  if (store === undefined) return {};
  if (!(STORE_NAMES as readonly string[]).includes(store)) throw new UsageError(`--store must be one of ${STORE_NAMES.join(', ')}, not ${JSON.stringify(store)}`);
  return { store: store as StoreName };
}

/** Runs a subcommand: loads the secrets context, sets the exit code, reports errors. */
function act(fn: (loaded: Loaded, command: Command) => Promise<number>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    try {
      process.exitCode = await fn(load(command), command);
    } catch (error) {
      const globals = globalOptions(command);
      process.exitCode = reportError(error, createOutput(globals).log, undefined, { json: globals.json });
    }
  };
}

export function register(program: Command): void {
  const secrets = program
    .command('secrets')
    .description('manage the credentials held on this slave (keys are <plugin>/<secret>, e.g. git/ssh-key)')
    .addHelpText(
      'after',
      `
Stores (lookup order: secrets.order, default env, file, keyring):
  env      BYOCI_SECRET_<PLUGIN>_<SECRET> (or ..._FILE: a path), as a Jenkins credentials binding sets it; read-only
  file     <secrets.dir>/<plugin>/<secret>, mode 600 (default dir ~/.config/byoci/secrets)
  keyring  the Secret Service (gnome-keyring), service secrets.service (default byoci)
With --dry-run, set and delete say what they would do and change no store (set reads no value).`,
    );

  secrets
    .command('set <key>')
    .description('store a secret; the value is read from stdin or a hidden prompt, never from the command line')
    .option('--store <name>', 'file or keyring (default: the first writable store of secrets.order)')
    .allowExcessArguments(true)
    .addHelpText('after', '\nExamples:\n  byoci secrets set git/ssh-key < ~/.ssh/byoci_ed25519\n  byoci secrets set github/token          (prompts, input hidden)')
    .action(
      act(({ ctx }, command) => secretsSet(ctx, { key: command.args[0]!, extra: command.args.slice(1), ...storeOf(command) }, io)),
    );

  secrets
    .command('get <key>')
    .description('say whether a secret is set and in which store; --reveal prints the value')
    .option('--reveal', 'print the value itself on stdout')
    .action(act(({ ctx }, command) => secretsGet(ctx, { key: command.args[0]!, reveal: Boolean(command.opts<{ reveal?: boolean }>().reveal) }, io)));

  secrets
    .command('list')
    .description('list the keys each store holds (never the values)')
    .action(act(({ ctx }) => secretsList(ctx, {}, io)));

  secrets
    .command('delete <key>')
    .description('delete a secret from the writable stores holding it (or only --store)')
    .option('--store <name>', 'file or keyring')
    .action(
      act(({ ctx }, command) => secretsDelete(ctx, { key: command.args[0]!, ...storeOf(command) }, io)),
    );

  secrets
    .command('check')
    .description('list the secrets each configured plugin declares, whether set and in which store')
    .addHelpText('after', '\nExit codes: 0 all required secrets set, 1 a required secret is missing, 3 a store failed.')
    .action(act(async ({ ctx, plugins }) => secretsCheck(ctx, { plugins: await plugins() }, io)));
}
