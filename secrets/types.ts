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
}

/** Where a secret a plugin declared came from, for `secrets check` and `doctor`. */
export interface SecretLookup {
  key: string;
  value: string | undefined;
  store: string | undefined;
}
