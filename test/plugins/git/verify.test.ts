/** What `byoci doctor` / the verify step says about the git plugin's setup. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import gitPlugin from '../../../plugins/git/index.js';
import { tempDir } from '../../support/git-repos.js';
import { verifyPlugin } from '../../support/harness.js';

async function verify(config: unknown, secrets: Record<string, string> = {}) {
  const { problems, notes } = await verifyPlugin({ plugin: gitPlugin, config, secrets });
  return { problems: problems.map((p) => p.message), notes: notes.map((n) => n.message) };
}

test('verify notes the git version and finds nothing wrong with the defaults', async () => {
  const { problems, notes } = await verify({});
  assert.deepEqual(problems, []);
  assert.ok(notes.some((n) => /^git version \d+\.\d+/.test(n)), notes.join('\n'));
});

test('verify reports an unreadable known_hosts and a secret that is not a private key, together', async () => {
  const tmp = tempDir();
  try {
    const missing = join(tmp.dir, 'no-such-known-hosts');
    const { problems } = await verify({ knownHosts: missing }, { 'ssh-key': 'ghp_not-a-key-at-all' });
    assert.deepEqual(problems, [
      `plugins.git.knownHosts: cannot read ${missing}`,
      'secret git/ssh-key is not a private key (no "-----BEGIN ... PRIVATE KEY-----" line)',
    ]);
  } finally {
    tmp.remove();
  }
});

test('an unknown option in plugins.git is a configuration error naming it', async () => {
  await assert.rejects(verifyPlugin({ plugin: gitPlugin, config: { knownhosts: '/x' } }), /plugins\.git\.knownhosts: unknown option/);
});
