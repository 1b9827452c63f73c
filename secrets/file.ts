/**
 * The `file` store: a directory of one file per secret, laid out like the seed's
 * `{byoci}.secrets` branch.
 *
 * Key `<plugin>/<secret>` is read from `<dir>/<plugin>/<secret>`, then from its alias when
 * one is configured (`secrets.aliases`) or built in:
 *
 *   git/ssh-key      <dir>/git/ssh-key        alias e.g. slaves/ssh/keys/jenkins@brz-slave-testing
 *   launchpad/oauth  <dir>/launchpad/oauth    built-in alias launchpad/credentials (launchpadlib ini)
 *   github/token     <dir>/github/token
 *
 * Every file must be mode 600 (no group/other bits) and owned by this user or root, and
 * no directory from `<dir>` down may be writable by group or others; otherwise the lookup
 * fails naming the path and the `chmod` that fixes it. A missing `<dir>` holds nothing.
 *
 * One-line values lose their trailing newline; multi-line values (keys) are kept as is.
 * `set` creates directories 700 and files 600 (written to a temporary file, then renamed).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_ALIASES } from './config.js';
import { SecretStoreError } from './errors.js';
import { normalizeValue, parseKey, isValidKey } from './keys.js';
import { checkDirs, readSafeFile } from './safe-file.js';
import type { SecretStore } from './types.js';

export interface FileStoreOptions {
  /** Absolute path of the secrets directory. */
  dir: string;
  /** Key → path relative to `dir`, tried after `<plugin>/<secret>`; merged over DEFAULT_ALIASES. */
  aliases?: Readonly<Record<string, string>>;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

export function createFileStore(options: FileStoreOptions): SecretStore & { readonly dir: string; pathsOf(key: string): string[] } {
  const dir = options.dir;
  const aliases: Record<string, string> = { ...DEFAULT_ALIASES, ...(options.aliases ?? {}) };

  /** Candidate files of `key`, in lookup order. */
  function pathsOf(key: string): string[] {
    const { plugin, name } = parseKey(key);
    const paths = [join(dir, plugin, name)];
    const alias = aliases[key];
    if (alias) paths.push(join(dir, alias));
    return paths;
  }

  async function findFile(key: string): Promise<string | undefined> {
    for (const path of pathsOf(key)) if (await exists(path)) return path;
    return undefined;
  }

  return {
    name: 'file',
    dir,
    pathsOf,

    async get(key) {
      const path = await findFile(key);
      if (!path) return undefined;
      return normalizeValue(await readSafeFile('file', path, key, dir));
    },

    async set(key, value) {
      const path = pathsOf(key)[0]!;
      const parent = dirname(path);
      await mkdir(parent, { recursive: true, mode: 0o700 });
      await checkDirs('file', parent, dir, key);
      const tmp = join(parent, `.${randomBytes(6).toString('hex')}.tmp`);
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(value, 'utf8');
        await handle.sync();
      } catch (error) {
        await handle.close();
        await rm(tmp, { force: true });
        throw error;
      }
      await handle.close();
      await rename(tmp, path);
    },

    async delete(key) {
      let deleted = false;
      for (const path of pathsOf(key)) {
        try {
          await unlink(path);
          deleted = true;
        } catch (error) {
          if (!isMissing(error)) throw new SecretStoreError('file', `cannot delete ${path} (${(error as NodeJS.ErrnoException).code})`, { key, cause: error });
        }
      }
      return deleted;
    },

    async list() {
      const keys = new Set<string>();
      const aliasTargets = new Set(Object.values(aliases).map((a) => join(dir, a)));
      let plugins: string[];
      try {
        plugins = await readdir(dir);
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
      for (const plugin of plugins) {
        let names: string[];
        try {
          names = await readdir(join(dir, plugin));
        } catch {
          continue; // a file at the top level, or unreadable: not a <plugin>/ directory
        }
        for (const name of names) {
          const key = `${plugin}/${name}`;
          if (!isValidKey(key) || aliasTargets.has(join(dir, key))) continue;
          if ((await stat(join(dir, key)).catch(() => undefined))?.isFile()) keys.add(key);
        }
      }
      for (const [key, alias] of Object.entries(aliases)) if (await exists(join(dir, alias))) keys.add(key);
      return [...keys].sort();
    },
  };
}
