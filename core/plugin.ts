/**
 * The plugin contract. A plugin is a name, a config schema, the secrets it needs, and an
 * `apply()` that only registers taps. All I/O happens inside taps.
 *
 * ```ts
 * export default definePlugin({
 *   name: 'hello',
 *   description: 'Says hello on every landing',
 *   config: z.object({ greeting: z.string().default('hi') }),
 *   secrets: { token: { description: 'API token', required: false } },
 *   apply(hooks, api) {
 *     hooks.report.tapPromise(async (outcome) => {
 *       if (outcome.kind === 'landed') api.log.info('landed', { id: outcome.proposal.id });
 *     });
 *   },
 * });
 * ```
 */
import type { z } from 'zod';
import type { BranchRef, Proposal, TapHooks } from '../hooks/index.js';
import type { Logger } from './logger.js';

export interface SecretDeclaration {
  description: string;
  /** A required secret that is missing is a `verify` problem. Default: true. */
  required?: boolean;
}

/** The secrets a plugin declared, and only those. Values are registered for redaction. */
export interface PluginSecrets<K extends string = string> {
  /** The value, or undefined when no store holds it. */
  get(name: K): string | undefined;
  /** The value; throws naming the secret and the stores tried when none holds it. */
  require(name: K): string;
}

/** Facts about the run a plugin may read. */
export interface RunInfo {
  /** Unique id of this bot run (timestamp + random); container names derive from it. */
  readonly id: string;
  readonly dryRun: boolean;
  /** Directory owned by this run (removed at the end unless --keep). */
  readonly workdir: string;
  /**
   * Directory kept across runs and shared by the bots of this slave (`<workdir>/cache`):
   * plugins keep caches there (the VCS mirrors), under a lock of their own (`withFileLock`).
   */
  readonly cacheDir: string;
  /** Jenkins' BUILD_URL when set. */
  readonly buildUrl: string | undefined;
  /** The active configuration namespace (`production`, `testing`, `selftest`). */
  readonly namespace: string;
  /** Directory of the config file; relative paths in plugin config resolve against it. */
  readonly configDir: string;
  /**
   * The slave's store (SQLite, `store.path`, default `<workdir>/byoci.db`), where a plugin
   * may keep state between runs in tables of its own (`openStore` with its migrations).
   * Absent when the run has no store (plugin tests).
   */
  readonly storePath?: string;
  /** Identity used for landing commits: `{byoci}.landing`. */
  readonly landing: { readonly user: string; readonly name: string; readonly email: string };
}

export interface PluginApi<C = unknown, K extends string = string, M = unknown> {
  readonly name: string;
  /** The plugin's validated config (schema defaults applied). */
  readonly config: C;
  readonly secrets: PluginSecrets<K>;
  readonly log: Logger;
  readonly run: RunInfo;
  /** Masks a string with the run's redaction registry (for text a plugin posts). */
  redact(text: string): string;
  /** A path from the plugin's config, made absolute against the config file's directory. */
  resolvePath(path: string): string;
  /**
   * Forges: the private data (`Proposal.meta`) of a proposal this forge discovered, typed
   * and validated by its `forge.meta` schema (once, when discover returned it). Throws when
   * the proposal is another forge's, or when its data does not match the schema.
   */
  proposalMeta(proposal: Proposal): M;
}

/**
 * What a forge plugin declares about the targets it owns (`projects.<p>.targets[]` whose
 * `forge` is its name). Core validates every such target with `schema` when it loads the
 * config (problems carry file and line), and asks `branch` which branch it names.
 */
export interface ForgeTargets<T extends z.ZodTypeAny = z.ZodTypeAny, M extends z.ZodTypeAny = z.ZodTypeAny> {
  /** Schema of one target entry (the `forge` key is removed before parsing). */
  readonly schema: T;
  /**
   * Schema of the forge's private data on its proposals (`Proposal.meta`: API links,
   * numbers…). Core validates the meta of each proposal the forge's `discover` returns
   * against it and never reads it; the forge gets it back typed with `api.proposalMeta()`.
   */
  readonly meta?: M;
  /**
   * The branch a parsed target names, from the config alone (no I/O): VCS plugins read it
   * instead of the forge's fields, and `targetKey()` keys the landing queue on it.
   * `configDir` resolves relative paths; `config` is the plugin's validated config.
   */
  branch(target: z.output<T>, context: { configDir: string; config: unknown }): BranchRef;
}

