import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { definePlugin } from '../../core/plugin.js';
import { secretsCheck, secretsDelete, secretsGet, secretsList, secretsSet, type SecretsContext, type SecretsIo } from '../../secrets/cli.js';
import { secretsConfigSchema } from '../../secrets/index.js';

interface Captured extends SecretsIo {
  out(): string;
  err(): string;
}

function io(input = '', tty = false): Captured {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const stdin = Object.assign(Readable.from([Buffer.from(input)]), { isTTY: tty });
  return { stdin, stdout, stderr, out: () => out, err: () => err };
}

let root: string;
let dir: string;
let ctx: SecretsContext;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'byoci-secrets-cli-'));
  dir = join(root, 'secrets');
  ctx = { config: secretsConfigSchema.parse({ order: ['env', 'file'], dir }), storeOptions: { env: { BYOCI_SECRET_GITHUB_TOKEN: 'ghp_from_env' } } };
});
after(async () => rm(root, { recursive: true, force: true }));

describe('byoci secrets (logic)', () => {
  test('set reads the value from stdin into the first writable store, mode 600', async () => {
    const c = io('s3cr3t-irc-pass\n');
    assert.equal(await secretsSet(ctx, { key: 'irc/password' }, c), 0);
    assert.equal(c.err(), 'irc/password: stored in file\n');
    assert.equal(c.out(), '');
    const path = join(dir, 'irc', 'password');
    assert.equal(await readFile(path, 'utf8'), 's3cr3t-irc-pass');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  test('--dry-run: set reads no value and stores nothing, delete deletes nothing; both say what they would do', async () => {
    const dry = { ...ctx, dryRun: true };
    const input = io('not-read-value\n');
    assert.equal(await secretsSet(dry, { key: 'remote-ci/jenkins-token' }, input), 0);
    assert.equal(input.err(), 'remote-ci/jenkins-token: would be stored in file (dry run: no value read, nothing stored)\n');
    assert.equal(await secretsGet(ctx, { key: 'remote-ci/jenkins-token' }, io()), 1, 'nothing was stored');
    const stored = io('kept-value\n');
    assert.equal(await secretsSet(ctx, { key: 'remote-ci/jenkins-token' }, stored), 0);
    const del = io();
    assert.equal(await secretsDelete(dry, { key: 'remote-ci/jenkins-token' }, del), 0);
    assert.equal(del.err(), 'remote-ci/jenkins-token: would be deleted from file (dry run: nothing deleted)\n');
    const after = io();
    assert.equal(await secretsGet(ctx, { key: 'remote-ci/jenkins-token', reveal: true }, after), 0);
    assert.equal(after.out(), 'kept-value\n', 'still there');
    assert.equal(await secretsDelete(ctx, { key: 'remote-ci/jenkins-token' }, io()), 0);
    const none = io();
    assert.equal(await secretsDelete(dry, { key: 'remote-ci/jenkins-token' }, none), 1);
    assert.equal(none.err(), 'remote-ci/jenkins-token: no writable store holds it (dry run)\n');
  });

  test('set refuses a value given on the command line and stores nothing', async () => {
    const c = io('');
    assert.equal(await secretsSet(ctx, { key: 'launchpad/oauth', extra: ['typed-on-argv'] }, c), 2);
    assert.match(c.err(), /refusing a value on the command line.*rotate it/);
    assert.ok(!c.err().includes('typed-on-argv'));
    const g = io();
    assert.equal(await secretsGet(ctx, { key: 'launchpad/oauth' }, g), 1);
  });

  test('set refuses the read-only env store, an empty value and a bad key', async () => {
    const env = io('x-value');
    assert.equal(await secretsSet(ctx, { key: 'github/token', store: 'env' }, env), 3);
    assert.match(env.err(), /env store: it is read-only; bind the credential in Jenkins as BYOCI_SECRET_GITHUB_TOKEN/);
    const empty = io('\n');
    assert.equal(await secretsSet(ctx, { key: 'irc/nick' }, empty), 2);
    assert.match(empty.err(), /empty value for irc\/nick, nothing stored/);
    const bad = io('v');
    assert.equal(await secretsSet(ctx, { key: 'no-slash' }, bad), 2);
    assert.match(bad.err(), /invalid secret key "no-slash"/);
  });

  test('set warns when an earlier store shadows the new value', async () => {
    const c = io('ghp_in_file');
    assert.equal(await secretsSet(ctx, { key: 'github/token' }, c), 0);
    assert.match(c.err(), /warning: env also holds github\/token and is asked first/);
  });

  test('get says where a secret is and prints it only with --reveal', async () => {
    const hidden = io();
    assert.equal(await secretsGet(ctx, { key: 'irc/password' }, hidden), 0);
    assert.equal(hidden.out(), 'irc/password: set (file); add --reveal to print the value\n');
    const shown = io();
    assert.equal(await secretsGet(ctx, { key: 'irc/password', reveal: true }, shown), 0);
    assert.equal(shown.out(), 's3cr3t-irc-pass\n');
    const json = io();
    assert.equal(await secretsGet({ ...ctx, json: true }, { key: 'github/token' }, json), 0);
    assert.deepEqual(JSON.parse(json.out()), { key: 'github/token', set: true, store: 'env' });
  });

  test('list shows keys per store, never values', async () => {
    const c = io();
    assert.equal(await secretsList(ctx, {}, c), 0);
    assert.equal(c.out(), 'env: github/token\nfile: github/token irc/password\n');
    const j = io();
    await secretsList({ ...ctx, json: true }, {}, j);
    assert.deepEqual(JSON.parse(j.out()), { stores: [{ store: 'env', keys: ['github/token'] }, { store: 'file', keys: ['github/token', 'irc/password'] }] });
  });

  test('a world-readable file makes get fail naming the file and chmod 600', async () => {
    const path = join(dir, 'irc', 'password');
    await chmod(path, 0o644);
    try {
      const c = io();
      assert.equal(await secretsGet(ctx, { key: 'irc/password', reveal: true }, c), 3);
      assert.equal(c.out(), '', 'nothing revealed');
      assert.ok(c.err().includes(`chmod 600 ${path}`), c.err());
    } finally {
      await chmod(path, 0o600);
    }
  });

  test('delete removes from writable stores and says when env still holds it', async () => {
    const c = io();
    assert.equal(await secretsDelete(ctx, { key: 'github/token' }, c), 0);
    assert.equal(c.err(), 'github/token: deleted from file\nnote: BYOCI_SECRET_GITHUB_TOKEN is still set in the environment\n');
    const again = io();
    assert.equal(await secretsDelete(ctx, { key: 'irc/nothing' }, again), 1);
    assert.match(again.err(), /no writable store held it/);
  });

  test('check lists what each configured plugin declares, whether set and where', async () => {
    const plugins = [
      definePlugin({ name: 'github', description: 'g', config: z.object({}), secrets: { token: { description: 'API token' } }, apply() {} }),
      definePlugin({
        name: 'irc',
        description: 'i',
        secrets: { password: { description: 'NickServ password', required: false }, 'server-pass': { description: 'server password', required: false } },
        apply() {},
      }),
      definePlugin({ name: 'launchpad', description: 'l', secrets: { oauth: { description: 'OAuth credentials' } }, apply() {} }),
      definePlugin({ name: 'lxd', description: 'x', apply() {} }),
    ];
    const c = io();
    assert.equal(await secretsCheck(ctx, { plugins }, c), 1, 'launchpad/oauth is required and missing');
    const lines = c.out().trimEnd().split('\n');
    assert.equal(lines[0], 'stores, in lookup order: env, file');
    assert.match(lines[1]!, /^github\/token +required +set \(env\) +API token$/);
    assert.match(lines[2]!, /^irc\/password +optional +set \(file\) +NickServ password$/);
    assert.match(lines[3]!, /^irc\/server-pass +optional +MISSING: byoci secrets set irc\/server-pass, or BYOCI_SECRET_IRC_SERVER_PASS/);
    assert.match(lines[4]!, /^launchpad\/oauth +required +MISSING/);
    assert.equal(lines[5], 'plugins declaring no secret: lxd');
    assert.ok(!c.out().includes('ghp_from_env') && !c.out().includes('s3cr3t'), 'no value printed');

    const j = io();
    await secretsCheck({ ...ctx, json: true }, { plugins: plugins.slice(0, 2) }, j);
    const report = JSON.parse(j.out()) as { secrets: { key: string; status: string; store: string | null }[] };
    assert.deepEqual(report.secrets.map((s) => [s.key, s.status, s.store]), [
      ['github/token', 'set', 'env'],
      ['irc/password', 'set', 'file'],
      ['irc/server-pass', 'missing', null],
    ]);
  });
});
