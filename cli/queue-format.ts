/**
 * `byoci queue` as text: one block per target, its entries in queue order, the freeze and
 * the lease, then the last landings and what was taken out, with reasons.
 */
import type { EntrySnapshot, QueueSnapshot, TargetSnapshot } from '../core/queue/index.js';

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function state(e: EntrySnapshot, now: number): string {
  if (e.state === 'testing') {
    const since = e.underTestSince ?? e.since;
    const step = e.run?.step ? `, step ${e.run.step.name}` : '';
    // The gate's `waiting()` (remote CI results) sets the reason while the landing waits.
    return `under test since ${since} (${duration(now - Date.parse(since))}${step}, attempt ${e.run?.attempt ?? e.attempts})${e.reason ? `: ${e.reason}` : ''}`;
  }
  if (e.state === 'queued' || e.state === 'pushed') return `waiting for ${e.waitingFor ?? 'the next land run'}`;
  return `${e.state}${e.reason ? `: ${e.reason}` : ''}`;
}

function target(t: TargetSnapshot, now: number): string[] {
  const lines = [`${t.key}  (project ${t.project})`];
  if (t.freeze) {
    lines.push(`  FROZEN${t.freeze.below ? ` below ${t.freeze.below}` : ''}: ${t.freeze.reason} (by ${t.freeze.by}, since ${t.freeze.since})`);
  }
  if (t.lease) {
    lines.push(`  lease: ${t.lease.holder} (pid ${t.lease.pid} on ${t.lease.host}, since ${t.lease.since}${t.lease.alive ? '' : ', dead: the next run takes it over'})`);
  }
  if (t.entries.length === 0) lines.push('  queue empty');
  for (const e of t.entries) {
    lines.push(`  ${String(e.position).padStart(2)}. ${e.proposal}  [${e.forge}, ${e.priority}, attempts ${e.attempts}, approved ${e.approvedAt}]  ${e.title}`);
    lines.push(`      ${state(e, now)}`);
  }
  if (t.landings.length) {
    lines.push('  last landings:');
    for (const l of t.landings) {
      lines.push(
        `    ${l.landedAt}  ${l.proposal}  -> ${l.revision ?? '?'}  (waited ${duration(l.waitedMs)}, landing ${duration(l.landingMs)}, tests ${duration(l.testMs)}, attempts ${l.attempts})`,
      );
    }
  }
  if (t.takenOut.length) {
    lines.push('  taken out:');
    for (const e of t.takenOut) lines.push(`    ${e.since}  ${e.proposal}: ${e.reason ?? 'no reason recorded'}`);
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
  for (const f of others) lines.push(`FROZEN ${f.target}${f.below ? ` below ${f.below}` : ''}: ${f.reason} (by ${f.by}, since ${f.since})`);
  return lines;
}
