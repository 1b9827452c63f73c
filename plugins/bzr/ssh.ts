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
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSshSession, shellQuote, type AgentIdentity, type SshSession, type SshSettings } from '../../core/index.js';

/** True when brz reaches `url` over ssh (bzr+ssh://, sftp://, ssh://). */
export function usesSsh(url: string): boolean {
  return /^(bzr\+ssh|sftp|ssh|git\+ssh):\/\//i.test(url);
}

/** Double-quotes a value for ssh_config (which has no escape for `"`: refuse it). */
function configQuote(value: string): string {
  if (/["\n\r]/.test(value)) throw new Error(`path ${JSON.stringify(value)} cannot be written into an ssh config`);
  return `"${value}"`;
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

/**
 * The run's ssh for brz: `get()` is the path for BRZ_SSH, in its own
 * `<workdir>/bzr-ssh-<random>/` (0700, removed at dispose) with the config and the agent.
 */
export function createBzrSsh(workdir: string, settings: SshSettings): SshSession<string> {
  return createSshSession(settings, {
    dir: join(workdir, `bzr-ssh-${randomBytes(6).toString('hex')}`),
    ownDir: true,
    async make(agent, dir) {
      const config = join(dir, 'config');
      await writeFile(config, sshConfig(agent, settings.knownHosts), { mode: 0o600, flag: 'wx' });
      const wrapper = join(dir, 'ssh');
      await writeFile(wrapper, sshWrapper(config), { mode: 0o700, flag: 'wx' });
      return wrapper;
    },
  });
}
