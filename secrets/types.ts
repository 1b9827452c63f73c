/**
 * A credential store. Keys are `<plugin>/<secret>` (e.g. `launchpad/oauth`,
 * `git/push-key`); each store maps them to its own layout.
 */
export interface SecretStore {
  /** Short name used in config (`secrets.order`) and messages: `keyring`, `file`, `env`. */
  readonly name: string;
  /** The value, or undefined when this store does not hold the key. Throws when the store is broken. */
  get(key: string): Promise<string | undefined>;
  set?(key: string, value: string): Promise<void>;
  delete?(key: string): Promise<boolean>;
  /** Keys this store holds (never values). */
  list?(): Promise<string[]>;
  /**
   * In the chain only because the operator named no `secrets.order` (the default one): its
   * failure on an optional secret is debug, not a warning (see createStores).
   */
  readonly byDefault?: boolean;
}

/** Where a secret a plugin declared came from, for `secrets check` and `doctor`. */
export interface SecretLookup {
  key: string;
  value: string | undefined;
  store: string | undefined;
}

/**
 * What `secrets/` needs to know of a plugin: its name and the secrets it declares. Core's
 * plugin definitions have this shape; secrets/ never imports core (core uses secrets).
 */
export interface SecretsDeclarer {
  readonly name: string;
  readonly secrets?: Readonly<Record<string, { readonly description: string; readonly required?: boolean }>>;
}

/**
 * Exit codes of the `secrets` commands: the CLI's documented ones (core/errors.ts `EXIT`;
 * test/secrets/cli.test.ts checks that they agree).
 */
export const SECRETS_EXIT = Object.freeze({ ok: 0, rejected: 1, usage: 2, internal: 3 });
