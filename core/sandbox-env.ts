/**
 * What the namespace sandboxes (bwrap, unshare) show a test, the same under both: where
 * things live inside, the /etc entries exposed, the VCS metadata kept read-only, the
 * scrubbed environment, and the ssh agent socket of the setup phase (`setupAgent`).
 */
import { accessSync, constants } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Logger } from './logger.js';

/** Where things live inside the sandbox. HOME is a tmpfs of each phase. */
export const SANDBOX_INSIDE = Object.freeze({
  home: '/home/byoci',
  agent: '/run/byoci/ssh-agent.sock',
  path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
});

/**
 * /etc entries the sandbox sees (read-only, when they exist). Not /etc as a whole: it
 * holds /etc/ssl/private, ssh host keys, /etc/shadow, npmrc/pip.conf tokens.
 */
export const ETC_ALLOW = Object.freeze([
  'alternatives',
  'bash.bashrc',
  'ca-certificates',
  'ca-certificates.conf',
  'debian_version',
  'gai.conf',
  'group',
  'host.conf',
  'hostname',
  'hosts',
  'inputrc',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'locale.alias',
  'localtime',
  'lsb-release',
  'magic',
  'magic.mime',
  'mime.types',
  'networks',
  'nsswitch.conf',
  'os-release',
  'passwd',
  'protocols',
  'resolv.conf',
  'services',
  'ssl/certs',
  'ssl/openssl.cnf',
  'timezone',
]);

/**
 * VCS metadata in the tree. The bot pushes from this checkout after the tests, on the
 * host, with the push credentials: code under test that could write `.git/hooks/pre-push`,
 * `core.fsmonitor` in `.git/config` or a ref would run commands on the host or change what
 * lands. So these stay read-only inside the sandbox (and, being mount points, cannot be
 * renamed or removed either).
 */
export const VCS_METADATA = Object.freeze(['.git', '.bzr', '.hg', '.svn']);

/** The VCS metadata entries present in the tree (directories or gitlink files, not symlinks). */
export async function vcsMetadata(tree: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of VCS_METADATA) {
    const st = await lstat(join(tree, name)).catch(() => undefined);
    if (st && (st.isDirectory() || st.isFile())) found.push(name);
  }
  return found;
}

/**
 * The slave's values of the variables a test spec lists (`test.env`), those it has. Own
 * variables only: a name such as `toString` the slave does not set must not pass
 * Object.prototype's function in as text. Every runner's environment starts from this.
 */
export function hostVariables(names: readonly string[], host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = Object.hasOwn(host, name) ? host[name] : undefined;
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * The environment inside: PATH and HOME, the host values of `names` (HOME excepted: the
 * slave's home does not exist inside), then `fixed`, which wins.
 */
export function sandboxEnv(
  names: readonly string[],
  fixed: Readonly<Record<string, string>>,
  host: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const { HOME: _home, ...passed } = hostVariables(names, host);
  return { PATH: SANDBOX_INSIDE.path, HOME: SANDBOX_INSIDE.home, ...passed, ...fixed };
}

/** The executable `command` resolves to on PATH (or itself when it has a slash). */
export function findExecutable(command: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = command.includes('/') ? [command] : path.split(delimiter).filter(Boolean).map((d) => join(d, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The host ssh agent socket the setup phase gets with `setupAgent` (at
 * `SANDBOX_INSIDE.agent`), or undefined, with the reason logged: not asked for, no
 * SSH_AUTH_SOCK, or not a socket.
 */
export async function agentSocket(wanted: boolean, log: Logger): Promise<string | undefined> {
  if (!wanted) return undefined;
  const socket = process.env.SSH_AUTH_SOCK;
  if (!socket) {
    log.warn('setupAgent is on but SSH_AUTH_SOCK is not set: setup runs without an agent');
    return undefined;
  }
  const st = await lstat(socket).catch(() => undefined);
  if (!st?.isSocket()) {
    log.warn('setupAgent is on but SSH_AUTH_SOCK is not a socket: setup runs without an agent', { socket });
    return undefined;
  }
  return socket;
}
