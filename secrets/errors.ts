/**
 * Errors of the credential stores. A `SecretStoreError` is an operator problem (a broken
 * store, an unsafe file): its message names the store, the key or file, and the fix.
 */
export class SecretStoreError extends Error {
  override readonly name = 'SecretStoreError';
  /** `keyring`, `file` or `env`. */
  readonly store: string;
  /** The secret key involved, when there is one. */
  readonly key: string | undefined;
  /** What the operator should do, also part of the message. */
  readonly fix: string | undefined;
  /** Its code in the operator-error catalogue (core/errors.ts, docs/errors.md). */
  readonly code = 'secret-store';

  constructor(store: string, message: string, options: { key?: string; fix?: string; cause?: unknown } = {}) {
    super(`${store} store: ${message}${options.fix ? `: ${options.fix}` : ''}`, { cause: options.cause });
    this.store = store;
    this.key = options.key;
    this.fix = options.fix;
  }
}

/** A key that is not `<plugin>/<secret>`. */
export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
}
