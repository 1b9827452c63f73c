/**
 * ssh for fetch and push: the private key (secret `ssh-key`) is loaded into a per-run
 * ssh-agent from memory (it never touches the disk), and `GIT_SSH_COMMAND` pins that agent,
 * the key, the host keys and batch mode. Without the secret, ssh uses the slave user's own
 * keys and agent (`SSH_AUTH_SOCK` is passed on). git runs that command through a shell, so
 * every path in it is quoted (they come from the operator's config and the run's workdir,
 * never from a proposal).
 */
import { join } from 'node:path';
import { createSshSession, shellQuote, type AgentIdentity, type SshSession, type SshSettings } from '../../core/index.js';

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

/** The run's ssh for git: `get()` is the GIT_SSH_COMMAND; the agent (with a key) in `<workdir>/git-ssh`. */
export function createGitSsh(workdir: string, settings: SshSettings): SshSession<string> {
  return createSshSession(settings, { dir: join(workdir, 'git-ssh'), make: async (agent) => sshCommand(agent, settings.knownHosts) });
}
