/**
 * The ssh endpoints of the configured git targets, parsed from their URLs. Kept apart from
 * ssh-check.ts (which loads ssh2) so that a landing with no ssh remote never loads ssh2.
 */
import type { BranchRef } from '../../hooks/index.js';

export interface SshRemote {
  user: string;
  host: string;
  port: number;
}

export function remoteLabel(r: SshRemote): string {
  return `${r.user}@${r.host}:${r.port}`;
}

/**
 * The ssh endpoint of a git URL: `ssh://`, `git+ssh://`, `ssh+git://` URLs, or scp-like
 * `user@host:path` / `host.domain:path`. Bare `alias:path` (an ~/.ssh/config alias or an
 * `lp:` shortcut) and everything else give undefined.
 */
export function parseSshRemote(url: string, defaultUser: string): SshRemote | undefined {
  if (/^(ssh|git\+ssh|ssh\+git):\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url.replace(/^[^:]+:/, 'ssh:'));
    } catch {
      return undefined;
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!host) return undefined;
    const user = parsed.username ? decodeURIComponent(parsed.username) : defaultUser;
    return { user, host, port: parsed.port ? Number(parsed.port) : 22 };
  }
  const scp = /^(?:([^@/:\s]+)@)?(\[[^\]/\s]+\]|[^:/\s[\]]+):(?!\/\/)/.exec(url);
  if (!scp) return undefined;
  const [, user, rawHost = ''] = scp;
  const host = rawHost.replace(/^\[(.*)\]$/, '$1');
  if (user === undefined && !host.includes('.') && !host.includes(':')) return undefined;
  return { user: user ?? defaultUser, host, port: 22 };
}

/**
 * The distinct ssh endpoints of the projects' targets (the URL of each git target's
 * branch, as its forge states it; bzr targets and non-ssh URLs are skipped), one per user, host and port.
 */
export function targetRemotes(projects: readonly { targets: readonly { branch: BranchRef }[] }[], defaultUser: string): SshRemote[] {
  const remotes = new Map<string, SshRemote>();
  for (const { branch } of projects.flatMap((p) => p.targets)) {
    if (branch.vcs !== 'git') continue;
    const remote = parseSshRemote(branch.url, defaultUser);
    if (remote) remotes.set(remoteLabel(remote), remote);
  }
  return [...remotes.values()];
}
