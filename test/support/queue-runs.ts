/**
 * What the store and the trunk say about a queue world's runs and pushes, for the invariant
 * "no pushed tree was not tested exactly as pushed" (issue 15): every push the trunk received
 * is a run's tested-green tree, over the tip that run's tree was merged onto.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../store/index.js';
import { QUEUE_MIGRATIONS } from '../../core/queue/index.js';
import { after } from 'node:test';
import { QueueWorld } from './queue-world.js';

/**
 * A maker of queue worlds for one test file, each removed after the file's tests: a world
 * tagged `tag` whose trunk logs its pushes (see logPushes) and holds `names` as approved
 * proposals 1, 2, … in that order.
 */
export function queueWorlds(): (tag: string, names: string[]) => Promise<QueueWorld> {
  const worlds: QueueWorld[] = [];
  after(() => worlds.forEach((w) => w.remove()));
  return async (tag, names) => {
    const w = await QueueWorld.create(tag);
    worlds.push(w);
    logPushes(w);
    for (const [i, n] of names.entries()) await w.propose(String(i + 1), n, `2026-11-30T10:00:${String(i + 1).padStart(2, '0')}Z`);
    return w;
  };
}

/** A post-receive hook on the world's trunk logs every push's old and new tip. */
export function logPushes(w: QueueWorld): void {
  const hook = join(w.trunk, 'hooks', 'post-receive');
  writeFileSync(hook, `#!/bin/sh\nwhile read old new ref; do echo "$old $new $ref" >> ${JSON.stringify(join(w.dir, 'pushes.log'))}; done\n`);
  chmodSync(hook, 0o755);
}

/** The pushes the trunk received (see logPushes), oldest first. */
export function pushes(w: QueueWorld): { old: string; new: string }[] {
  const file = join(w.dir, 'pushes.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => {
    const [o, n] = l.split(' ');
    return { old: o!, new: n! };
  });
}

export interface RunRec {
  id: number;
  state: string;
  trunk_revision: string | null;
  tree_revision: string | null;
  test_ms: number | null;
  size: number;
  started_at: string;
  finished_at: string | null;
  detail: string | null;
  /** Proposal ids of the run's entries, in merge order. */
  proposals: string[];
  /** Each entry's merge commit inside the run's tree (the chain over trunk_revision). */
  merges: string[];
}

export function runs(w: QueueWorld): RunRec[] {
  const db = openStore(join(w.dir, 'runs', 'byoci.db'), { migrations: QUEUE_MIGRATIONS });
  try {
    const rows = db.prepare(
      `SELECT r.id, r.state, r.trunk_revision, r.tree_revision, r.test_ms, r.started_at, r.finished_at, r.detail,
              (SELECT COUNT(*) FROM queue_run_entries x WHERE x.run_id = r.id) AS size
       FROM queue_runs r ORDER BY r.id`,
    ).all() as Omit<RunRec, 'proposals' | 'merges'>[];
    const members = db.prepare(
      `SELECT e.proposal_id, x.merge_revision FROM queue_run_entries x JOIN queue_entries e ON e.id = x.entry_id WHERE x.run_id = ? ORDER BY x.position`,
    );
    return rows.map((r) => {
      const m = members.all(r.id) as { proposal_id: string; merge_revision: string | null }[];
      return { ...r, proposals: m.map((x) => x.proposal_id), merges: m.map((x) => x.merge_revision ?? '') };
    });
  } finally {
    db.close();
  }
}

/**
 * Every push is a tested-green tree, pushed over the tip it was merged onto: the run's trunk
 * tip, or (a speculative run) the merge commit of one of its own entries that landed first.
 */
export function assertPushedAsTested(w: QueueWorld, others: readonly string[] = []): { old: string; new: string }[] {
  const tested = runs(w).filter((r) => r.test_ms !== null);
  // `others`: pushes the test made itself (a concurrent landing), not byoci's.
  const mine = pushes(w).filter((p) => !others.includes(p.new));
  for (const p of mine) {
    const run = tested.find((r) => r.tree_revision === p.new);
    assert.ok(run, `pushed ${p.new} was never tested`);
    assert.ok(
      run.trunk_revision === p.old || run.merges.slice(0, -1).includes(p.old),
      `pushed ${p.new} over ${p.old}, tested over ${run.trunk_revision} (chain ${run.merges.join(' ')})`,
    );
    // A run killed after its push (the kill -9 tests) stays `crashed`: it reached its push
    // step, which only follows green tests.
    if (run.state === 'crashed') assert.ok(stepsOf(w, run.id).includes('push'), `crashed run ${run.id} pushed ${p.new} without reaching its push step`);
    else assert.equal(run.state, 'landed', `run ${run.id} that tested ${p.new} did not pass`);
  }
  return mine;
}

function stepsOf(w: QueueWorld, runId: number): string[] {
  const db = openStore(join(w.dir, 'runs', 'byoci.db'), { migrations: QUEUE_MIGRATIONS });
  try {
    return (db.prepare('SELECT step FROM queue_steps WHERE run_id = ? ORDER BY id').all(runId) as { step: string }[]).map((r) => r.step);
  } finally {
    db.close();
  }
}

