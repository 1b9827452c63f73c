/**
 * The `env` store: what a Jenkins credentials binding injects into the job's environment.
 *
 * Key `<plugin>/<secret>` maps to the variable `BYOCI_SECRET_<PLUGIN>_<SECRET>`, upper-cased
 * with dashes turned into underscores:
 *
 *   git/ssh-key      BYOCI_SECRET_GIT_SSH_KEY       (the value itself: "Secret text" binding)
 *                    BYOCI_SECRET_GIT_SSH_KEY_FILE  (a path to the value: "Secret file" or
 *                                                    "SSH User Private Key" keyFileVariable)
 *   launchpad/oauth  BYOCI_SECRET_LAUNCHPAD_OAUTH
 *
 * The value variable wins over the `_FILE` one. A `_FILE` path is read with the same
 * permission checks as the file store (mode 600, owned by this user or root).
 *
 * `takeSecretEnv()` moves these variables out of `process.env` into a private copy (use
 * `createStores(config, { scrubEnv: true })` once per process): child processes that
 * inherit the environment (git, ssh, hooks, container backends) then never see them.
 *
 * Read-only: `set`/`delete` are not offered (configure the binding in Jenkins instead).
 * `list()` maps variable names back to keys by splitting at the first underscore, which is
 * exact unless a plugin name contains a dash.
 */
import { readSafeFile } from './safe-file.js';
import { parseKey, normalizeValue } from './keys.js';
import type { SecretStore } from './types.js';

export const ENV_PREFIX = 'BYOCI_SECRET_';

/** The environment variable holding `key`: `git/ssh-key` → `BYOCI_SECRET_GIT_SSH_KEY`. */
export function envVarName(key: string): string {
  const { plugin, name } = parseKey(key);
  return `${ENV_PREFIX}${plugin}_${name}`.toUpperCase().replace(/-/g, '_');
}

/** A `BYOCI_SECRET_*` variable (or its `_FILE` form): never to be passed to a child. */
export function isSecretVariable(name: string): boolean {
  return name.toUpperCase().startsWith(ENV_PREFIX);
}

/**
 * Removes every `BYOCI_SECRET_*` variable from `env` (default: `process.env`) and returns
 * them, for an env store that reads the copy. Call it once, early: after it, no child
 * process can inherit a secret from the environment.
 */
export function takeSecretEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const taken: Record<string, string> = {};
  for (const name of Object.keys(env)) {
    if (!isSecretVariable(name)) continue;
    const value = env[name];
    if (value !== undefined) taken[name] = value;
    delete env[name];
  }
  return taken;
}

export interface EnvStoreOptions {
  /** The environment to read; defaults to `process.env` at the time of each call. */
  env?: NodeJS.ProcessEnv;
}

export function createEnvStore(options: EnvStoreOptions = {}): SecretStore {
  const env = () => options.env ?? process.env;
  return {
    name: 'env',
    async get(key) {
      const variable = envVarName(key);
      const value = env()[variable];
      if (value !== undefined && value !== '') return value;
      const path = env()[`${variable}_FILE`];
      if (path) return normalizeValue(await readSafeFile('env', path, key));
      return undefined;
    },
    async list() {
      const keys = new Set<string>();
      for (const [variable, value] of Object.entries(env())) {
        if (!variable.startsWith(ENV_PREFIX) || !value) continue;
        const rest = variable.slice(ENV_PREFIX.length).replace(/_FILE$/, '');
        const cut = rest.indexOf('_');
        if (cut <= 0) continue;
        const key = `${rest.slice(0, cut)}/${rest.slice(cut + 1)}`.toLowerCase().replace(/_/g, '-');
        keys.add(key);
      }
      return [...keys].sort();
    },
  };
}
