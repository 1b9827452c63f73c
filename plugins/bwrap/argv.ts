/**
 * The bwrap command line of one phase. Pure: everything it needs about the host is passed
 * in (see `hostRoot()`), so the layout can be read and tested without running anything.
 *
 * The sandbox sees: the host's /usr (and its /bin, /lib... links) read-only, an allow-list
 * of /etc, a fresh /proc and minimal /dev, a private /tmp, HOME as a tmpfs of the phase, and the tree
 * read-write. Nothing else of the host: no /home, /root, /run, /var, no ssh or keyring
 * sockets (except the agent in the setup phase when asked for).
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { ETC_ALLOW, SANDBOX_INSIDE as INSIDE } from '../../core/index.js';

/** Top-level entries that merged-/usr systems make symlinks into /usr. */
const USR_LINKS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

export type RootEntry = { name: string; kind: 'symlink'; target: string } | { name: string; kind: 'dir' };

/** How the host's /bin, /lib... look: symlinks into /usr are recreated, real dirs bound. */
export function hostRoot(): RootEntry[] {
  const entries: RootEntry[] = [];
  for (const name of USR_LINKS) {
    try {
      const st = lstatSync(`/${name}`);
      if (st.isSymbolicLink()) entries.push({ name, kind: 'symlink', target: readlinkSync(`/${name}`) });
      else if (st.isDirectory()) entries.push({ name, kind: 'dir' });
    } catch {
      // absent on this host
    }
  }
  return entries;
}

export interface Layout {
  /** The bwrap executable. */
  bwrap: string;
  /** Host directory of the merged tree (bound read-write). */
  tree: string;
  /** Where the tree appears inside; the working directory. */
  treePath: string;
  network: boolean;
  /** The complete environment inside the sandbox. */
  env: Record<string, string>;
  /** Host ssh-agent socket to expose (setup phase only). */
  agentSocket?: string;
  /**
   * Entries of the tree (relative names) bound read-only over the read-write tree: the VCS
   * metadata the bot pushes from after the tests (see `VCS_METADATA`).
   */
  protect: readonly string[];
  /** Extra host paths bound read-only at the same place. */
  roBind: readonly string[];
  /** /etc entries beyond ETC_ALLOW. */
  etc: readonly string[];
  root: readonly RootEntry[];
  /** File descriptor on which bwrap reports `child-pid` and `exit-code` as JSON. */
  statusFd?: number;
}

/** The full argv: `bwrap <options> -- <command...>`. */
export function bwrapArgv(layout: Layout, command: readonly string[]): string[] {
  const a: string[] = [layout.bwrap];
  // Namespaces: user, ipc, pid, net, uts, cgroup. A new net namespace has only `lo`.
  a.push('--unshare-all');
  if (layout.network) a.push('--share-net');
  // Root keeps every capability inside bwrap unless told otherwise.
  a.push('--cap-drop', 'ALL');
  a.push('--die-with-parent', '--new-session', '--hostname', 'byoci-sandbox');
  a.push('--clearenv');
  for (const [name, value] of Object.entries(layout.env)) a.push('--setenv', name, value);

  a.push('--ro-bind', '/usr', '/usr');
  for (const entry of layout.root) {
    if (entry.kind === 'symlink') a.push('--symlink', entry.target, `/${entry.name}`);
    else a.push('--ro-bind', `/${entry.name}`, `/${entry.name}`);
  }
  for (const name of [...ETC_ALLOW, ...layout.etc]) a.push('--ro-bind-try', `/etc/${name}`, `/etc/${name}`);

  a.push('--proc', '/proc', '--dev', '/dev');
  a.push('--tmpfs', '/tmp', '--tmpfs', '/var/tmp', '--tmpfs', '/run');
  // After the tmpfs mounts, which would hide a path below them.
  for (const path of layout.roBind) a.push('--ro-bind', path, path);
  // HOME is a tmpfs of this phase, like /tmp: no host directory is writable but the tree,
  // and nothing written to HOME outlives the phase (setup's HOME is gone when the test starts).
  a.push('--perms', '0700', '--tmpfs', INSIDE.home);
  if (layout.agentSocket) a.push('--ro-bind', layout.agentSocket, INSIDE.agent);
  a.push('--bind', layout.tree, layout.treePath);
  for (const name of layout.protect) a.push('--ro-bind', `${layout.tree}/${name}`, `${layout.treePath}/${name}`);
  a.push('--chdir', layout.treePath);
  if (layout.statusFd !== undefined) a.push('--json-status-fd', String(layout.statusFd));
  a.push('--', ...command);
  return a;
}
