/**
 * Reading a secret from a file, refusing a file (or a directory above it) that someone
 * else could read or replace. Every refusal names the path and the command that fixes it.
 */
import { open } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SecretStoreError } from './errors.js';

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function myUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/** Throws when `st` (of a secret file) is readable or writable by group or others, or owned by someone else. */
export function checkFileStats(store: string, path: string, st: Stats, key?: string): void {
  if (!st.isFile()) {
    throw new SecretStoreError(store, `${path} is not a regular file`, { key, fix: 'store the secret in a plain file' });
  }
  if (st.mode & 0o077) {
    const what = st.mode & 0o044 ? 'readable' : 'writable';
    throw new SecretStoreError(store, `refusing secrets file ${path}: it is ${what} by group or others (mode ${octal(st.mode)})`, {
      key,
      fix: `run chmod 600 ${path}`,
    });
  }
  const uid = myUid();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new SecretStoreError(store, `refusing secrets file ${path}: it is owned by uid ${st.uid}, not by this user (uid ${uid})`, {
      key,
      fix: `run chown ${uid} ${path}`,
    });
  }
}

/** Throws when directory `path` can be written by group or others (who could swap the secret). */
export function checkDirStats(store: string, path: string, st: Stats, key?: string): void {
  if (!st.isDirectory()) throw new SecretStoreError(store, `${path} is not a directory`, { key });
  // The sticky bit (/tmp) stops others from replacing our entries.
  if (st.mode & 0o022 && !(st.mode & 0o1000)) {
    throw new SecretStoreError(store, `refusing secrets directory ${path}: it is writable by group or others (mode ${octal(st.mode)})`, {
      key,
      fix: `run chmod go-w ${path} (chmod 700 ${path} is best)`,
    });
  }
}

/** Largest secrets file read: a credential is a few KiB; anything bigger is a mistake or an attack. */
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;

/**
 * Reads `path` after checking it and every directory from `root` (default: its parent)
 * down to it. Returns the raw contents. Opens first and checks the open descriptor, so the
 * file checked is the file read (a symbolic link is checked at its target).
 */
export async function readSafeFile(store: string, path: string, key?: string, root?: string): Promise<string> {
  const file = resolve(path);
  let handle;
  try {
    // O_NONBLOCK: a FIFO planted in place of the file must not hang the bot.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SecretStoreError(store, `cannot read secrets file ${file} (${code ?? String(error)})`, { key, cause: error });
  }
  try {
    const st = await handle.stat();
    checkFileStats(store, file, st, key);
    await checkDirs(store, dirname(file), root ? resolve(root) : dirname(file), key);
    const tooLarge = () => new SecretStoreError(store, `refusing secrets file ${file}: larger than ${MAX_SECRET_FILE_BYTES} bytes`, { key });
    if (st.size > MAX_SECRET_FILE_BYTES) throw tooLarge();
    // Read at most one byte past the cap: a file that grows while it is read is refused too.
    const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_SECRET_FILE_BYTES) throw tooLarge();
    }
    return buffer.toString('utf8', 0, total);
  } finally {
    await handle.close();
  }
}

/** Checks every directory from `top` down to `dir` (inclusive); `dir` must be inside `top`. */
export async function checkDirs(store: string, dir: string, top: string, key?: string): Promise<void> {
  const chain: string[] = [];
  let current = dir;
  for (;;) {
    chain.push(current);
    if (current === top) break;
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const d of chain.reverse()) checkDirStats(store, d, await stat(d), key);
}
