/**
 * A per-run ssh-agent holding the push key, so the key never touches the disk: the agent
 * (`ssh-agent -D`, a child in its own process group that dies with the bot) is loaded with
 * `ssh-add -` from memory, and ssh is pointed at it with `IdentityAgent` plus the *public*
 * key as `IdentityFile` (with `IdentitiesOnly`, the only identity offered). `stop()` ends
 * the agent; a killed bot's agent is killed by the reaper (children.ts).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup, spawnEnv, trackGroup, untrackGroup } from './children.js';
import { run } from './process.js';

export interface SshAgent {
  /** `SSH_AUTH_SOCK` of the agent. */
  socket: string;
  /** The loaded key's public half (for `IdentityFile` + `IdentitiesOnly`). */
  publicKeyFile: string;
  stop(): Promise<void>;
}

/** Longest path a Unix socket address holds (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 100;
const START_TIMEOUT_MS = 10_000;

/** Starts an agent whose socket and public key file live in `dir`, and loads `key` into it. */
export async function startSshAgent(dir: string, key: string): Promise<SshAgent> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let socketDir = dir;
  let ownSocketDir = false;
  if (join(dir, 'agent.sock').length > MAX_SOCKET_PATH) {
    socketDir = await mkdtemp(join(tmpdir(), 'byoci-agent-'));
    ownSocketDir = true;
  }
  const socket = join(socketDir, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', socket], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: spawnEnv({ PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' }),
  });
  trackGroup(child.pid);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('error', (error) => (output += String(error)));

  async function stop(): Promise<void> {
    if (child.pid && child.exitCode === null && child.signalCode === null) {
      killGroup(child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    untrackGroup(child.pid);
    await rm(ownSocketDir ? socketDir : socket, { recursive: true, force: true });
  }

  try {
    const started = Date.now();
    while (!output.includes('SSH_AUTH_SOCK')) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) throw new Error(`ssh-agent did not start: ${output.trim() || 'no output'}`);
      if (Date.now() - started > START_TIMEOUT_MS) throw new Error('ssh-agent did not start within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const env = { SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: 'never' };
    const added = await run(['ssh-add', '-q', '-'], { env, input: key.endsWith('\n') ? key : `${key}\n`, reject: false });
    if (added.exitCode !== 0) throw new Error(`ssh-add could not load the key: ${added.stderr.trim() || `exit code ${added.exitCode}`}`);
    const listed = await run(['ssh-add', '-L'], { env });
    const publicKey = listed.stdout.split('\n').find((l) => l.trim().length > 0);
    if (!publicKey) throw new Error('ssh-add -L listed no key');
    const publicKeyFile = join(dir, 'agent-key.pub');
    await writeFile(publicKeyFile, `${publicKey}\n`, { mode: 0o600 });
    return { socket, publicKeyFile, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
