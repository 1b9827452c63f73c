/**
 * Credentials: with `setupAgent`, the setup phase reaches the slave's ssh agent (a real
 * ssh-agent holding a key generated here); the test phase never does, not even through the
 * socket path the setup phase used. Without `setupAgent`, no phase does.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { lxdMissing } from '../../support/lxd.js';
import { commandLines, lxdBox, makeSpec, type Box } from './support.js';

const MISSING = (await lxdMissing()) ?? missingCommands('ssh-agent', 'ssh-add', 'ssh-keygen');

const PROBE = 'echo "sock=${SSH_AUTH_SOCK:-none}"; ssh-add -l >/dev/null 2>&1; echo "agent-rc=$?"; ' +
  'SSH_AUTH_SOCK=/run/byoci-ssh-agent.sock ssh-add -l >/dev/null 2>&1; echo "forced-rc=$?"';

describe('lxd backend: ssh agent forwarding to the setup phase only', suiteNeeds('lxd + openssh-client', MISSING), () => {
  let agent: ChildProcess;
  let dir: string;
  let box: Box;
  const saved = process.env.SSH_AUTH_SOCK;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-lxd-agent-'));
    const socket = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(socket), 'ssh-agent listens');
    const key = join(dir, 'id_ed25519');
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'byoci-test-key', '-f', key]).status, 0);
    assert.equal(spawnSync('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' }).status, 0);
    process.env.SSH_AUTH_SOCK = socket;
    box = await lxdBox({}, 'agent');
  });

  after(async () => {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
    await box?.cleanup();
    agent?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('setupAgent: setup lists the key through the agent; the test phase cannot reach it', async () => {
    const { result, stdout } = await box.run(
      makeSpec({
        setupAgent: true,
        setup: ['sh', '-c', 'echo "sock=$SSH_AUTH_SOCK"; ssh-add -l'],
        command: ['sh', '-c', PROBE],
      }),
    );
    assert.equal(result?.exitCode, 0, result?.outputTail);
    const lines = commandLines(stdout);
    assert.equal(lines[0], 'sock=/run/byoci-ssh-agent.sock');
    assert.match(lines[1] ?? '', /^256 SHA256:\S+ byoci-test-key \(ED25519\)$/);
    // ssh-add -l: 2 = cannot connect to an agent.
    assert.deepEqual(lines.slice(2), ['sock=none', 'agent-rc=2', 'forced-rc=2']);
  });

  test('without setupAgent, neither phase gets the agent', async () => {
    const { result, stdout } = await box.run(makeSpec({ setup: ['sh', '-c', PROBE], command: ['sh', '-c', PROBE] }));
    assert.equal(result?.exitCode, 0);
    assert.deepEqual(commandLines(stdout), ['sock=none', 'agent-rc=2', 'forced-rc=2', 'sock=none', 'agent-rc=2', 'forced-rc=2']);
  });
});
