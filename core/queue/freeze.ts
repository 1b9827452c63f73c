/**
 * Freezes: a frozen target lands nothing, or nothing below a priority. Set with
 * `byoci queue freeze <target> --reason … [--below PRIORITY]` (recorded in the store, by
 * whom and when) or in the config (`queue.freeze.<target>`), which is copied into the store
 * at every run so that every reader of the store (byoci queue, the status page) sees it.
 * `<target>` is a target key as `byoci queue` shows it, or a project name (all its targets).
 */
import { userInfo } from 'node:os';
import { UsageError } from '../errors.js';
import { priorityRank, type QueueSettings } from './config.js';
import type { Proposal } from '../../hooks/types.js';
import type { Db } from '../../store/index.js';
import { targetKey } from './key.js';
import { freezeOf } from './snapshot.js';
import type { FreezeRow, QueueStore } from './store.js';

export const CONFIG_FREEZER = 'config';

/** Makes the store's config freezes match `queue.freeze` (freezes set by hand are kept). */
export function syncConfigFreezes(store: QueueStore, queue: QueueSettings): void {
  store.db.transaction(() => {
    const rows = store.db.prepare('SELECT target_key FROM queue_freezes WHERE frozen_by = ?').all(CONFIG_FREEZER) as { target_key: string }[];
    for (const row of rows) if (!Object.hasOwn(queue.freeze, row.target_key)) store.unfreeze(row.target_key);
    for (const [key, f] of Object.entries(queue.freeze)) {
      const current = store.frozen(key);
      if (current && current.frozen_by !== CONFIG_FREEZER) continue;
      if (current && current.reason === f.reason && current.below_name === (f.below ?? null)) continue;
      store.freeze({
        targetKey: key,
        reason: f.reason,
        ...(f.below ? { below: priorityRank(queue, f.below)!, belowName: f.below } : {}),
        by: CONFIG_FREEZER,
      });
    }
  }).immediate();
}

export function freezeTarget(store: QueueStore, queue: QueueSettings, target: string, options: { reason: string; below?: string }): void {
  if (!options.reason.trim()) throw new UsageError('queue freeze needs --reason: say why the target is frozen (shown by list and queue)');
  let below: number | undefined;
  if (options.below !== undefined) {
    below = priorityRank(queue, options.below);
    if (below === undefined) throw new UsageError(`unknown priority ${JSON.stringify(options.below)} (queue.priorities: ${queue.priorities.join(', ')})`);
  }
  let by = 'unknown';
  try {
    by = userInfo().username;
  } catch {
    // no passwd entry: keep "unknown"
  }
  store.freeze({ targetKey: target, reason: options.reason.trim(), ...(below !== undefined ? { below, belowName: options.below! } : {}), by });
}

export function unfreezeTarget(store: QueueStore, queue: QueueSettings, target: string, where?: string): boolean {
  const current = store.frozen(target);
  if (current?.frozen_by === CONFIG_FREEZER && Object.hasOwn(queue.freeze, target)) {
    throw new UsageError(`${target} is frozen by the configuration (queue.freeze${where ? ` at ${where}` : ''}): remove it there`);
  }
  return store.unfreeze(target);
}

/** The freeze that holds this proposal back (its target's or project's, below its priority), if any. */
export function freezeHolding(db: Db, queue: QueueSettings, proposal: Proposal, project: string): FreezeRow | undefined {
  if (!proposal.target.url) return undefined;
  const freeze = freezeOf(db, targetKey(proposal.target), project);
  if (!freeze) return undefined;
  if (freeze.below === null) return freeze;
  const name = queue.proposals[proposal.id] ?? (proposal.priority && priorityRank(queue, proposal.priority) !== undefined ? proposal.priority : queue.defaultPriority);
  return (priorityRank(queue, name) ?? 0) < freeze.below ? freeze : undefined;
}
