/**
 * A real ssh-agent holding one fresh test key (comment `comment`), as the bot's own agent
 * for the tests of a describe block: started before them, set as SSH_AUTH_SOCK of this
 * process, stopped and unset after them. For the `setupAgent` tests of the sandboxes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

export function useTestAgent(comment: string): void {
  let agent: ChildProcess;
  let dir: string;
  let saved: string | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-test-agent-'));
    const socket = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let i = 0; i < 100 && spawnSync('test', ['-S', socket]).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    const key = join(dir, 'id_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key], { stdio: 'ignore' });
    const added = spawnSync('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
    assert.equal(added.status, 0, 'the test key is in the agent');
    saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = socket;
  });
  after(() => {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
    if (agent?.pid) process.kill(agent.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
}
