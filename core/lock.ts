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
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { recordSpan } from './timings.js';

export interface FileLock {
  /** Releases the lock (idempotent); resolves once the descriptor is closed. */
  release(): Promise<void>;
}

/** Takes an exclusive lock on `path` (created if missing), waiting for other holders. */
export async function lockFile(path: string, options: { signal?: AbortSignal } = {}): Promise<FileLock> {
  const started = performance.now();
  await mkdir(dirname(path), { recursive: true });
  options.signal?.throwIfAborted();
  const handle = await open(path, 'a', 0o600);
  try {
    await new Promise<void>((resolve, reject) => {
      // The path never reaches flock: it locks its fd 3, our open file.
      const child = spawn('flock', ['--exclusive', '3'], {
        stdio: ['ignore', 'ignore', 'pipe', handle.fd],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const onAbort = () => child.kill('SIGKILL');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (error) => {
        options.signal?.removeEventListener('abort', onAbort);
        reject(new Error(`cannot lock ${path}: ${error.message} (is util-linux's flock installed?)`));
      });
      child.once('close', (code, signal) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (code === 0) resolve();
        else reject(new Error(`cannot lock ${path}: flock exited with ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ''}`));
      });
    });
  } catch (error) {
    await handle.close();
    options.signal?.throwIfAborted();
    throw error;
  }
  if (options.signal?.aborted) {
    await handle.close();
    options.signal.throwIfAborted();
  }
  recordSpan('lock', 'flock (taken)', started);
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= handle.close();
      return released;
    },
  };
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
