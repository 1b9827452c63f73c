import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  SecretKeyError,
  SecretStoreError,
  createEnvStore,
  createFileStore,
  createStores,
  envVarName,
  lookupSecret,
  secretsConfigSchema,
} from '../../secrets/index.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'byoci-secrets-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function secretsDir(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { mode: 0o700 });
  await chmod(dir, 0o700);
  return dir;
}

async function plant(dir: string, rel: string, value: string, mode = 0o600): Promise<string> {
  const path = join(dir, rel);
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  await writeFile(path, value, { mode });
  await chmod(path, mode); // umask must not decide the test
  return path;
}

describe('env store', () => {
  test('maps <plugin>/<secret> to BYOCI_SECRET_<PLUGIN>_<SECRET>', () => {
    assert.equal(envVarName('git/ssh-key'), 'BYOCI_SECRET_GIT_SSH_KEY');
    assert.equal(envVarName('launchpad/oauth'), 'BYOCI_SECRET_LAUNCHPAD_OAUTH');
    assert.throws(() => envVarName('Git/ssh key'), SecretKeyError);
  });

  test('reads the value variable, else the _FILE path a Jenkins file binding injects', async () => {
    const dir = await secretsDir('env-bind');
    const path = await plant(dir, 'secretFiles/key', 'from-file-value\n');
    const store = createEnvStore({
      env: { BYOCI_SECRET_GITHUB_TOKEN: 'ghp_value', BYOCI_SECRET_GIT_SSH_KEY_FILE: path, BYOCI_SECRET_IRC_PASSWORD: '' },
    });
    assert.equal(await store.get('github/token'), 'ghp_value');
    assert.equal(await store.get('git/ssh-key'), 'from-file-value');
    assert.equal(await store.get('irc/password'), undefined, 'an empty variable is absent');
    assert.equal(await store.get('launchpad/oauth'), undefined);
    assert.deepEqual(await store.list!(), ['git/ssh-key', 'github/token']);
  });

  test('refuses a world-readable _FILE, naming it and chmod 600', async () => {
    const dir = await secretsDir('env-bad');
    const path = await plant(dir, 'key', 'v', 0o644);
    const store = createEnvStore({ env: { BYOCI_SECRET_GIT_SSH_KEY_FILE: path } });
    await assert.rejects(store.get('git/ssh-key'), (e: Error) => e instanceof SecretStoreError && e.message.includes(path) && e.message.includes(`chmod 600 ${path}`));
  });
});

