/**
 * Which VCS a local target is, from its config: a `repo` directory holding `.bzr` is a bzr
 * branch; anything else is left to the default (git). One stat, no other import, so the
 * plugin registry can ask without loading the plugin.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export function localTargetVcs(target: Readonly<Record<string, unknown>>, configDir: string): 'bzr' | undefined {
  const repo = target.repo;
  if (typeof repo !== 'string' || repo.length === 0 || /^[a-z][a-z0-9+.-]*:/i.test(repo)) return undefined;
  const dir = isAbsolute(repo) ? repo : resolve(configDir, repo);
  return existsSync(join(dir, '.bzr')) ? 'bzr' : undefined;
}
