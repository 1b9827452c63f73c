/**
 * `verify` (byoci doctor, every land) says up front whether the forge accepts the push key:
 * a real sshd on 127.0.0.1, real generated keys, known_hosts files written by ssh-keygen.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import gitPlugin from '../../../plugins/git/index.js';
import { keysFor } from '../../../plugins/git/known-hosts.js';
import { parseSshRemote, targetRemotes } from '../../../plugins/git/ssh-check.js';
import type { Note, Problem, ProjectConfig } from '../../../hooks/index.js';
import { needs } from '../../support/components.js';
import { freePort, startSilentServer } from '../../support/net.js';
import { targetFor, verifyPlugin } from '../../support/harness.js';
import { startSshd, sshdMissing, type Sshd } from '../../support/sshd.js';
import { testSpec } from '../../support/spec.js';

/** A target as written in the config, made a Target: the branch is its `repo` (or `url`). */
type RawTarget = { forge: string; repo?: string; url?: string; vcs?: string; branch?: string };

function project(targets: RawTarget[]): ProjectConfig {
  return {
    name: 'demo',
    targets: targets.map((t) => targetFor(t.forge, { url: t.repo ?? t.url ?? '', vcs: t.vcs ?? 'git' }, t)),
    test: testSpec({ backend: 'auto' }),
  };
}

interface Verified {
  problems: Problem[];
  notes: Note[];
  lines: string[];
}

function verify(config: unknown, secrets: Record<string, string>, targets: RawTarget[]): Promise<Verified> {
  return verifyPlugin({ plugin: gitPlugin, config, secrets }, [project(targets)]);
}

/** `SHA256:...` of a public key file, as ssh-keygen prints it. */
function fingerprintOf(pubFile: string): string {
  const r = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const fp = r.stdout.split(' ')[1];
  assert.match(fp ?? '', /^SHA256:/);
  return fp!;
}

function keygen(file: string, passphrase = ''): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'byoci-check', '-f', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(file, 'utf8');
}

/** The base64 lines of a private key: none of them may appear in a log line. */
function keyLines(key: string): string[] {
  return key.split('\n').filter((l) => l && !l.startsWith('-----'));
}

