/**
 * A real OpenSSH server on 127.0.0.1 for tests (recipe: ../shared/recipes/COMPONENTS.md):
 * generated host and client keys, started as a child of the test and killed by its PID in
 * `stop()`. Logins are key-only for the current user; git over ssh reaches repository
 * paths on this machine (`ssh://<user>@127.0.0.1:<port><absolute path>`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { missingCommands } from './components.js';
import { freePort, portAnswers } from './net.js';

export const SSHD = '/usr/sbin/sshd';
const HOST = '127.0.0.1';

/** Why sshd cannot run here, or undefined. */
export function sshdMissing(): string | undefined {
  return missingCommands(SSHD, 'ssh', 'ssh-keygen');
}

export interface Sshd {
  host: string;
  port: number;
  pid: number;
  user: string;
  dir: string;
  /** Private key (OpenSSH format) that the server accepts. */
  clientKey: string;
  /** A known_hosts file naming this server's host key for `[127.0.0.1]:<port>`. */
  knownHosts: string;
  /** A known_hosts file with a different key for the same host (to prove checking). */
  wrongKnownHosts: string;
  /** `ssh://user@127.0.0.1:port<path>` */
  url(path: string): string;
  output(): string;
  stop(): Promise<void>;
}

function keygen(file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'byoci-test', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-sshd-'));
  mkdirSync('/run/sshd', { recursive: true }); // privilege separation directory
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'client_ed25519'));
  keygen(join(dir, 'other_ed25519'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_ed25519.pub')));
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      `ListenAddress ${HOST}`,
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      '',
    ].join('\n'),
  );
  const check = spawnSync(SSHD, ['-t', '-f', join(dir, 'sshd_config')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`sshd -t rejected the config: ${check.stderr}`);

  let log = '';
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('sshd did not start');

  const deadline = Date.now() + 10_000;
  while (!(await portAnswers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not listen on ${HOST}:${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const hostPub = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const otherPub = readFileSync(join(dir, 'other_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'known_hosts'), `[${HOST}]:${port} ${hostPub}\n`);
  writeFileSync(join(dir, 'wrong_known_hosts'), `[${HOST}]:${port} ${otherPub}\n`);
  const user = userInfo().username;

  return {
    host: HOST,
    port,
    pid,
    user,
    dir,
    clientKey: readFileSync(join(dir, 'client_ed25519'), 'utf8'),
    knownHosts: join(dir, 'known_hosts'),
    wrongKnownHosts: join(dir, 'wrong_known_hosts'),
    url: (path: string) => `ssh://${user}@${HOST}:${port}${path}`,
    output: () => log,
    async stop() {
      if (child.exitCode === null) {
        process.kill(pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
