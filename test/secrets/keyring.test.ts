import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SecretStoreError, createKeyringStore, createStores, lookupSecret, secretsConfigSchema } from '../../secrets/index.js';
import { suiteNeeds } from '../support/components.js';
import { missingSecretService, startSecretService, type SecretService } from '../support/keyring.js';

const KEY_VALUE = '-----BEGIN OPENSSH ' + 'PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

describe('keyring store (real Secret Service: gnome-keyring in dbus-run-session)', suiteNeeds('Secret Service', missingSecretService()), () => {
  let service: SecretService;
  before(async () => {
    service = await startSecretService();
    // @napi-rs/keyring connects to the session bus named by the environment.
    process.env.DBUS_SESSION_BUS_ADDRESS = service.address;
  });
  after(async () => {
    delete process.env.DBUS_SESSION_BUS_ADDRESS;
    await service?.stop();
  });

  test('set, get, list and delete items of the byoci service', async () => {
    const store = createKeyringStore({ service: 'byoci-test' });
    assert.equal(await store.get('github/token'), undefined);
    await store.set!('github/token', 'ghp_keyring_value');
    await store.set!('git/ssh-key', KEY_VALUE);
    assert.equal(await store.get('github/token'), 'ghp_keyring_value');
    assert.equal(await store.get('git/ssh-key'), KEY_VALUE, 'multi-line values survive');
    await store.set!('github/token', 'ghp_replaced');
    assert.equal(await store.get('github/token'), 'ghp_replaced');
    assert.deepEqual(await store.list!(), ['git/ssh-key', 'github/token']);
    assert.equal(await store.delete!('github/token'), true);
    assert.equal(await store.delete!('github/token'), false);
    assert.deepEqual(await store.list!(), ['git/ssh-key']);
  });

  test('items of another service are not seen (service comes from secrets.service)', async () => {
    await createKeyringStore({ service: 'other-service' }).set!('irc/password', 'elsewhere');
    const stores = createStores(secretsConfigSchema.parse({ order: ['keyring'], service: 'byoci-test' }));
    assert.deepEqual(await lookupSecret(stores, 'irc/password'), { key: 'irc/password', value: undefined, store: undefined });
    const other = createStores(secretsConfigSchema.parse({ order: ['keyring'], service: 'other-service' }));
    assert.deepEqual(await lookupSecret(other, 'irc/password'), { key: 'irc/password', value: 'elsewhere', store: 'keyring' });
  });

  test('env before keyring: the keyring answers only what env does not hold', async () => {
    await createKeyringStore({ service: 'byoci-order' }).set!('launchpad/oauth', 'kr-oauth');
    const stores = createStores(secretsConfigSchema.parse({ order: ['env', 'keyring'], service: 'byoci-order' }), {
      env: { BYOCI_SECRET_LAUNCHPAD_OAUTH: 'env-oauth' },
    });
    assert.equal((await lookupSecret(stores, 'launchpad/oauth')).store, 'env');
    const krOnly = createStores(secretsConfigSchema.parse({ order: ['env', 'keyring'], service: 'byoci-order' }), { env: {} });
    assert.deepEqual(await lookupSecret(krOnly, 'launchpad/oauth'), { key: 'launchpad/oauth', value: 'kr-oauth', store: 'keyring' });
  });
});

describe('keyring store without a Secret Service', () => {
  test('fails loudly (pinned to secret-service: no silent fallback to the kernel keyring)', async () => {
    const saved = process.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/byoci-no-bus';
    try {
      const store = createKeyringStore({ service: 'byoci-test' });
      await assert.rejects(store.get('github/token'), (e: Error) => {
        assert.ok(e instanceof SecretStoreError);
        assert.match(e.message, /^keyring store: the Secret Service is unavailable or locked/);
        assert.match(e.message, /remove keyring from secrets\.order/);
        return true;
      });
      await assert.rejects(store.set!('github/token', 'x'), SecretStoreError);
      await assert.rejects(store.list!(), SecretStoreError);
    } finally {
      if (saved === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
      else process.env.DBUS_SESSION_BUS_ADDRESS = saved;
    }
  });
});