describe('git plugin: push key check in verify (real sshd)', () => {
  let sshd: Sshd | undefined;
  const logs: string[] = [];
  const keys: string[] = [];
  before(async () => {
    if (!sshdMissing()) sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  function server(t: TestContext): Sshd | undefined {
    return needs(t, 'sshd', sshdMissing()) ? sshd : undefined;
  }

  async function verifyLogged(config: unknown, secrets: Record<string, string>, targets: RawTarget[]): Promise<Verified> {
    const result = await verify(config, secrets, targets);
    logs.push(...result.lines);
    return result;
  }

  test('an accepted key is a note naming user, host, port and the key fingerprint; one check per endpoint', async (t) => {
    const s = server(t);
    if (!s) return;
    keys.push(s.clientKey);
    const { problems, notes } = await verifyLogged({ knownHosts: s.knownHosts }, { 'ssh-key': s.clientKey }, [
      { forge: 'local', repo: s.url('/srv/a.git'), branch: 'main' },
      { forge: 'github', repo: 'owner/name', url: `git+ssh://${s.user}@${s.host}:${s.port}/srv/b.git` },
      { forge: 'launchpad', url: 'lp:~owner/project/+git/repo' },
      { forge: 'local', repo: '/srv/local/repo', branch: 'main' },
    ]);
    assert.deepEqual(problems, []);
    const accepted = notes.filter((n) => n.message.startsWith('push key accepted'));
    assert.deepEqual(accepted.map((n) => n.message), [
      `push key accepted by ${s.user}@127.0.0.1:${s.port} (ssh-ed25519 ${fingerprintOf(join(s.dir, 'client_ed25519.pub'))})`,
    ]);
  });

  test('a key the server does not know: authentication failed', async (t) => {
    const s = server(t);
    if (!s) return;
    const other = readFileSync(join(s.dir, 'other_ed25519'), 'utf8');
    keys.push(other);
    const { problems, notes } = await verifyLogged({ knownHosts: s.knownHosts }, { 'ssh-key': other }, [
      { forge: 'local', repo: s.url('/srv/a.git') },
    ]);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!.message, new RegExp(`^authentication failed for ${s.user}@127\\.0\\.0\\.1:${s.port} `));
    assert.ok(problems[0]!.message.includes(fingerprintOf(join(s.dir, 'other_ed25519.pub'))), problems[0]!.message);
    assert.match(problems[0]!.hint ?? '', /public key/);
    assert.ok(!notes.some((n) => n.message.startsWith('push key accepted')));
  });

  test('a host key that does not match known_hosts is a problem naming host and the fingerprint it presented', async (t) => {
    const s = server(t);
    if (!s) return;
    const { problems } = await verifyLogged({ knownHosts: s.wrongKnownHosts }, { 'ssh-key': s.clientKey }, [
      { forge: 'local', repo: s.url('/srv/a.git') },
    ]);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    const hostFp = fingerprintOf(join(s.dir, 'host_ed25519.pub'));
    assert.match(problems[0]!.message, new RegExp(`^host key of 127\\.0\\.0\\.1:${s.port} does not match`));
    assert.ok(problems[0]!.message.includes(`ssh-ed25519 ${hostFp}`), problems[0]!.message);
  });

  test('a host missing from known_hosts is unknown, never accepted', async (t) => {
    const s = server(t);
    if (!s) return;
    const file = join(s.dir, 'other_host_known_hosts');
    writeFileSync(file, readFileSync(s.knownHosts, 'utf8').replace(`[127.0.0.1]:${s.port}`, 'git.example.org'));
    const { problems, notes } = await verifyLogged({ knownHosts: file }, { 'ssh-key': s.clientKey }, [
      { forge: 'local', repo: s.url('/srv/a.git') },
    ]);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!.message, new RegExp(`^host key of 127\\.0\\.0\\.1:${s.port} is unknown: \\[127\\.0\\.0\\.1\\]:${s.port} is not in `));
    assert.ok(problems[0]!.message.includes(fingerprintOf(join(s.dir, 'host_ed25519.pub'))));
    assert.match(problems[0]!.hint ?? '', new RegExp(`ssh-keyscan -p ${s.port} 127\\.0\\.0\\.1`));
    assert.ok(!notes.some((n) => n.message.startsWith('push key accepted')));
  });

  test('hashed known_hosts entries (ssh-keygen -H) are matched', async (t) => {
    const s = server(t);
    if (!s) return;
    const file = join(s.dir, 'hashed_known_hosts');
    writeFileSync(file, readFileSync(s.knownHosts));
    const r = spawnSync('ssh-keygen', ['-H', '-f', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(file, 'utf8'), /^\|1\|/);
    const { problems, notes } = await verifyLogged({ knownHosts: file }, { 'ssh-key': s.clientKey }, [
      { forge: 'local', repo: s.url('/srv/a.git') },
    ]);
    assert.deepEqual(problems, []);
    assert.ok(notes.some((n) => n.message.startsWith(`push key accepted by ${s.user}@127.0.0.1:${s.port}`)));
  });

  test('a closed port is a problem saying the connection was refused', async (t) => {
    const s = server(t);
    if (!s) return;
    const port = await freePort();
    const { problems } = await verifyLogged({ knownHosts: s.knownHosts }, { 'ssh-key': s.clientKey }, [
      { forge: 'local', repo: `ssh://${s.user}@127.0.0.1:${port}/srv/a.git` },
    ]);
    assert.deepEqual(problems.map((p) => p.message), [`cannot connect to 127.0.0.1:${port}: connection refused`]);
  });

  test('a port that never speaks ssh is a problem once sshCheckTimeout passes', { timeout: 30_000 }, async (t) => {
    const s = server(t);
    if (!s) return;
    const silent = await startSilentServer();
    const port = silent.port;
    try {
      const { problems } = await verifyLogged({ knownHosts: s.knownHosts, sshCheckTimeout: 1 }, { 'ssh-key': s.clientKey }, [
        { forge: 'local', repo: `ssh://${s.user}@127.0.0.1:${port}/srv/a.git` },
      ]);
      assert.deepEqual(problems.map((p) => p.message), [`no ssh handshake with ${s.user}@127.0.0.1:${port} within 1 s`]);
    } finally {
      await silent.close();
    }
  });

  test('a passphrase-protected key is refused with a clear cause', async (t) => {
    const s = server(t);
    if (!s) return;
    const encrypted = keygen(join(s.dir, 'encrypted_ed25519'), 'secret passphrase');
    keys.push(encrypted);
    const { problems } = await verifyLogged({ knownHosts: s.knownHosts }, { 'ssh-key': encrypted }, [
      { forge: 'local', repo: s.url('/srv/a.git') },
    ]);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!.message, /^secret git\/ssh-key cannot be used: .*passphrase/i);
  });

  test('without the secret, ssh targets get a note that the slave user\'s ssh config is used', async () => {
    const { problems, notes } = await verifyLogged({}, {}, [{ forge: 'local', repo: 'byoci@git.example.org:srv/a.git' }]);
    assert.deepEqual(problems, []);
    assert.ok(
      notes.some((n) => n.message === "no secret git/ssh-key: ssh remotes (byoci@git.example.org:22) use the slave user's own ssh keys and config (not checked)"),
      notes.map((n) => n.message).join('\n'),
    );
  });

  test('no key material ever reaches a log line', (t) => {
    if (!needs(t, 'sshd', sshdMissing())) return;
    assert.ok(logs.length > 0, 'the runs above logged lines');
    assert.ok(keys.length >= 2, 'the runs above used keys');
    const text = logs.join('\n');
    assert.ok(!text.includes('PRIVATE KEY'));
    for (const key of keys) for (const line of keyLines(key)) assert.ok(!text.includes(line), 'a line of a private key was logged');
  });
});

