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
}

/** A registry entry: a lazily loaded built-in, or a plugin already in memory (tests). */
export type RegistryEntry = BuiltinPlugin | AnyPlugin;

/** The set of plugins a CLI hands to core: built-ins by name. */
export type PluginRegistry = ReadonlyMap<string, RegistryEntry>;

/** True for a lazily loaded registry entry (it has `load`, a plugin has `apply`). */
export function isBuiltinEntry(entry: RegistryEntry): entry is BuiltinPlugin {
  return typeof (entry as BuiltinPlugin).load === 'function' && typeof (entry as AnyPlugin).apply !== 'function';
}
