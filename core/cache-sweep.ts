/**
 * Housekeeping of the VCS mirrors in `<workdir>/cache/<vcs>/`: a mirror that no configured
 * target uses and that no landing has used for `maxAge` is removed. The age protects the
 * mirrors of other bots sharing the work directory with other configs (their landings keep
 * their mirrors young); the lock protects a mirror in use: it is taken without waiting, and
 * a mirror another bot holds is left alone. Under the lock the mirror is renamed aside
 * (so no half-deleted mirror is ever found at its path), its lock file removed (lockFile
 * takes a lock again when its file went away meanwhile), and then deleted.
 * Leftovers of interrupted work (`<mirror>.new-<pid>` of a dead process, `*.deleting-*`)
 * go too.
 */
import { existsSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import type { Logger } from './logger.js';
import { tryLockFile } from './lock.js';

/**
 * `mirrorMaxAge` of the VCS plugins: a duration (`14d`, `36h`, or seconds), at least an
 * hour (a mirror is never swept while a landing may be about to use it). Not a timer: no
 * 24.8-day cap.
 */
export const mirrorAgeSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds < 3600) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a duration of at least 1h: ${JSON.stringify(value)} (use e.g. 14d, 36h)` });
    return z.NEVER;
  }
  return seconds;
});

export interface MirrorSweepOptions {
  /** The cache directory of one VCS, e.g. `<workdir>/cache/git`. */
  root: string;
  /** Mirror directories (full paths) the current config uses: never removed. */
  keep: ReadonlySet<string>;
  /** Seconds since the last use after which an unused mirror goes. */
  maxAgeSeconds: number;
  /** A file each update of a mirror rewrites: its mtime is the last use. */
  marker: string;
  log?: Logger;
  now?: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When the mirror was last updated: its marker's mtime, else the directory's. */
async function lastUse(dir: string, marker: string): Promise<number | undefined> {
  const m = await stat(join(dir, marker)).catch(() => undefined);
  if (m) return m.mtimeMs;
  return (await stat(dir).catch(() => undefined))?.mtimeMs;
}

/** Removes the unused mirrors under `root`; returns what it removed (paths). */
export async function sweepMirrors(options: MirrorSweepOptions): Promise<string[]> {
  const { root, keep, marker, log } = options;
  const now = options.now ?? Date.now();
  const maxAgeMs = options.maxAgeSeconds * 1000;
  const removed: string[] = [];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const names = new Set(entries.map((e) => e.name));
  for (const entry of entries) {
    // The lock file of a mirror that is gone (removed by hand, or a crash after the rename).
    if (entry.isFile() && entry.name.endsWith('.lock') && !names.has(entry.name.slice(0, -5))) {
      const path = join(root, entry.name);
      const lock = await tryLockFile(path).catch(() => undefined);
      if (lock) {
        try {
          if (!existsSync(path.slice(0, -5))) await rm(path, { force: true });
        } finally {
          await lock.release();
        }
      }
      continue;
    }
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    // A rename aside that a crash left: nobody uses it.
    if (/\.deleting-\d+$/.test(entry.name)) {
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
      continue;
    }
    // A mirror being created (`create()` under the mirror's lock) by a process now dead.
    const fresh = /\.new-(\d+)$/.exec(entry.name);
    if (fresh) {
      if (!pidAlive(Number(fresh[1]))) {
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
      continue;
    }
    if (keep.has(dir)) continue;
    const used = await lastUse(dir, marker);
    if (used === undefined || now - used < maxAgeMs) continue;
    const lock = await tryLockFile(`${dir}.lock`).catch((error: unknown) => {
      log?.warn('mirror sweep: cannot lock the mirror: left alone', { mirror: dir, error: (error as Error).message });
      return undefined;
    });
    if (!lock) {
      log?.info('mirror sweep: the mirror is in use: left alone', { mirror: dir });
      continue;
    }
    const aside = `${dir}.deleting-${process.pid}`;
    try {
      // Used meanwhile (another bot, just before we got the lock)?
      const again = await lastUse(dir, marker);
      if (again === undefined || now - again < maxAgeMs || !existsSync(dir)) continue;
      await rename(dir, aside);
      await rm(`${dir}.lock`, { force: true });
    } finally {
      await lock.release();
    }
    await rm(aside, { recursive: true, force: true });
    removed.push(dir);
    log?.info('mirror sweep: removed a mirror no configured target uses', { mirror: dir, unusedDays: Math.floor((now - used) / 86_400_000) });
  }
  return removed;
}
