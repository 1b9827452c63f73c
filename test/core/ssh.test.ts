import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { createSshSession, shellQuote, sshCredentialProblems } from '../../core/ssh.js';
import { missingCommands, needs } from '../support/components.js';
import { filesHoldingKey } from '../support/key-files.js';

const KEY = ['-----BEGIN OPENSSH', 'PRIVATE KEY-----\nAAAA\n-----END OPENSSH', 'PRIVATE KEY-----'].join(' ');

test('shellQuote keeps any word one literal shell word', () => {
  for (const word of ["plain", "it's", '$(id)', 'a b;c', "'; touch x; '"]) {
    const out = spawnSync('sh', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' });
    assert.equal(out.stdout, word);
  }
});

test('verify problems name an unreadable known_hosts and a secret that is not a key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-ssh-'));
  const known = join(dir, 'known_hosts');
  writeFileSync(known, '');
  assert.deepEqual(await sshCredentialProblems({ plugin: 'git', knownHosts: known, key: KEY, keyscanHint: 'k' }), []);
  const problems = await sshCredentialProblems({ plugin: 'bzr', knownHosts: join(dir, 'missing'), key: 'ssh-ed25519 AAAA public', keyscanHint: 'ssh-keyscan h' });
  assert.deepEqual(
    problems.map((p) => p.message),
    [`plugins.bzr.knownHosts: cannot read ${join(dir, 'missing')}`, 'secret bzr/ssh-key is not a private key (no "-----BEGIN ... PRIVATE KEY-----" line)'],
  );
  assert.match(problems[0]?.hint ?? '', /ssh-keyscan h/);
});

describe('createSshSession: the run\'s ssh set-up shared by the git and bzr plugins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-ssh-session-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('without a key: made once on first use, the slave\'s agent passed on, an own dir made 0700 and removed at dispose', async () => {
    let made = 0;
    const own = join(dir, 'own');
    const session = createSshSession({ knownHosts: '/k' }, { dir: own, ownDir: true, make: async (agent, d) => `made ${++made} ${agent === undefined} ${d}` });
    assert.equal(existsSync(own), false, 'nothing is made before first use');
    assert.deepEqual(await Promise.all([session.get(), session.get()]), [`made 1 true ${own}`, `made 1 true ${own}`]);
    assert.equal(statSync(own).mode & 0o777, 0o700);
    assert.equal(session.authSock(), process.env.SSH_AUTH_SOCK);
    await session.dispose();
    assert.equal(existsSync(own), false);
    // A session not owning its dir makes none without a key.
    const shared = join(dir, 'shared');
    await createSshSession({}, { dir: shared, make: async () => 'x' }).get();
    assert.equal(existsSync(shared), false);
  });

  test('with a key: an agent holding it, offered as the one identity; dispose ends it', async (t) => {
    if (!needs(t, 'ssh-agent', missingCommands('ssh-agent', 'ssh-add', 'ssh-keygen'))) return;
    const keyFile = join(dir, 'id');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'session-test', '-f', keyFile], { stdio: 'ignore' });
    const key = readFileSync(keyFile, 'utf8');
    rmSync(keyFile);
    const agentDir = join(dir, 'agent');
    const session = createSshSession({ key }, { dir: agentDir, make: async (agent) => agent });
    const agent = (await session.get())!;
    assert.equal(session.authSock(), undefined, "the slave's agent is not passed on when a key is set");
    assert.equal(readFileSync(agent.publicKeyFile, 'utf8').split(' ').slice(0, 2).join(' '), readFileSync(`${keyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' '));
    const listed = spawnSync('ssh-add', ['-L'], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket }, encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /session-test/);
    assert.deepEqual(filesHoldingKey(dir, key), [], 'the private key is in no file');
    await session.dispose();
    assert.equal(existsSync(agent.socket), false, 'the agent is gone');
  });
});
