/**
 * ssh for bzr+ssh:// locations. The key (secret `ssh-key`) is loaded into a per-run
 * ssh-agent from memory and never touches the disk (core's startSshAgent); the config
 * below names that agent and the key's public half. brz takes no ssh command line, and OpenSSH reads
 * `~/.ssh/config` from the passwd entry, not from $HOME, so a private HOME alone cannot
 * name our key. brz does accept a path in `BRZ_SSH`: it runs `<path> -V`, sees
 * "OpenSSH", and then calls `<path> <brz's options> -- host bzr serve ...`. That path is a
 * small wrapper written into the run's workdir which
 *   - runs `ssh -F <our config>` (the config pins the key, batch mode, strict host key
 *     checking and the configured known_hosts; with -F no other config file is read), and
 *   - drops brz's `-oNoHostAuthenticationForLocalhost=yes`, so host keys are checked on
 *     loopback as well.
 * Every path in the wrapper and the config comes from the operator's config or the run's
 * workdir (never from a proposal) and is quoted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shellQuote, startSshAgent, type SshAgent } from '../../core/index.js';

export interface SshSettings {
  /** Private key text, or undefined to let ssh use the slave's own keys/agent. */
  key?: string;
  /** known_hosts file holding the host keys of the forges (plugins.bzr.knownHosts). */
  knownHosts?: string;
}

/** True when brz reaches `url` over ssh (bzr+ssh://, sftp://, ssh://). */
export function usesSsh(url: string): boolean {
  return /^(bzr\+ssh|sftp|ssh|git\+ssh):\/\//i.test(url);
}


/** Double-quotes a value for ssh_config (which has no escape for `"`: refuse it). */
function configQuote(value: string): string {
  if (/["\n\r]/.test(value)) throw new Error(`path ${JSON.stringify(value)} cannot be written into an ssh config`);
  return `"${value}"`;
}

/** The agent holding the key: its socket and the public key naming the one identity to offer. */
export interface AgentIdentity {
  socket: string;
  publicKeyFile: string;
}

export function sshConfig(identity: AgentIdentity | undefined, knownHosts: string | undefined): string {
  const lines = ['Host *', '  BatchMode yes', '  StrictHostKeyChecking yes', '  ForwardAgent no'];
  if (identity) {
    lines.push(`  IdentityAgent ${configQuote(identity.socket)}`, `  IdentityFile ${configQuote(identity.publicKeyFile)}`, '  IdentitiesOnly yes');
  }
  if (knownHosts) lines.push(`  UserKnownHostsFile ${configQuote(knownHosts)}`, '  GlobalKnownHostsFile /dev/null');
  return `${lines.join('\n')}\n`;
}

export function sshWrapper(configFile: string): string {
  return [
    '#!/bin/sh',
    '# Written by byoci (plugins/bzr) for BRZ_SSH; removed at the end of the run.',
    'for arg do',
    '  shift',
    '  case $arg in -oNoHostAuthenticationForLocalhost=*) continue ;; esac',
    '  set -- "$@" "$arg"',
    'done',
    `exec ssh -F ${shellQuote(configFile)} "$@"`,
    '',
  ].join('\n');
}

/** The wrapper (and agent) made on first use and removed by `dispose()` (at shutdown). */
export interface SshSession {
  /** Path for BRZ_SSH. */
  wrapper(): Promise<string>;
  /** `SSH_AUTH_SOCK` for brz's ssh: the slave's own agent when no key is configured. */
  authSock(): string | undefined;
  dispose(): Promise<void>;
}

export function createSshSession(workdir: string, settings: SshSettings): SshSession {
  let dir: string | undefined;
  let agent: SshAgent | undefined;
  let pending: Promise<string> | undefined;

  async function build(): Promise<string> {
    dir = join(workdir, `bzr-ssh-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (settings.key) agent = await startSshAgent(dir, settings.key);
    const config = join(dir, 'config');
    await writeFile(config, sshConfig(agent, settings.knownHosts), { mode: 0o600, flag: 'wx' });
    const wrapper = join(dir, 'ssh');
    await writeFile(wrapper, sshWrapper(config), { mode: 0o700, flag: 'wx' });
    return wrapper;
  }

  return {
    wrapper() {
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
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = undefined;
      pending = undefined;
    },
  };
}
