/**
 * bzr+ssh:// against a real sshd on 127.0.0.1 (server side: `bzr serve --inet`), with the
 * `ssh-key` secret and the configured known_hosts, through the BRZ_SSH wrapper.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startSshAgent } from '../../../core/ssh-agent.js';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { branchWith, makeBranches, tipOf, type Branches } from '../../support/bzr-branches.js';
import { startSshd, sshdMissing, type Sshd } from '../../support/sshd.js';
import { bzrRun, proposalFor } from './helpers.js';
import { filesHoldingKey } from '../../support/key-files.js';

const missing = sshdMissing() ?? missingCommands('brz', 'bzr');

describe('bzr plugin over bzr+ssh', suiteNeeds('sshd and brz', missing), () => {
  let sshd: Sshd;
  let b: Branches;
  before(async () => {
    sshd = await startSshd();
    b = await makeBranches();
  });
  after(async () => {
    await sshd?.stop();
    b?.remove();
  });

  const overSsh = (path: string) => `bzr+ssh://${sshd.user}@${sshd.host}:${sshd.port}${path}`;

  test('fetches, merges and pushes with the key from the secret store, held by a per-run agent: never on disk', async () => {
    const feature = await branchWith(b, 'over-ssh', { 's.txt': 'ssh\n' }, 'over ssh');
    const r = await bzrRun({ knownHosts: sshd.knownHosts }, { 'ssh-key': sshd.clientKey });
    const p = proposalFor(b, overSsh(feature.path), feature.revid);
    const proposal = { ...p, target: { ...p.target, url: overSsh(b.trunk) } };
    const checkout = await r.fetch(proposal);
    assert.equal(checkout.sourceRevision, feature.revid);

    const sshDirs = readdirSync(r.harness.run.workdir).filter((f) => f.startsWith('bzr-ssh-'));
    assert.equal(sshDirs.length, 1, 'one ssh directory in the run workdir');
    assert.deepEqual(filesHoldingKey(r.harness.run.workdir, sshd.clientKey), [], 'the key is in no file of the run');
    const socket = join(r.harness.run.workdir, sshDirs[0]!, 'agent.sock');
    assert.ok(statSync(socket).isSocket(), 'the agent socket is beside the ssh config');

    const merged = await r.merge(proposal, checkout);
    await r.push(proposal, checkout, merged.revision);
    assert.equal(await tipOf(b.trunk), merged.revision);

    await r.harness.hooks.shutdown.promise({ reason: 'done' });
    assert.equal(existsSync(socket), false, 'the agent ended at shutdown');
    assert.ok(!r.harness.lines.join('\n').includes(sshd.clientKey.split('\n')[1]!), 'the key never appears in logs');
    r.harness.cleanup();
  });

  test('an unknown host key fails, also on loopback, instead of being trusted', async () => {
    const r = await bzrRun({ knownHosts: sshd.wrongKnownHosts }, { 'ssh-key': sshd.clientKey });
    try {
      const p = proposalFor(b, b.trunk, undefined);
      const proposal = { ...p, target: { ...p.target, url: overSsh(b.trunk) } };
      await assert.rejects(r.fetch(proposal), /cannot fetch the target branch bzr\+ssh:\/\/127\.0\.0\.1:\d+\/.*trunk/);
    } finally {
      await r.cleanup();
    }
  });

  test('without the secret, a key held only in the slave\'s ssh-agent works; without it ssh\'s own reason is kept', async () => {
    const feature = await branchWith(b, 'agent-only', { 'a.txt': 'agent\n' }, 'agent only');
    const agentDir = mkdtempSync(join(tmpdir(), 'byoci-slave-agent-'));
    const agent = await startSshAgent(agentDir, sshd.clientKey);
    const saved = process.env.SSH_AUTH_SOCK;
    const proposal = () => {
      const p = proposalFor(b, overSsh(feature.path), feature.revid);
      return { ...p, target: { ...p.target, url: overSsh(b.trunk) } };
    };
    try {
      process.env.SSH_AUTH_SOCK = agent.socket;
      const r = await bzrRun({ knownHosts: sshd.knownHosts });
      try {
        assert.equal((await r.fetch(proposal())).sourceRevision, feature.revid);
      } finally {
        await r.cleanup();
      }
      delete process.env.SSH_AUTH_SOCK;
      const without = await bzrRun({ knownHosts: sshd.knownHosts });
      try {
        await assert.rejects(without.fetch(proposal()), /Permission denied \(publickey\)/);
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
