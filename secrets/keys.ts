/**
 * Secret keys are `<plugin>/<secret>`: the plugin's name constant, a slash, and the name
 * the plugin declared (`git/ssh-key`, `launchpad/oauth`, `github/token`, `irc/password`).
 * Both parts are lower-case letters, digits and dashes, so a key is also a safe relative
 * path and a safe environment variable suffix.
 */
import { SecretKeyError } from './errors.js';

const PART = /^[a-z][a-z0-9-]*$/;

export interface ParsedKey {
  plugin: string;
  name: string;
}

/** Splits and validates a key; throws SecretKeyError naming the key and the rule. */
export function parseKey(key: string): ParsedKey {
  const parts = key.split('/');
  const [plugin, name] = parts;
  if (parts.length !== 2 || !plugin || !name || !PART.test(plugin) || !PART.test(name)) {
    throw new SecretKeyError(
      `invalid secret key ${JSON.stringify(key)}: expected <plugin>/<secret>, each lower-case letters, digits and dashes (e.g. git/ssh-key)`,
    );
  }
  return { plugin, name };
}

export function isValidKey(key: string): boolean {
  try {
    parseKey(key);
    return true;
  } catch {
    return false;
  }
}

/** The key of secret `name` declared by plugin `plugin`. */
export function secretKey(plugin: string, name: string): string {
  const key = `${plugin}/${name}`;
  parseKey(key);
  return key;
}

/**
 * Values read from a file or stdin end with the newline an editor or `echo` added. A
 * one-line value (a token, a password) loses its trailing line break; a multi-line value
 * (a private key, an ini file) is kept as is, since OpenSSH wants the final newline.
 */
export function normalizeValue(raw: string): string {
  const trimmed = raw.replace(/(\r?\n)+$/, '');
  return trimmed.includes('\n') ? raw : trimmed;
}
