/**
 * The `keyring` store: the Secret Service (gnome-keyring, KWallet...) through
 * `@napi-rs/keyring`, the maintained successor of keytar that the design named.
 *
 * Items are `service` = `secrets.service` (default `byoci`), account = the key
 * (`git/ssh-key`). The keytar-compatible functions of `@napi-rs/keyring/keytar` cannot pin
 * the backend and would fall back silently to the kernel keyring (lost at reboot); this
 * store uses the `AsyncEntry` class those functions wrap, with the same service/account
 * items, pinned to `{ linux: { store: 'secret-service' } }`, so a missing or locked Secret
 * Service fails loudly with a message saying so.
 *
 * Note: items written by the old `keytar` carry the attribute `account`, napi's carry
 * `username`: re-`set` secrets that keytar wrote.
 */
import { SecretStoreError } from './errors.js';
import { parseKey } from './keys.js';
import type { SecretStore } from './types.js';

type KeyringModule = typeof import('@napi-rs/keyring');

const PINNED = { linux: { store: 'secret-service' as const } };

export interface KeyringStoreOptions {
  /** The Secret Service `service` attribute; default `byoci`. */
  service?: string;
}

function unavailable(error: unknown, key: string | undefined): SecretStoreError {
  const detail = error instanceof Error ? error.message : String(error);
  return new SecretStoreError('keyring', `the Secret Service is unavailable or locked (${detail})`, {
    key,
    cause: error,
    fix: 'start and unlock a Secret Service (gnome-keyring-daemon --unlock --components=secrets in a D-Bus session; DBUS_SESSION_BUS_ADDRESS must be set), or remove keyring from secrets.order',
  });
}

export function createKeyringStore(options: KeyringStoreOptions = {}): SecretStore & { readonly service: string } {
  const service = options.service ?? 'byoci';
  let loaded: Promise<KeyringModule> | undefined;
  const load = () => (loaded ??= import('@napi-rs/keyring'));

  /** Calls `fn` on the pinned entry of `key`, turning any failure into a SecretStoreError. */
  async function withEntry<T>(key: string, fn: (entry: InstanceType<KeyringModule['AsyncEntry']>) => Promise<T>): Promise<T> {
    parseKey(key);
    const { AsyncEntry } = await load();
    try {
      return await fn(new AsyncEntry(service, key, PINNED));
    } catch (error) {
      throw unavailable(error, key);
    }
  }

  return {
    name: 'keyring',
    service,
    async get(key) {
      const value = await withEntry(key, (e) => e.getPassword());
      return value ?? undefined;
    },
    async set(key, value) {
      await withEntry(key, (e) => e.setPassword(value));
    },
    async delete(key) {
      return withEntry(key, (e) => e.deletePassword());
    },
    async list() {
      const { AsyncEntry, findCredentialsAsync } = await load();
      try {
        // The pinned constructor throws when there is no Secret Service; only then ask for
        // the list, which would otherwise search the kernel keyring instead.
        new AsyncEntry(service, 'byoci/probe', PINNED);
        const found = await findCredentialsAsync(service);
        return [...new Set(found.map((c) => c.account))].sort();
      } catch (error) {
        throw unavailable(error, undefined);
      }
    },
  };
}
