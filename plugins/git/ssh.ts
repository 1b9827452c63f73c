/**
 * ssh for fetch and push: the private key (secret `ssh-key`) goes into a 0600 file in the
 * run's workdir, and `GIT_SSH_COMMAND` pins the key, the host keys and batch mode. git runs
 * that command through a shell, so every path in it is quoted (they come from the
 * operator's config and the run's workdir, never from a proposal).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { shellQuote, writePrivateKey } from '../../core/index.js';

export interface SshSettings {
  /** Private key text, or undefined to let ssh use the slave's own keys/agent. */
  key?: string;
  /** known_hosts file holding the host keys of the forges (plugins.git.knownHosts). */
  knownHosts?: string;
}


/** The command line for GIT_SSH_COMMAND. */
export function sshCommand(keyFile: string | undefined, knownHosts: string | undefined): string {
  const parts = ['ssh'];
  if (keyFile) parts.push('-i', shellQuote(keyFile), '-o', 'IdentitiesOnly=yes');
  parts.push('-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes');
  if (knownHosts) parts.push('-o', shellQuote(`UserKnownHostsFile=${knownHosts}`));
  return parts.join(' ');
}

/** A key file written on first use and removed by `dispose()` (at shutdown). */
export interface SshSession {
  command(): Promise<string>;
  dispose(): Promise<void>;
}

export function createSshSession(workdir: string, settings: SshSettings): SshSession {
  let keyFile: string | undefined;
  let pending: Promise<string> | undefined;

  async function build(): Promise<string> {
    if (settings.key) {
      await mkdir(workdir, { recursive: true, mode: 0o700 });
      const file = join(workdir, `git-ssh-key-${randomBytes(6).toString('hex')}`);
      await writePrivateKey(file, settings.key);
      keyFile = file;
    }
    return sshCommand(keyFile, settings.knownHosts);
  }

  return {
    command() {
      pending ??= build();
      return pending;
    },
    async dispose() {
      if (pending) await pending.catch(() => undefined);
      if (keyFile) await rm(keyFile, { force: true });
      keyFile = undefined;
      pending = undefined;
    },
  };
}