describe('ssh remotes and known_hosts parsing', () => {
  test('ssh URLs and scp-like remotes are found; local paths, https and lp: are not', () => {
    assert.deepEqual(parseSshRemote('ssh://git@example.org:2222/x.git', 'me'), { user: 'git', host: 'example.org', port: 2222 });
    assert.deepEqual(parseSshRemote('git+ssh://example.org/x', 'me'), { user: 'me', host: 'example.org', port: 22 });
    assert.deepEqual(parseSshRemote('ssh://[::1]:2200/x', 'me'), { user: 'me', host: '::1', port: 2200 });
    assert.deepEqual(parseSshRemote('git@github.com:owner/repo.git', 'me'), { user: 'git', host: 'github.com', port: 22 });
    for (const url of ['/srv/repo', './repo', 'https://example.org/x.git', 'lp:~owner/project/+git/repo', 'file:///x', 'alias:repo']) {
      assert.equal(parseSshRemote(url, 'me'), undefined, url);
    }
    const remotes = targetRemotes(
      [project([
        { forge: 'local', repo: 'ssh://git@example.org/a' },
        { forge: 'local', repo: 'git@example.org:b' },
        { forge: 'launchpad', url: 'bzr+ssh://bazaar.launchpad.net/~x/y/z', vcs: 'bzr' },
      ])],
      'me',
    );
    assert.deepEqual(remotes, [{ user: 'git', host: 'example.org', port: 22 }]);
  });

  test('known_hosts: ports, patterns, negation, markers', () => {
    const text = [
      '# comment',
      '[git.example.org]:2222 ssh-ed25519 AAAAport',
      'git.example.org,10.0.0.1 ssh-ed25519 AAAAplain',
      '*.example.org,!bad.example.org ecdsa-sha2-nistp256 AAAAwild',
      '@revoked git.example.org ssh-rsa AAAArevoked',
      '@cert-authority *.example.org ssh-ed25519 AAAAca',
    ].join('\n');
    assert.deepEqual(keysFor(text, 'git.example.org', 2222, 'f').map((k) => k.key), ['AAAAport']);
    assert.deepEqual(
      keysFor(text, 'git.example.org', 22, 'f').map((k) => [k.key, k.revoked]),
      [['AAAAplain', false], ['AAAAwild', false], ['AAAArevoked', true]],
    );
    assert.deepEqual(keysFor(text, 'bad.example.org', 22, 'f'), []);
  });
});
