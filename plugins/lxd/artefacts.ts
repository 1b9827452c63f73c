/**
 * Copies the configured artefacts (JUnit XML, subunit streams...) from the container's
 * workspace back to the slave. The workspace was writable by untrusted code: symlinks are
 * never followed (a link to /etc/shadow must not be copied by a root bot), only regular
 * files are copied, paths cannot leave the workspace, and the total size is capped.
 */
import { copyFile, lstat, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, normalize, relative, sep } from 'node:path';

export interface ArtefactCopy {
  /** Host paths written under `dest`. */
  copied: string[];
  /** Human-readable reasons for what was not copied (missing, a symlink, too big...). */
  skipped: string[];
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${escaped}$`);
}

/** Expands one configured path (a `*` / `?` glob in its last part is allowed) to relative paths. */
async function expand(root: string, pattern: string): Promise<string[]> {
  const rel = normalize(pattern).replace(/^\/+/, '');
  if (rel === '..' || rel.startsWith(`..${sep}`) || rel === '.' || rel === '') return [];
  if (!/[*?]/.test(rel)) return [rel];
  const dir = dirname(rel);
  if (/[*?]/.test(dir)) return [];
  const re = globToRegExp(rel.slice(dir === '.' ? 0 : dir.length + 1));
  let names: string[];
  try {
    names = await readdir(join(root, dir));
  } catch {
    return [];
  }
  return names.filter((n) => re.test(n)).sort().map((n) => (dir === '.' ? n : join(dir, n)));
}

/** Whether every directory between `root` and `rel` is a real directory (no symlink). */
async function safeParents(root: string, rel: string): Promise<boolean> {
  const parts = rel.split(sep).slice(0, -1);
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    const st = await lstat(current).catch(() => undefined);
    if (!st || !st.isDirectory()) return false;
  }
  return true;
}

export async function copyArtefacts(root: string, patterns: readonly string[], dest: string, maxBytes: number): Promise<ArtefactCopy> {
  const result: ArtefactCopy = { copied: [], skipped: [] };
  let total = 0;
  const visit = async (rel: string): Promise<void> => {
    if (!(await safeParents(root, rel))) {
      result.skipped.push(`${rel}: not found (or under a symlink)`);
      return;
    }
    const src = join(root, rel);
    const st = await lstat(src).catch(() => undefined);
    if (!st) {
      result.skipped.push(`${rel}: not found`);
      return;
    }
    if (st.isSymbolicLink()) {
      result.skipped.push(`${rel}: a symlink, not followed`);
      return;
    }
    if (st.isDirectory()) {
      for (const name of (await readdir(src)).sort()) await visit(join(rel, name));
      return;
    }
    if (!st.isFile()) {
      result.skipped.push(`${rel}: not a regular file`);
      return;
    }
    if (total + st.size > maxBytes) {
      result.skipped.push(`${rel}: over the artefact size limit (${maxBytes} bytes in all)`);
      return;
    }
    total += st.size;
    const target = join(dest, rel);
    if (relative(dest, target).startsWith('..')) return;
    await mkdir(dirname(target), { recursive: true });
    await copyFile(src, target);
    result.copied.push(target);
  };
  for (const pattern of patterns) {
    const matches = await expand(root, pattern);
    if (matches.length === 0) result.skipped.push(`${pattern}: no match`);
    for (const rel of matches) await visit(rel);
  }
  return result;
}
