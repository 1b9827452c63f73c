/**
 * Where a run's time goes, step by step (`BYOCI_TIMINGS`): start-up, config, plugins,
 * the queue store, each hook tap, each child process, each LXD request, each lock wait.
 *
 *   BYOCI_TIMINGS=1        a table on stderr when the process exits
 *   BYOCI_TIMINGS=<file>   one JSON line per process appended to <file> (bench/landing.ts reads it)
 *
 * Off (the variable unset or empty), recording is a test of one boolean. Times are
 * milliseconds since the process started (`performance.now()`), so the first span, node's
 * own bootstrap, is measured too. The spans carry command names and hook names only,
 * never arguments (branch names, URLs), so nothing untrusted reaches the output.
 */
import { appendFileSync } from 'node:fs';

/**
 * What a span measures: a step of the run, a hook tap, a child process, an LXD request, a
 * lock wait, or work a plugin does in the background beside the steps (LXD's container made
 * while the landing fetches and merges: it overlaps them, it is not part of them).
 */
export type SpanKind = 'step' | 'hook' | 'proc' | 'lxd' | 'lock' | 'background';

export interface Span {
  kind: SpanKind;
  name: string;
  /** Milliseconds since the process started. */
  start: number;
  ms: number;
}

const setting = process.env.BYOCI_TIMINGS ?? '';
/** True when this process records its timings. */
export const timingsOn = setting !== '' && setting !== '0';
const spans: Span[] = [];
let flushed = false;

/** Records a span that began at `start` (a `performance.now()` value) and ends now. */
export function recordSpan(kind: SpanKind, name: string, start: number, end = performance.now()): void {
  if (!timingsOn) return;
  spans.push({ kind, name, start: round(start), ms: round(end - start) });
}

/** Runs `fn` as a span (only timed when recording). */
export async function timeSpan<T>(kind: SpanKind, name: string, fn: () => Promise<T>): Promise<T> {
  if (!timingsOn) return fn();
  const start = performance.now();
  try {
    return await fn();
  } finally {
    recordSpan(kind, name, start);
  }
}

/** The same for synchronous work. */
export function timeSpanSync<T>(kind: SpanKind, name: string, fn: () => T): T {
  if (!timingsOn) return fn();
  const start = performance.now();
  try {
    return fn();
  } finally {
    recordSpan(kind, name, start);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** The spans recorded so far (a copy), with node's bootstrap first. */
export function spansSoFar(): Span[] {
  const boot = performance.nodeTiming.bootstrapComplete;
  return [{ kind: 'step', name: 'node bootstrap', start: 0, ms: round(boot) }, ...spans];
}

/** `git fetch`, `lxc`-style short names of a command for spans: the program and, for git/brz, the subcommand. */
export function commandName(command: readonly string[]): string {
  const program = (command[0] ?? '?').split('/').pop() ?? '?';
  if (program !== 'git' && program !== 'brz' && program !== 'bzr') return program;
  // Skip the `-c key=value` and `-C dir` options core puts before the subcommand.
  for (let i = 1; i < command.length; i++) {
    const word = command[i]!;
    if (word === '-c' || word === '-C') {
      i += 1;
      continue;
    }
    if (word.startsWith('-')) continue;
    return /^[a-z][a-z-]*$/.test(word) ? `${program} ${word}` : program;
  }
  return program;
}

/** The recorded spans as a readable table (what BYOCI_TIMINGS=1 prints). */
export function formatTimings(list: readonly Span[], total: number): string {
  const lines = [`byoci timings (ms since the process started; total ${total.toFixed(0)} ms)`, '  start     ms  what'];
  for (const s of [...list].sort((a, b) => a.start - b.start)) {
    const indent = s.kind === 'step' || s.kind === 'hook' || s.kind === 'background' ? '' : '  ';
    lines.push(`${s.start.toFixed(0).padStart(7)} ${s.ms.toFixed(0).padStart(6)}  ${indent}${s.kind === 'step' ? '' : `${s.kind} `}${s.name}`);
  }
  return lines.join('\n');
}

/** Writes the timings where BYOCI_TIMINGS says (once; called at exit). */
export function flushTimings(): void {
  if (!timingsOn || flushed) return;
  flushed = true;
  const total = performance.now();
  const list = spansSoFar();
  const usage = process.resourceUsage();
  // CPU time of this node process alone (children excluded): less noisy than wall time on a busy machine.
  const cpu = round((usage.userCPUTime + usage.systemCPUTime) / 1000);
  if (setting === '1') {
    process.stderr.write(`${formatTimings(list, total)}\nnode process CPU: ${cpu.toFixed(0)} ms\n`);
    return;
  }
  try {
    appendFileSync(setting, JSON.stringify({ pid: process.pid, total: round(total), cpu, spans: list }) + '\n');
  } catch (error) {
    process.stderr.write(`byoci: cannot write the timings to BYOCI_TIMINGS=${setting}: ${(error as Error).message}\n`);
  }
}

if (timingsOn) process.once('exit', flushTimings);