/** What a plugin handles, so core and other plugins need not guess from names. */
export interface PluginHandles {
  /** Version control systems whose branches it fetches, merges and pushes (e.g. `git`). */
  readonly vcs?: readonly string[];
  /** Container backends it runs tests in: the names `test.backend` may take (e.g. `lxd`). */
  readonly backends?: readonly string[];
}

/** A positional argument of a plugin command (`byoci irc say <channel> <text...>`). */
export interface CommandArgumentSpec {
  /** Lower-case letters, digits and dashes; the key of `args` in the handler. */
  readonly name: string;
  readonly description: string;
  /** May be left out (only after the required ones). Default: required. */
  readonly optional?: boolean;
  /** Takes every remaining word (the last argument only); the handler gets a string[]. */
  readonly variadic?: boolean;
}

/** An option of a plugin command, keyed by its long name (`alias` is `--alias`). */
export interface CommandOptionSpec {
  readonly description: string;
  /** The option takes a value, shown as `--alias <value>`; absent: a flag (boolean). */
  readonly value?: string;
  /** The only values accepted (anything else is a usage error naming them). */
  readonly choices?: readonly string[];
}

type ArgumentValue<A extends CommandArgumentSpec> = A extends { readonly variadic: true }
  ? string[]
  : A extends { readonly optional: true }
    ? string | undefined
    : string;
/** What a handler receives in `args`, typed from the declared arguments. */
export type ArgumentValues<A extends readonly CommandArgumentSpec[]> = { readonly [E in A[number] as E['name']]: ArgumentValue<E> };

type OptionValue<O extends CommandOptionSpec> = O extends { readonly value: string }
  ? (O extends { readonly choices: readonly (infer V extends string)[] } ? V : string) | undefined
  : boolean;
/** What a handler receives in `options`, typed from the declared options. */
export type OptionValues<O extends Readonly<Record<string, CommandOptionSpec>>> = { readonly [N in keyof O]: OptionValue<O[N]> };

