/**
 * `git --version` for `verify`, remembered between runs for the same git binary.
 *
 * Every landing's verify asked git its version (a process, ~20 ms). The answer is a fact of
 * the binary the run would execute: the `git` that PATH names (found as execvp finds it),
 * identified by its real path, device, inode, size, mtime and ctime (nanoseconds). When all
 * of them are what they were when git last answered, that answer is the note again; any
 * change (an upgrade replaces the file: new inode and ctime; another PATH; a symlink moved)
 * runs git again. A git that does not run is never remembered, and a missing or unreadable
 * cache file only means git is asked; the cache directory is made when missing.
 */
import { accessSync, constants, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../core/index.js';

/** The cache file, in the run's cache directory (beside the `git/` mirrors, not in it). */
export const VERSION_CACHE = 'git-version.json';

/** The `git` executable PATH names and its identity, or undefined when there is none. */
export function gitBinary(path = process.env.PATH ?? ''): { file: string; identity: string } | undefined {
  for (const dir of path.split(':')) {
    const file = join(dir === '' ? '.' : dir, 'git');
    try {
      const s = statSync(file, { bigint: true });
      if (!s.isFile()) continue;
      accessSync(file, constants.X_OK);
      const real = realpathSync(file);
      return { file, identity: JSON.stringify([file, real, String(s.dev), String(s.ino), String(s.size), String(s.mtimeNs), String(s.ctimeNs)]) };
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * What `git --version` prints (trimmed), or undefined when git is missing or fails. From
 * `<cacheDir>/git-version.json` when the binary is the one that answered last.
 */
export async function gitVersion(cacheDir: string, signal?: AbortSignal): Promise<string | undefined> {
  const binary = gitBinary();
  const cacheFile = join(cacheDir, VERSION_CACHE);
  if (binary) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { identity?: unknown; version?: unknown };
      if (cached.identity === binary.identity && typeof cached.version === 'string' && cached.version.startsWith('git version ')) return cached.version;
    } catch {
      // no cache yet, or not ours: ask git
    }
  }
  const result = await run(['git', '--version'], { reject: false, ...(signal ? { signal } : {}) }).catch(() => undefined);
  if (!result || result.exitCode !== 0) return undefined;
  const version = result.stdout.trim();
  // Remembered only when the binary found before the run is still the one there after it.
  if (binary && version.startsWith('git version ') && gitBinary()?.identity === binary.identity) {
    try {
      // The first run of a new work directory has no cache directory yet (the mirrors make it later).
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cacheFile}.new-${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ identity: binary.identity, version }) + '\n', { mode: 0o600 });
      renameSync(tmp, cacheFile);
    } catch {
      // a read-only or missing cache directory: asked again next run
    }
  }
  return version;
}
