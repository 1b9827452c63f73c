/**
 * ssh for fetch and push: the private key (secret `ssh-key`) is loaded into a per-run
 * ssh-agent from memory (it never touches the disk), and `GIT_SSH_COMMAND` pins that agent,
 * the key, the host keys and batch mode. Without the secret, ssh uses the slave user's own
 * keys and agent (`SSH_AUTH_SOCK` is passed on). git runs that command through a shell, so
 * every path in it is quoted (they come from the operator's config and the run's workdir,
 * never from a proposal).
 */
import { join } from 'node:path';
import { shellQuote, startSshAgent, type SshAgent } from '../../core/index.js';

export interface SshSettings {
  /** Private key text, or undefined to let ssh use the slave's own keys/agent. */
  key?: string;
  /** known_hosts file holding the host keys of the forges (plugins.git.knownHosts). */
  knownHosts?: string;
}

/** The agent holding the key: its socket and the public key naming the one identity to offer. */
export interface AgentIdentity {
  socket: string;
  publicKeyFile: string;
}

/** The command line for GIT_SSH_COMMAND. */
export function sshCommand(identity: AgentIdentity | undefined, knownHosts: string | undefined): string {
  const parts = ['ssh'];
  if (identity) {
    parts.push('-o', shellQuote(`IdentityAgent=${identity.socket}`), '-i', shellQuote(identity.publicKeyFile), '-o', 'IdentitiesOnly=yes');
  }
  parts.push('-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes');
  if (knownHosts) parts.push('-o', shellQuote(`UserKnownHostsFile=${knownHosts}`));
  return parts.join(' ');
}

/** The ssh setup of a run: the agent started on first use and ended by `dispose()` (at shutdown). */
export interface SshSession {
  command(): Promise<string>;
  /** `SSH_AUTH_SOCK` for git's ssh: the slave's own agent when no key is configured. */
  authSock(): string | undefined;
  dispose(): Promise<void>;
}

export function createSshSession(workdir: string, settings: SshSettings): SshSession {
  let agent: SshAgent | undefined;
  let pending: Promise<string> | undefined;

  async function build(): Promise<string> {
    if (settings.key) agent = await startSshAgent(join(workdir, 'git-ssh'), settings.key);
    return sshCommand(agent, settings.knownHosts);
  }

  return {
    command() {
      pending ??= build();
      return pending;
    },
    authSock() {
      return settings.key ? undefined : process.env.SSH_AUTH_SOCK;
    },
    async dispose() {
      if (pending) await pending.catch(() => undefined);
      await agent?.stop();
      agent = undefined;
      pending = undefined;
    },
  };
}