describe('file store', () => {
  test('reads <dir>/<plugin>/<secret>, then the alias, keeps multi-line values whole', async () => {
    const dir = await secretsDir('layout');
    const key = '-----BEGIN OPENSSH ' + 'PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
    await plant(dir, 'slaves/ssh/keys/jenkins@brz-slave-testing', key);
    await plant(dir, 'launchpad/credentials', '[1]\nconsumer_key = byoci\naccess_token = t\n');
    await plant(dir, 'github/token', 'ghp_abc\n');
    const store = createFileStore({ dir, aliases: { 'git/ssh-key': 'slaves/ssh/keys/jenkins@brz-slave-testing' } });
    assert.equal(await store.get('git/ssh-key'), key);
    assert.equal(await store.get('launchpad/oauth'), '[1]\nconsumer_key = byoci\naccess_token = t\n', 'built-in alias of the seed layout');
    assert.equal(await store.get('github/token'), 'ghp_abc', 'one-line value without its newline');
    assert.equal(await store.get('irc/password'), undefined);
    assert.deepEqual(await store.list!(), ['git/ssh-key', 'github/token', 'launchpad/oauth']);
    // <plugin>/<secret> wins over the alias
    await plant(dir, 'git/ssh-key', 'direct-key-value');
    assert.equal(await store.get('git/ssh-key'), 'direct-key-value');
  });

  test('refuses a world-readable file with a message naming the file and chmod 600', async () => {
    const dir = await secretsDir('readable');
    const path = await plant(dir, 'github/token', 'ghp_leaky', 0o644);
    const store = createFileStore({ dir });
    await assert.rejects(store.get('github/token'), (e: Error) => {
      assert.ok(e instanceof SecretStoreError);
      assert.match(e.message, /readable by group or others \(mode 0644\)/);
      assert.ok(e.message.includes(`chmod 600 ${path}`), e.message);
      return true;
    });
    await chmod(path, 0o640);
    await assert.rejects(store.get('github/token'), /readable by group or others \(mode 0640\)/);
    await chmod(path, 0o602);
    await assert.rejects(store.get('github/token'), /writable by group or others \(mode 0602\)/);
    await chmod(path, 0o400);
    assert.equal(await store.get('github/token'), 'ghp_leaky');
  });

  test('refuses a group- or world-writable directory on the way to the file', async () => {
    const dir = await secretsDir('writable');
    await plant(dir, 'github/token', 'ghp_x');
    const store = createFileStore({ dir });
    await chmod(join(dir, 'github'), 0o777);
    await assert.rejects(store.get('github/token'), (e: Error) => e.message.includes(`secrets directory ${join(dir, 'github')}`) && e.message.includes('writable by group or others'));
    await chmod(join(dir, 'github'), 0o700);
    await chmod(dir, 0o770);
    await assert.rejects(store.get('github/token'), new RegExp(`chmod go-w ${dir}`));
    await chmod(dir, 0o755); // readable but not writable by others is fine for a directory
    assert.equal(await store.get('github/token'), 'ghp_x');
  });

  test('checks a symbolic link at its target', async () => {
    const dir = await secretsDir('links');
    const target = await plant(dir, 'real/token', 'link-target', 0o644);
    await mkdir(join(dir, 'github'), { mode: 0o700 });
    await symlink(target, join(dir, 'github', 'token'));
    const store = createFileStore({ dir });
    await assert.rejects(store.get('github/token'), /mode 0644/);
  });

  test('set writes mode 600 under 700 directories; delete removes; a missing dir holds nothing', async () => {
    const dir = join(root, 'fresh', 'secrets');
    const store = createFileStore({ dir });
    assert.equal(await store.get('irc/password'), undefined);
    assert.deepEqual(await store.list!(), []);
    await store.set!('irc/password', 'hunter22');
    const path = join(dir, 'irc', 'password');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'irc'))).mode & 0o777, 0o700);
    assert.equal(await readFile(path, 'utf8'), 'hunter22');
    assert.equal(await store.get('irc/password'), 'hunter22');
    await store.set!('irc/password', 'replaced');
    assert.equal(await store.get('irc/password'), 'replaced');
    assert.equal(await store.delete!('irc/password'), true);
    assert.equal(await store.delete!('irc/password'), false);
    assert.equal(await store.get('irc/password'), undefined);
  });

  test('rejects keys that could escape the directory', async () => {
    const store = createFileStore({ dir: root });
    for (const key of ['../etc/passwd', 'git/../../x', '/abs/path', 'git/ssh-key/extra', 'GIT/key']) {
      await assert.rejects(store.get(key), SecretKeyError, key);
    }
  });
});

