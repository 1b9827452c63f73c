/**
 * Building the store chain from the config and looking a key up along it.
 */
import { resolveSecretsDir, type SecretsConfig, type StoreName } from './config.js';
import { createEnvStore, takeSecretEnv } from './env.js';
import { createFileStore } from './file.js';
import { createKeyringStore } from './keyring.js';
import { parseKey } from './keys.js';
import type { SecretLookup, SecretStore } from './types.js';

export interface CreateStoresOptions {
  /** Environment for the env store and for `~`/XDG expansion; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory a relative `secrets.dir` is resolved against (the config file's); default cwd. */
  baseDir?: string;
  /**
   * Move the `BYOCI_SECRET_*` variables out of `process.env` (see takeSecretEnv) so no
   * child process inherits them; the env store reads the private copy. Once per process.
   */
  scrubEnv?: boolean;
  /**
   * The operator named `secrets.order` (default true). When not, the keyring store is in the
   * chain by default only (`byDefault`): a machine without a Secret Service then looks up
   * optional secrets without a warning on every command (doctor still notes it).
   */
  orderGiven?: boolean;
}

/** One store by name. */
export function createStore(name: StoreName, config: SecretsConfig, opts: CreateStoresOptions = {}): SecretStore {
  switch (name) {
    case 'env':
      return createEnvStore(opts.env ? { env: opts.env } : {});
    case 'file':
      return createFileStore({ dir: resolveSecretsDir(config.dir, opts), aliases: config.aliases });
    case 'keyring':
      return createKeyringStore({ service: config.service });
    default:
      throw new Error(`unknown secret store ${String(name)}`);
  }
}

/** The stores of `config.order`, in lookup order. Nothing is read until a lookup. */
export function createStores(config: SecretsConfig, opts: CreateStoresOptions = {}): SecretStore[] {
  // The env store reads a private copy of the secret variables when scrubbing; the other
  // stores still see the real environment (HOME, XDG_CONFIG_HOME).
  const envOpts = opts.scrubEnv && !opts.env ? { ...opts, env: takeSecretEnv(process.env) } : opts;
  return config.order.map((name) => {
    const store = createStore(name, config, name === 'env' ? envOpts : opts);
    return name === 'keyring' && opts.orderGiven === false ? { ...store, byDefault: true } : store;
  });
}

/**
 * Asks each store in turn; the first that holds `key` wins. A store that fails (a locked
 * keyring, a world-readable file) stops the lookup with its error: a secret is never
 * silently taken from a later store because an earlier one was broken.
 */
export async function lookupSecret(stores: readonly SecretStore[], key: string): Promise<SecretLookup> {
  parseKey(key);
  for (const store of stores) {
    const value = await store.get(key);
    if (value !== undefined) return { key, value, store: store.name };
  }
  return { key, value: undefined, store: undefined };
}

/** The names of the stores, for messages: "env, file, keyring". */
export function describeStores(stores: readonly SecretStore[]): string {
  return stores.map((s) => s.name).join(', ') || '(none)';
}
