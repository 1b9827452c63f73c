/**
 * Copies artefacts out of the tree once the sandbox is gone (nothing can change the tree
 * any more). The tree was written by untrusted code: a symlink in it could point at a host
 * secret, so symlinks are never followed or copied, and only regular files and
 * directories come out.
 */
import { copyFile, lstat, mkdir, readdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { Logger } from './logger.js';

/** Why `relative` cannot name something inside the tree, or undefined when it can. */
function unsafe(relative: string): string | undefined {
  if (isAbsolute(relative)) return 'is absolute';
  const parts = normalize(relative).split(sep);
  if (parts.includes('..')) return 'leaves the tree';
  return undefined;
}

/** The first symlink among the path's components (below `root`), if any. */
async function symlinkOnPath(root: string, relative: string): Promise<string | undefined> {
  let current = root;
  for (const part of normalize(relative).split(sep).filter((p) => p && p !== '.')) {
    current = join(current, part);
    const st = await lstat(current).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) return current;
  }
  return undefined;
}

async function copyTree(source: string, target: string, log: Logger): Promise<number> {
  const st = await lstat(source);
  if (st.isSymbolicLink()) {
    log.warn('artefact symlink not copied', { path: source });
    return 0;
  }
  if (st.isFile()) {
    await mkdir(dirname(target), { recursive: true });
    await copyFile(source, target);
    return 1;
  }
  if (st.isDirectory()) {
    await mkdir(target, { recursive: true });
    let count = 0;
    for (const entry of await readdir(source)) count += await copyTree(join(source, entry), join(target, entry), log);
    return count;
  }
  log.warn('artefact is not a file or directory, not copied', { path: source });
  return 0;
}

/**
 * Copies each of `paths` (relative to `tree`) to the same relative place under `dest`.
 * Returns the host paths copied; missing artefacts are logged, not errors.
 */
export async function copyArtefacts(tree: string, paths: readonly string[], dest: string, log: Logger): Promise<string[]> {
  const copied: string[] = [];
  for (const relative of paths) {
    const reason = unsafe(relative);
    if (reason) {
      log.warn('artefact path refused', { path: relative, reason });
      continue;
    }
    const link = await symlinkOnPath(tree, relative);
    if (link) {
      log.warn('artefact path goes through a symlink, not copied', { path: relative });
      continue;
    }
    const source = join(tree, relative);
    const exists = await lstat(source).catch(() => undefined);
    if (!exists) {
      log.warn('artefact not found', { path: relative });
      continue;
    }
    const target = join(dest, relative);
    if ((await copyTree(source, target, log)) > 0 || exists.isDirectory()) copied.push(target);
  }
  return copied;
}
