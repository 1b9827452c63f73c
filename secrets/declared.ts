/**
 * The secrets plugins declare, and resolving exactly those (for core and `secrets check`).
 */
import { lookupSecret } from './lookup.js';
import type { SecretStore, SecretsDeclarer } from './types.js';

export interface DeclaredSecret {
  plugin: string;
  /** The name the plugin uses: `api.secrets.get(name)`. */
  name: string;
  /** `<plugin>/<name>`. */
  key: string;
  description: string;
  required: boolean;
}

/** Every secret the given plugins declare, in plugin then declaration order. */
export function declaredSecrets(plugins: Iterable<SecretsDeclarer>): DeclaredSecret[] {
  const out: DeclaredSecret[] = [];
  for (const plugin of plugins) {
    for (const [name, decl] of Object.entries(plugin.secrets ?? {}) as [string, { description: string; required?: boolean }][]) {
      out.push({ plugin: plugin.name, name, key: `${plugin.name}/${name}`, description: decl.description, required: decl.required !== false });
    }
  }
  return out;
}

/**
 * Looks up the secrets `plugin` declared, and only those. Returns name → value for the
 * ones found (for `createPluginApi`) and the declared names no store holds.
 */
export async function resolveDeclaredSecrets(
  plugin: SecretsDeclarer,
  stores: readonly SecretStore[],
): Promise<{ values: Map<string, string>; missing: DeclaredSecret[]; found: Map<string, string> }> {
  const values = new Map<string, string>();
  const found = new Map<string, string>();
  const missing: DeclaredSecret[] = [];
  for (const declared of declaredSecrets([plugin])) {
    const lookup = await lookupSecret(stores, declared.key);
    if (lookup.value === undefined) missing.push(declared);
    else {
      values.set(declared.name, lookup.value);
      found.set(declared.name, lookup.store!);
    }
  }
  return { values, missing, found };
}
