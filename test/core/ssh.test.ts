import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { shellQuote, sshCredentialProblems } from '../../core/ssh.js';

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
