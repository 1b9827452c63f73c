/**
 * An exclusive lock on a file: `flock(2)` on a file descriptor the bot holds open, taken by
 * a `flock(1)` child that gets the descriptor as its fd 3, locks it and exits (node has no
 * flock call). The lock belongs to the open file: it stays held while the bot keeps the
 * descriptor, and the kernel releases it when the bot closes it or dies, also after kill -9
 * of the bot, so no stale lock can outlive its owner and there is no takeover guesswork.
 * Descriptors node opens are close-on-exec: no other child inherits the lock.
 * Used for caches shared by the bots of a slave (the VCS mirrors).
 */
import { spawn } from 'node:child_process';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { recordSpan } from './timings.js';

export interface FileLock {
  /** Releases the lock (idempotent); resolves once the descriptor is closed. */
  release(): Promise<void>;
}

/** Takes an exclusive lock on `path` (created if missing), waiting for other holders. */
export async function lockFile(path: string, options: { signal?: AbortSignal } = {}): Promise<FileLock> {
  return (await takeLock(path, true, options))!;
}

/** The lock on `path` if nobody holds it now, else undefined (never waits). */
export async function tryLockFile(path: string): Promise<FileLock | undefined> {
  return takeLock(path, false, {});
}

async function takeLock(path: string, wait: boolean, options: { signal?: AbortSignal }): Promise<FileLock | undefined> {
  const started = performance.now();
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    options.signal?.throwIfAborted();
    const handle = await open(path, 'a', 0o600);
    let got: boolean;
    try {
      got = await flockChild(path, handle.fd, wait, options.signal);
    } catch (error) {
      await handle.close();
      options.signal?.throwIfAborted();
      throw error;
    }
    if (!got || options.signal?.aborted) {
      await handle.close();
      options.signal?.throwIfAborted();
      return undefined;
    }
    // A lock file may be removed by its holder (the cache sweep does, under the lock): a
    // lock taken on a file no longer at `path` locks nothing anyone else sees. Take it again.
    const [held, now] = await Promise.all([handle.stat(), stat(path).catch(() => undefined)]);
    if (!now || now.ino !== held.ino || now.dev !== held.dev) {
      await handle.close();
      continue;
    }
    recordSpan('lock', wait ? 'flock (taken)' : 'flock (tried)', started);
    let released: Promise<void> | undefined;
    return {
      release() {
        released ??= handle.close();
        return released;
      },
    };
  }
}

/** Runs `flock(1)` on fd 3 = `fd`: true when locked, false when busy (only without `wait`). */
function flockChild(path: string, fd: number, wait: boolean, signal?: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    // The path never reaches flock: it locks its fd 3, our open file. Exit 1 = busy (--nonblock).
    const child = spawn('flock', ['--exclusive', ...(wait ? [] : ['--nonblock', '--conflict-exit-code', '75']), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new Error(`cannot lock ${path}: ${error.message} (is util-linux's flock installed?)`));
    });
    child.once('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (code === 0) resolve(true);
      else if (!wait && code === 75) resolve(false);
      else reject(new Error(`cannot lock ${path}: flock exited with ${code ?? sig}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

/** Runs `fn` holding the lock on `path`; the lock is released however `fn` ends. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
  const lock = await lockFile(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
