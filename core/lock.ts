/**
 * An exclusive lock on a file, held by a `flock(1)` child process: the kernel releases it
 * when the holder dies, also after kill -9 of the bot (the child sees its stdin close and
 * exits), so no stale lock can outlive its owner and there is no takeover guesswork.
 * Used for caches shared by the bots of a slave (the VCS mirrors).
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileLock {
  /** Releases the lock (idempotent); resolves once the holder has exited. */
  release(): Promise<void>;
}

/** Takes an exclusive lock on `path` (created if missing), waiting for other holders. */
export async function lockFile(path: string, options: { signal?: AbortSignal } = {}): Promise<FileLock> {
  await mkdir(dirname(path), { recursive: true });
  options.signal?.throwIfAborted();
  // The script is a constant: the path is an argument of flock, never shell text.
  const child = spawn('flock', ['--exclusive', path, 'sh', '-c', 'echo locked && exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const onAbort = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('locked\n')) resolve();
      });
      child.once('error', (error) => reject(new Error(`cannot lock ${path}: ${error.message} (is util-linux's flock installed?)`)));
      child.once('close', (code) => reject(new Error(`cannot lock ${path}: flock exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`)));
    });
  } catch (error) {
    options.signal?.removeEventListener('abort', onAbort);
    options.signal?.throwIfAborted();
    throw error;
  }
  options.signal?.removeEventListener('abort', onAbort);
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= (async () => {
        child.stdin.end();
        await exited;
      })();
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