describe('config and lookup order', () => {
  test('defaults: env, file, keyring; service byoci', () => {
    const config = secretsConfigSchema.parse(undefined);
    assert.deepEqual(config.order, ['env', 'file', 'keyring']);
    assert.equal(config.service, 'byoci');
  });

  test('rejects unknown stores, duplicates, bad aliases and unknown options, naming them', () => {
    const bad = secretsConfigSchema.safeParse({ order: ['env', 'vault', 'env'], aliases: { 'x/y': '../up', nokey: 'a' }, dirr: 'x' });
    assert.equal(bad.success, false);
    const text = JSON.stringify(bad.error!.issues.map((i) => [i.path.join('.'), i.message]));
    assert.match(text, /order\.1.*Invalid enum value.*'vault'/);
    assert.match(text, /aliases\.x\/y.*without \\"\.\.\\"/);
    assert.match(text, /aliases\.nokey.*not a <plugin>\/<secret> key/);
    assert.match(text, /Unrecognized key.*dirr/);
    const dup = secretsConfigSchema.safeParse({ order: ['env', 'env'] });
    assert.match(JSON.stringify(dup.error!.issues), /lists a store twice/);
  });

  test('the first store holding a key wins, in the configured order', async () => {
    const dir = await secretsDir('order');
    await plant(dir, 'github/token', 'from-file');
    await plant(dir, 'irc/password', 'only-in-file');
    const env = { BYOCI_SECRET_GITHUB_TOKEN: 'from-env', HOME: root };
    const envFirst = createStores(secretsConfigSchema.parse({ order: ['env', 'file'], dir }), { env });
    assert.deepEqual(await lookupSecret(envFirst, 'github/token'), { key: 'github/token', value: 'from-env', store: 'env' });
    assert.deepEqual(await lookupSecret(envFirst, 'irc/password'), { key: 'irc/password', value: 'only-in-file', store: 'file' });
    assert.deepEqual(await lookupSecret(envFirst, 'launchpad/oauth'), { key: 'launchpad/oauth', value: undefined, store: undefined });
    const fileFirst = createStores(secretsConfigSchema.parse({ order: ['file', 'env'], dir }), { env });
    assert.equal((await lookupSecret(fileFirst, 'github/token')).store, 'file');
  });

  test('a relative dir is resolved against the config directory', async () => {
    const dir = await secretsDir('relative');
    await plant(dir, 'github/token', 'rel');
    const stores = createStores(secretsConfigSchema.parse({ order: ['file'], dir: 'relative' }), { baseDir: root });
    assert.equal((await lookupSecret(stores, 'github/token')).value, 'rel');
  });

  test('a broken store stops the lookup instead of falling through to a later store', async () => {
    const dir = await secretsDir('broken');
    await plant(dir, 'github/token', 'world-readable', 0o644);
    const stores = createStores(secretsConfigSchema.parse({ order: ['file', 'env'], dir }), { env: { BYOCI_SECRET_GITHUB_TOKEN: 'env-value' } });
    await assert.rejects(lookupSecret(stores, 'github/token'), SecretStoreError);
  });
});

describe('scrubbing the environment', () => {
  test('createStores({scrubEnv}) moves BYOCI_SECRET_* out of process.env; the env store still answers', async () => {
    process.env.BYOCI_SECRET_SCRUB_TOKEN = 'scrub-me-value';
    process.env.BYOCI_SECRET_SCRUB_KEY_FILE = '/nonexistent/key';
    process.env.BYOCI_UNRELATED = 'stays';
    try {
      const stores = createStores(secretsConfigSchema.parse({ order: ['env'] }), { scrubEnv: true });
      assert.equal(process.env.BYOCI_SECRET_SCRUB_TOKEN, undefined, 'no child process can inherit it now');
      assert.equal(process.env.BYOCI_SECRET_SCRUB_KEY_FILE, undefined);
      assert.equal(process.env.BYOCI_UNRELATED, 'stays');
      assert.deepEqual(await lookupSecret(stores, 'scrub/token'), { key: 'scrub/token', value: 'scrub-me-value', store: 'env' });
      const { stdout } = await import('node:child_process').then((cp) => cp.spawnSync('env', { encoding: 'utf8' }));
      assert.ok(!stdout.includes('scrub-me-value') && stdout.includes('BYOCI_UNRELATED=stays'));
    } finally {
      delete process.env.BYOCI_SECRET_SCRUB_TOKEN;
      delete process.env.BYOCI_SECRET_SCRUB_KEY_FILE;
      delete process.env.BYOCI_UNRELATED;
    }
  });
});