/** Core's loaded configuration, as a command handler sees it (read-only). */
export interface CommandConfigView {
  /** The config file, or undefined when there is none (a built-in's command on the defaults). */
  readonly file: string | undefined;
  readonly configDir: string;
  readonly namespace: string;
  /** The merged, validated settings (every section, defaults applied). */
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * What a plugin command's handler receives. Core builds it as it builds a run's
 * `PluginApi`: the plugin's section validated by its schema (problems with file and line),
 * the declared secrets looked up in the slave's stores (and registered for redaction),
 * a logger scoped to the plugin that redacts with the command's redactor.
 */
export interface CommandContext<C = unknown, K extends string = string, A = Readonly<Record<string, string | string[] | undefined>>, O = Readonly<Record<string, string | boolean | undefined>>> {
  readonly args: A;
  readonly options: O;
  /** The plugin's validated config (`plugins.<key>`, schema defaults applied). */
  readonly config: C;
  /** Core's loaded configuration. */
  readonly core: CommandConfigView;
  readonly secrets: PluginSecrets<K>;
  /** Scoped to the plugin; every line is redacted. */
  readonly log: Logger;
  /** The global `--dry-run`: do nothing outside, say what would be done. */
  readonly dryRun: boolean;
  /** The global `--json`: print one JSON document (printJson) instead of text. */
  readonly json: boolean;
  /** Fires on SIGINT/SIGTERM: hand it to every process and request the command starts. */
  readonly signal: AbortSignal;
  /** Masks a string with the command's redactor. */
  redact(text: string): string;
  /** Writes a line of output on stdout, redacted. */
  print(line: string): void;
  /** Writes a JSON document on stdout, redacted. */
  printJson(value: unknown): void;
  /** A path from the plugin's config, made absolute against the config file's directory. */
  resolvePath(path: string): string;
}

/** A command as a plugin declares it, through the `command()` helper `commands` receives. */
export interface CommandSpec<C, K extends string, A extends readonly CommandArgumentSpec[], O extends Readonly<Record<string, CommandOptionSpec>>> {
  /** One word (lower-case letters, digits, dashes): `say` of `byoci irc say`. */
  readonly name: string;
  /** One line: what `--help` lists. */
  readonly description: string;
  /** Text shown after the options in `byoci <command> --help` (examples...). */
  readonly help?: string;
  readonly arguments?: A;
  readonly options?: O;
  /**
   * How the command treats the global `--dry-run`: `supported` (the handler reads
   * `dryRun` and changes nothing outside), `read-only` (it never changes anything).
   * Absent: core refuses `--dry-run` for it with a usage error, rather than run it for real.
   */
  readonly dryRun?: 'supported' | 'read-only';
  /** Runs the command; the exit code it returns (default 0). Throw UsageError/ConfigError for bad input. */
  run(context: CommandContext<C, K, ArgumentValues<A>, OptionValues<O>>): Promise<number | void> | number | void;
}

/** A command a plugin contributes (what `command()` returns): a leaf that runs. */
export interface PluginCommand {
  readonly kind: 'command';
  readonly name: string;
  readonly description: string;
  readonly help?: string;
  readonly arguments: readonly CommandArgumentSpec[];
  readonly options: Readonly<Record<string, CommandOptionSpec>>;
  readonly dryRun?: 'supported' | 'read-only';
  run(context: CommandContext): Promise<number | void> | number | void;
}

/** A word grouping subcommands: `byoci image` of `byoci image build` and `byoci image list`. */
export interface PluginCommandGroup {
  readonly kind: 'group';
  readonly name: string;
  readonly description: string;
  readonly commands: readonly PluginCommand[];
}

/** The helpers `commands` receives: `command()` types a command's arguments and options. */
export interface CommandHelpers<C, K extends string> {
  command<const A extends readonly CommandArgumentSpec[] = [], const O extends Readonly<Record<string, CommandOptionSpec>> = {}>(
    spec: CommandSpec<C, K, A, O>,
  ): PluginCommand;
  group(name: string, description: string, commands: readonly PluginCommand[]): PluginCommandGroup;
}

/** The helpers handed to a plugin's `commands` (they only shape the declarations). */
export const COMMAND_HELPERS: CommandHelpers<never, never> = Object.freeze({
  command: (spec: CommandSpec<never, never, readonly CommandArgumentSpec[], Readonly<Record<string, CommandOptionSpec>>>): PluginCommand =>
    Object.freeze({
      kind: 'command' as const,
      name: spec.name,
      description: spec.description,
      ...(spec.help !== undefined ? { help: spec.help } : {}),
      arguments: spec.arguments ?? [],
      options: spec.options ?? {},
      ...(spec.dryRun !== undefined ? { dryRun: spec.dryRun } : {}),
      run: spec.run as PluginCommand['run'],
    }),
  group: (name: string, description: string, commands: readonly PluginCommand[]): PluginCommandGroup =>
    Object.freeze({ kind: 'group' as const, name, description, commands }),
});

export interface PluginDefinition<
  S extends z.ZodTypeAny = z.ZodTypeAny,
  K extends string = string,
  T extends z.ZodTypeAny = z.ZodTypeAny,
  M extends z.ZodTypeAny = z.ZodTypeAny,
> {
  /** One name constant per plugin: used for taps, log scope and error tags. */
  readonly name: string;
  readonly description: string;
  /**
   * The plugin API version the plugin was written against (`PLUGIN_API_VERSION` of the
   * byoci it was built with). Core refuses a plugin of another major version, with a
   * message saying which versions it supports. Built-ins omit it (always current).
   */
  readonly apiVersion?: number;
  /** Schema of the plugin's section in the config (`plugins.<name>`). */
  readonly config?: S;
  readonly secrets?: Readonly<Record<K, SecretDeclaration>>;
  /** Set by forge plugins: the schema and branch of their targets. */
  readonly forge?: ForgeTargets<T, M>;
  /** What the plugin handles (VCS, container backends). */
  readonly handles?: PluginHandles;
  /**
   * CLI commands the plugin contributes (`byoci <name> ...`), declared with the helpers:
   * `commands: ({ command, group }) => [group('image', '...', [command({...})])]`. Called
   * without I/O to read the declarations; a handler runs only when its command is called.
   */
  readonly commands?: (helpers: CommandHelpers<z.output<S>, K>) => readonly (PluginCommand | PluginCommandGroup)[];
  apply(hooks: TapHooks, api: PluginApi<z.output<S>, K, z.output<M>>): void;
}

/**
 * Version of the plugin API this byoci implements. A plugin declaring another
 * `apiVersion` is refused at load with a clear error (see docs/plugins.md).
 */
export const PLUGIN_API_VERSION = 1;

/** API versions this core loads. */
export const SUPPORTED_API_VERSIONS: readonly number[] = Object.freeze([1]);

/** Identity function that types a plugin definition. */
export function definePlugin<
  S extends z.ZodTypeAny = z.ZodTypeAny,
  K extends string = never,
  T extends z.ZodTypeAny = z.ZodTypeAny,
  M extends z.ZodTypeAny = z.ZodTypeAny,
>(definition: PluginDefinition<S, K, T, M>): PluginDefinition<S, K, T, M> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`plugin name ${JSON.stringify(definition.name)} must be lower-case letters, digits and dashes`);
  }
  return Object.freeze(definition);
}

