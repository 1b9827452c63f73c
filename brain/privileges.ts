/**
 * "Runs as its own user": `brain.user` (and `brain.group`). Started as root, the brain binds
 * its socket first (a port below 1024 is fine), then drops to that user for good
 * (supplementary groups, gid, uid, in that order) before it opens the store or reads any
 * webhook; the store must then be writable by that user. Started as that user already,
 * nothing changes; started as anyone else, it refuses to start.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { BrainStartupError } from './errors.js';

export interface Account {
  user: string;
  uid: number;
  group: string;
  gid: number;
}

function getent(database: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    // execFile, no shell: the name is passed as one argument.
    const line = execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
    return line ? line.split(':') : undefined;
  } catch {
    return undefined;
  }
}

/** The user and group to run as, from the system's databases (names or numeric ids). */
export function resolveAccount(user: string, group?: string): Account {
  const pw = getent('passwd', user);
  if (!pw || pw.length < 4) throw new BrainStartupError(`brain.user ${JSON.stringify(user)}: no such user (getent passwd)`);
  const uid = Number(pw[2]);
  let gid = Number(pw[3]);
  let groupName = getent('group', String(gid))?.[0] ?? String(gid);
  if (group !== undefined) {
    const gr = getent('group', group);
    if (!gr || gr.length < 3) throw new BrainStartupError(`brain.group ${JSON.stringify(group)}: no such group (getent group)`);
    gid = Number(gr[2]);
    groupName = gr[0] as string;
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new BrainStartupError(`brain.user ${JSON.stringify(user)}: unreadable passwd entry`);
  if (uid === 0) throw new BrainStartupError(`brain.user ${JSON.stringify(user)} is root (uid 0): name an unprivileged user of its own`);
  return { user: pw[0] as string, uid, group: groupName, gid };
}

/**
 * Becomes `account` for good when running as root; checks that we already are it otherwise.
 * Returns what was done, for the log.
 */
export function dropPrivileges(account: Account): 'dropped' | 'already' {
  const uid = process.getuid?.();
  if (uid === undefined || !process.setuid || !process.setgid || !process.setgroups) {
    throw new BrainStartupError('brain.user is set but this platform cannot switch users');
  }
  if (uid === account.uid) {
    if (process.getgid?.() !== account.gid) {
      throw new BrainStartupError(`byoci brain runs as ${account.user} but with gid ${process.getgid?.()}, not brain.group ${account.group} (${account.gid}): start it as root or with that group`);
    }
    return 'already';
  }
  if (uid !== 0) {
    throw new BrainStartupError(`brain.user is ${account.user} (uid ${account.uid}) but byoci brain runs as uid ${uid}, which cannot switch users: start it as root (it binds, then drops to ${account.user}) or as ${account.user}`);
  }
  process.setgroups([account.gid]);
  process.setgid(account.gid);
  process.setuid(account.uid);
  if (process.getuid?.() !== account.uid || process.geteuid?.() !== account.uid || process.getgid?.() !== account.gid) {
    throw new BrainStartupError(`could not become ${account.user}:${account.group}`);
  }
  let regained = false;
  try {
    process.setuid(0);
    regained = true;
  } catch {
    // expected: EPERM
  }
  if (regained) throw new BrainStartupError(`dropping to ${account.user} was not permanent (setuid(0) succeeded afterwards)`);
  return 'dropped';
}

/** A clear error unless the (now current) user can write the store, its WAL files and directory. */
export function checkStoreWritable(storePath: string, account: Account): void {
  if (storePath === ':memory:') return;
  // The nearest directory that exists must let it create the rest (openStore makes the store's directory).
  let dir = dirname(storePath);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const paths = [dir, storePath, `${storePath}-wal`, `${storePath}-shm`].filter((p, i) => i === 0 || existsSync(p));
  for (const path of paths) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch {
      throw new BrainStartupError(
        `the store ${storePath} is not writable by brain.user ${account.user} (uid ${account.uid}): ${path} is not readable and writable by it; give it the store (e.g. chown -R ${account.user}:${account.group} ${dirname(storePath)})`,
      );
    }
  }
}
