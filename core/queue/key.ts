/**
 * The queue's key: one queue per target branch, whatever forge found the proposal. Two
 * proposals share a queue when their targets are the same branch of the same repository:
 * same VCS, same repository once the URL is made canonical, same branch.
 *
 * Canonical repository: scheme-independent `host/path` for network URLs (https, ssh,
 * git+ssh, git, bzr+ssh; user names and ports dropped, host lower-cased, a trailing `.git`
 * and slashes dropped; scp-like `user@host:path` likewise), an absolute path for local
 * paths and `file:` URLs, `lp:` names as given.
 */
import type { BranchRef } from '../../hooks/index.js';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

function stripTail(path: string): string {
  return path.replace(/\/+$/, '').replace(/\.git$/, '').replace(/\/+$/, '');
}

/** A repository location made comparable across forges and protocols. */
export function canonicalRepository(url: string): string {
  const trimmed = url.trim();
  if (/^lp:/i.test(trimmed)) return stripTail(trimmed);
  if (/^file:/i.test(trimmed)) {
    try {
      return stripTail(fileURLToPath(trimmed));
    } catch {
      return stripTail(trimmed);
    }
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed);
  if (scheme) {
    try {
      const parsed = new URL(trimmed);
      return `${parsed.hostname.toLowerCase()}${stripTail(decodeURIComponent(parsed.pathname))}`;
    } catch {
      return stripTail(trimmed);
    }
  }
  const scp = /^(?:[^@/]+@)?([^:/]+):(.+)$/.exec(trimmed);
  if (scp && !trimmed.startsWith('/')) return `${scp[1]!.toLowerCase()}/${stripTail(scp[2]!.replace(/^\/+/, ''))}`;
  return stripTail(resolve(trimmed));
}

/** `git:/srv/trunk.git#main`-like key: `<vcs>:<canonical repository>[#<branch>]`. */
export function targetKey(ref: Pick<BranchRef, 'vcs' | 'url' | 'branch'>): string {
  const repo = canonicalRepository(ref.url);
  return ref.branch ? `${ref.vcs}:${repo}#${ref.branch}` : `${ref.vcs}:${repo}`;
}
