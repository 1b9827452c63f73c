/**
 * Run directories (`<workdir>/run-<id>`) name their owner in an `owner.json` beside the
 * checkouts. Every run starts by removing the run directories of dead owners (pid + start
 * time + boot id, as the LXD plugin does for containers), so whatever a crashed run left
 * there (checkouts, an ssh-agent socket, a private HOME) is gone after the next run.
 */
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from './logger.js';
import { ownerIsAlive, processOwner } from './owner.js';

export const OWNER_FILE = 'owner.json';
const RUN_DIR = /^run-[\w.-]+$/;
/** A directory without an owner file this young may be a run that is just starting. */
const GRACE_MS = 60_000;

/** Records this process as the owner of the run directory `dir` (which exists). */
export async function claimRunDir(dir: string): Promise<void> {
  await writeFile(join(dir, OWNER_FILE), `${JSON.stringify(processOwner())}\n`, { mode: 0o600 });
}

async function isStale(dir: string, now: number): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(join(dir, OWNER_FILE), 'utf8');
  } catch {
    const st = await stat(dir).catch(() => undefined);
    return st !== undefined && now - st.mtimeMs > GRACE_MS;
  }
  try {
    return !ownerIsAlive(JSON.parse(text) as Record<string, unknown>);
  } catch {
    return true;
  }
}

/** Removes `run-*` directories under `root` whose owner is dead; answers their names. */
export async function removeStaleRunDirs(root: string, log?: Logger, keep: readonly string[] = []): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  const now = Date.now();
  for (const entry of entries) {
    if (!entry.isDirectory() || !RUN_DIR.test(entry.name) || keep.includes(entry.name)) continue;
    const dir = join(root, entry.name);
    if (!(await isStale(dir, now))) continue;
    try {
      await rm(dir, { recursive: true, force: true });
      removed.push(entry.name);
    } catch (error) {
      log?.warn('stale run directory not removed', { dir, error: (error as Error).message });
    }
  }
  if (removed.length) log?.warn('removed run directories of dead runs', { dirs: removed.join(',') });
  return removed;
}