/** A plugin definition of any config/secret types (what registries hold). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlugin = PluginDefinition<any, any, any, any>;

/**
 * What a run's configuration needs, computed from the config alone (no plugin imported):
 * the version control systems of its targets and the container backends its projects name.
 */
export interface ConfigNeeds {
  /** VCS of every configured target: its `vcs` key, else what its forge says, else git. */
  readonly vcs: ReadonlySet<string>;
  /** `test.backend` of every project (`auto`, `lxd`, `bwrap`, `unsafe-host`...). */
  readonly backends: ReadonlySet<string>;
}

/**
 * A built-in plugin as the registry lists it: static facts, and `load()` importing the
 * module only when a run needs it (so `byoci --help` imports no plugin at all).
 */
export interface BuiltinPlugin {
  readonly name: string;
  readonly description: string;
  load(): Promise<AnyPlugin>;
  /**
   * For a default plugin: whether this configuration needs it (absent: always loaded).
   * A plugin named under `plugins:` is loaded whatever this says.
   */
  needed?(needs: ConfigNeeds): boolean;
  /**
   * For a forge: the VCS of one of its targets when the target's config tells (no I/O
   * beyond a stat; `configDir` resolves relative paths). Undefined: git.
   */
  targetVcs?(target: Readonly<Record<string, unknown>>, configDir: string): string | undefined;
  /**
   * The top-level words of the CLI commands the plugin contributes, with the description
   * `byoci --help` lists (a test checks them against the plugin's `commands`).
   */
  readonly commands?: readonly { readonly name: string; readonly description: string; /** How `--help` lists it; default the name. */ readonly term?: string }[];
}

/** A registry entry: a lazily loaded built-in, or a plugin already in memory (tests). */
export type RegistryEntry = BuiltinPlugin | AnyPlugin;

/** The set of plugins a CLI hands to core: built-ins by name. */
export type PluginRegistry = ReadonlyMap<string, RegistryEntry>;

/** True for a lazily loaded registry entry (it has `load`, a plugin has `apply`). */
export function isBuiltinEntry(entry: RegistryEntry): entry is BuiltinPlugin {
  return typeof (entry as BuiltinPlugin).load === 'function' && typeof (entry as AnyPlugin).apply !== 'function';
}
