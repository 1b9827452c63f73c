/**
 * `byoci queue` as text: one block per target, its entries in queue order, the freeze and
 * the lease, then the last landings and what was taken out, with reasons.
 */
import type { EntrySnapshot, QueueSnapshot, RunSnapshot, TargetSnapshot } from '../core/queue/index.js';

/**
 * Untrusted text (titles, proposal ids, reasons, container names) made safe for a terminal:
 * control characters (escape sequences, newlines, C1) are shown as `\uXXXX`, never sent.
 */
export function clean(text: string | null | undefined): string {
  return String(text ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `batch of 3 (a, b, c)` or the one proposal. */
export function members(run: RunSnapshot): string {
  const ids = run.proposals.map(clean).join(', ');
  return run.proposals.length > 1 ? `batch of ${run.proposals.length} (${ids})` : ids || '(no proposal)';
}

/** `on lxd byoci-…` : where the run's tests run (ran), the last container when several. */
export function sandboxOf(run: RunSnapshot): string {
  const last = run.sandboxes.at(-1);
  if (!last) return '';
  const more = run.sandboxes.length > 1 ? ` (${run.sandboxes.length} containers: ${run.sandboxes.map((x) => clean(x.name)).join(', ')})` : '';
  return `on ${clean(last.backend)} ${clean(last.name)}${more}`;
}

function runLine(r: RunSnapshot, now: number): string {
  const parts = [`run ${r.id}`, members(r)];
  if (r.finishedAt === null) {
    parts.push(`since ${r.startedAt} (${duration(now - Date.parse(r.startedAt))})`);
    parts.push(`step ${clean(r.step?.name ?? r.state)}${r.step && r.step.result === null ? '' : r.step ? ` ${clean(r.step.result)}` : ''}`);
    if (r.alive === false) parts.push('ITS BOT IS DEAD: the next run buries it and queues its proposals again');
  } else {
    parts.push(`${clean(r.state)} at ${r.finishedAt}`);
    if (r.testMs !== null) parts.push(`tests ${duration(r.testMs)}`);
  }
  parts.push(`attempt ${r.attempt}`);
  const where = sandboxOf(r);
  if (where) parts.push(where);
  if (r.trunkRevision) parts.push(`over ${clean(r.trunkRevision.slice(0, 12))}`);
  if (r.treeRevision) parts.push(`tree ${clean(r.treeRevision.slice(0, 12))}`);
  return `    ${parts.join(', ')}${r.detail ? `: ${clean(r.detail)}` : ''}`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * The runs an entry was in, in words: `tested in runs 2, 5` (a run is one tested tree, see
 * `recent runs`; a batch and each half of its bisection are runs of their own).
 */
export function runsIn(runs: readonly number[], sofar = false): string {
  if (runs.length === 0) return '';
  return `tested in run${runs.length > 1 ? 's' : ''} ${runs.join(', ')}${sofar ? ' so far' : ''}`;
}

function state(e: EntrySnapshot, now: number): string {
  if (e.state === 'testing') {
    const since = e.underTestSince ?? e.since;
    const step = e.run?.step ? `, step ${clean(e.run.step.name)}` : '';
    const batch = e.run && e.run.proposals.length > 1 ? `, in batch run ${e.run.id} of ${e.run.proposals.length}` : e.run ? `, run ${e.run.id}` : '';
    const where = e.run ? sandboxOf(e.run) : '';
    // The gate's `waiting()` (remote CI results) sets the reason while the landing waits.
    return `under test since ${since} (${duration(now - Date.parse(since))}${batch}${step}, attempt ${e.run?.attempt ?? e.attempts}${where ? `, ${where}` : ''})${e.reason ? `: ${clean(e.reason)}` : ''}`;
  }
  const runs = e.runs.length > 1 ? ` (${runsIn(e.runs, e.state === 'queued' || e.state === 'pushed')})` : '';
  if (e.state === 'queued' || e.state === 'pushed') return `waiting for ${clean(e.waitingFor ?? 'the next land run')}${runs}`;
  return `${e.state}${e.reason ? `: ${clean(e.reason)}` : ''}${runs}`;
}

function target(t: TargetSnapshot, now: number): string[] {
  const lines = [`${clean(t.key)}  (project ${clean(t.project)})`];
  if (t.freeze) {
    lines.push(`  FROZEN${t.freeze.below ? ` below ${clean(t.freeze.below)}` : ''}: ${clean(t.freeze.reason)} (by ${clean(t.freeze.by)}, since ${t.freeze.since})`);
  }
  if (t.lease) {
    lines.push(`  lease: ${clean(t.lease.holder)} (pid ${t.lease.pid} on ${clean(t.lease.host)}, since ${t.lease.since}${t.lease.alive ? '' : ', dead: the next run takes it over'})`);
  }
  if (t.entries.length === 0) lines.push('  queue empty');
  for (const e of t.entries) {
    lines.push(`  ${String(e.position).padStart(2)}. ${clean(e.proposal)}  [${clean(e.forge)}, ${clean(e.priority)}, attempts ${e.attempts}, approved ${e.approvedAt}]  ${clean(e.title)}`);
    lines.push(`      ${state(e, now)}`);
  }
  if (t.running.length) {
    lines.push('  running:');
    for (const r of t.running) lines.push(runLine(r, now));
  }
  if (t.landings.length) {
    lines.push('  last landings:');
    for (const l of t.landings) {
      lines.push(
        `    ${l.landedAt}  ${clean(l.proposal)}  ${clean(l.title)}  -> ${clean(l.revision ?? '?')}  (waited ${duration(l.waitedMs)}, landing ${duration(l.landingMs)}, tests ${duration(l.testMs)}, attempts ${l.attempts})`,
      );
    }
  }
  if (t.takenOut.length) {
    lines.push('  taken out:');
    for (const e of t.takenOut) {
      lines.push(`    ${e.since}  ${clean(e.proposal)}  ${clean(e.title)}: ${clean(e.reason ?? 'no reason recorded')}${e.runs.length ? ` (${runsIn(e.runs)})` : ''}`);
    }
  }
  if (t.recentRuns.length) {
    lines.push('  recent runs (newest first):');
    for (const r of t.recentRuns) lines.push(runLine(r, now));
  }
  return lines;
}

export function formatSnapshot(snapshot: QueueSnapshot): string[] {
  const now = Date.parse(snapshot.generatedAt);
  const lines = snapshot.targets.length === 0
    ? ['no queue yet (byoci land fills it; byoci queue --refresh reads the forges now)']
    : snapshot.targets.flatMap((t, i) => [...(i ? [''] : []), ...target(t, now)]);
  const shown = new Set(snapshot.targets.flatMap((t) => [t.key, t.project]));
  const others = snapshot.freezes.filter((f) => !snapshot.targets.some((t) => t.key === f.target) && !shown.has(f.target));
  for (const f of others) lines.push(`FROZEN ${clean(f.target)}${f.below ? ` below ${clean(f.below)}` : ''}: ${clean(f.reason)} (by ${clean(f.by)}, since ${f.since})`);
  return lines;
}
