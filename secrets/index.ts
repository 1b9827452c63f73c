/**
 * Credentials held only on the slave: three stores (env, file, keyring) behind one
 * interface, a configurable lookup order, and the redaction registry that masks every
 * value on every output. See secrets/README.md.
 */
export type { SecretStore, SecretLookup } from './types.js';
export { Redactor, REDACTION_MASK, createRedactingTransform, type TextRedactor } from './redact.js';
export { SecretStoreError, SecretKeyError } from './errors.js';
export { parseKey, isValidKey, secretKey, normalizeValue, type ParsedKey } from './keys.js';
export {
  secretsConfigSchema,
  defaultSecretsDir,
  resolveSecretsDir,
  STORE_NAMES,
  DEFAULT_ALIASES,
  type SecretsConfig,
  type SecretsConfigInput,
  type StoreName,
} from './config.js';
export { createEnvStore, envVarName, isSecretVariable, takeSecretEnv, ENV_PREFIX } from './env.js';
export { createFileStore } from './file.js';
export { createKeyringStore } from './keyring.js';
export { createStore, createStores, lookupSecret, describeStores, type CreateStoresOptions } from './lookup.js';
export { declaredSecrets, resolveDeclaredSecrets, type DeclaredSecret } from './declared.js';
