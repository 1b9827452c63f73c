/**
 * Fetch and push over a real sshd on 127.0.0.1 with the `ssh-key` secret and the
 * configured known_hosts; the key file lives only for the run.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startSshAgent } from '../../../core/ssh-agent.js';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { suiteNeeds } from '../../support/components.js';
import { advanceTarget, branchWith, gitIn, makeRepos, type Repos } from '../../support/git-repos.js';
import { startSshd, sshdMissing, type Sshd } from '../../support/sshd.js';
import { gitRun, proposalFor, rejectionOf } from './helpers.js';
import { REDACTION_MASK } from '../../../secrets/redact.js';
import { filesHoldingKey } from '../../support/key-files.js';

describe('git plugin over ssh', suiteNeeds('sshd', sshdMissing()), () => {
  let sshd: Sshd;
  let repos: Repos;
  before(async () => {
    sshd = await startSshd();
    repos = await makeRepos();
  });
  after(async () => {
    await sshd?.stop();
    repos?.remove();
  });

  function overSsh(branch: string, approved: string) {
    const p = proposalFor(repos, branch, approved);
    return { ...p, source: { ...p.source, url: sshd.url(repos.source) }, target: { ...p.target, url: sshd.url(repos.target) } };
  }

  test('fetches and pushes with the key from the secret store, held by a per-run agent: never on disk', async () => {
    const approved = await branchWith(repos, 'over-ssh', { 's.txt': 'ssh\n' }, 'over ssh');
    const r = await gitRun({ knownHosts: sshd.knownHosts }, { 'ssh-key': sshd.clientKey });
    const proposal = overSsh('over-ssh', approved);
    const checkout = await r.fetch(proposal);
    assert.equal(checkout.sourceRevision, approved);

    assert.deepEqual(filesHoldingKey(r.harness.run.workdir, sshd.clientKey), [], 'the key is in no file of the run');
    const agentDir = join(r.harness.run.workdir, 'git-ssh');
    assert.ok(existsSync(join(agentDir, 'agent-key.pub')), 'only the public half is written');

    const merged = await r.merge(proposal, checkout);
    await r.push(proposal, checkout, merged.revision);
    assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/main']), merged.revision);

    await r.harness.hooks.shutdown.promise({ reason: 'done' });
    assert.equal(existsSync(join(agentDir, 'agent.sock')), false, 'the agent ended at shutdown');
    assert.ok(!r.harness.lines.join('\n').includes(sshd.clientKey.split('\n')[1]!), 'the key never appears in logs');
    r.harness.cleanup();
  });

  test('an unknown host key fails instead of being trusted', async () => {
    const r = await gitRun({ knownHosts: sshd.wrongKnownHosts }, { 'ssh-key': sshd.clientKey });
    try {
      const proposal = overSsh('main', repos.base);
      await assert.rejects(r.fetch(proposal), /cannot fetch the target branch main of ssh:\/\/127\.0\.0\.1/);
      // Credentials never leak into the message even if a URL carried them.
      assert.ok(!r.harness.lines.join('\n').includes('PRIVATE KEY'));
    } finally {
      await r.cleanup();
    }
  });

  test('a push over ssh after the target moved is rejected as not a fast-forward', async () => {
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const approved = await branchWith(repos, 'ssh-race', { 'race.txt': 'race\n' }, 'race');
    const r = await gitRun({ knownHosts: sshd.knownHosts }, { 'ssh-key': sshd.clientKey });
    try {
      const proposal = overSsh('ssh-race', approved);
      const checkout = await r.fetch(proposal);
      const merged = await r.merge(proposal, checkout);
      const other = await advanceTarget(repos, { 'o.txt': 'o\n' }, 'landed meanwhile');
      const rejection = await rejectionOf(r.push(proposal, checkout, merged.revision));
      assert.equal(rejection.code, 'push-rejected');
      assert.equal(await gitIn(repos.target, ['rev-parse', 'refs/heads/main']), other);
    } finally {
      await r.cleanup();
    }
  });

  test('the key is registered for redaction', async () => {
    const r = await gitRun({ knownHosts: sshd.knownHosts }, { 'ssh-key': sshd.clientKey });
    try {
      assert.equal(r.harness.redactor.redact(sshd.clientKey), REDACTION_MASK);
    } finally {
      await r.cleanup();
    }
  });

  test('without the secret, a key held only in the slave\'s ssh-agent works; without it ssh\'s own reason is kept', async () => {
    const approved = await branchWith(repos, 'agent-only', { 'agent.txt': 'agent\n' }, 'agent only');
    const agentDir = mkdtempSync(join(tmpdir(), 'byoci-slave-agent-'));
    const agent = await startSshAgent(agentDir, sshd.clientKey);
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      process.env.SSH_AUTH_SOCK = agent.socket;
      const r = await gitRun({ knownHosts: sshd.knownHosts });
      try {
        const checkout = await r.fetch(overSsh('agent-only', approved));
        assert.equal(checkout.sourceRevision, approved);
      } finally {
        await r.cleanup();
      }
      delete process.env.SSH_AUTH_SOCK;
      const without = await gitRun({ knownHosts: sshd.knownHosts });
      try {
        await assert.rejects(without.fetch(overSsh('agent-only', approved)), /Permission denied \(publickey\)/);
      } finally {
        await without.cleanup();
      }
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      await agent.stop();
      rmSync(agentDir, { recursive: true, force: true });
    }
  });
});
