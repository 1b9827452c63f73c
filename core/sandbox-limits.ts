/**
 * Resource limits without cgroups: `prlimit` (rlimits) and `taskset` (CPU affinity), run
 * inside the sandbox in front of the command. See the README for what is and is not
 * enforced compared to LXD.
 */
import { readFileSync } from 'node:fs';
import type { TestSpec } from '../hooks/index.js';
import { parseSize } from './size.js';

// parseSize lives in core/size.ts (no imports), so the config schema can use it without an import circle.
export { parseSize };

/** CPUs this process may run on, from /proc/self/status (`Cpus_allowed_list`). */
export function allowedCpus(): number[] {
  let list = '';
  try {
    list = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  } catch {
    return [];
  }
  return expandCpuList(list) ?? [];
}

/** `0-2,5` → [0,1,2,5]; undefined when it is not a CPU list. */
export function expandCpuList(list: string): number[] | undefined {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list.trim())) return undefined;
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined) continue;
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

/**
 * The CPU list for `taskset` from LXD's `limits.cpu`: a count (`2`: the first two CPUs this
 * process may use) or a list (`0-1,3`: pinned as given).
 */
export function cpuList(cpu: string, allowed: number[] = allowedCpus()): string | undefined {
  if (/^\d+$/.test(cpu)) {
    const count = Number(cpu);
    if (count < 1) return undefined;
    const pool = allowed.length ? allowed : [...Array(count).keys()];
    return pool.slice(0, count).join(',');
  }
  return expandCpuList(cpu) ? cpu.trim() : undefined;
}

/** Why `limits` cannot be applied by this backend, one message each (empty: all fine). */
export function limitProblems(limits: TestSpec['limits']): string[] {
  const problems: string[] = [];
  if (limits.memory !== undefined && parseSize(limits.memory) === undefined) {
    problems.push(`limits.memory ${JSON.stringify(limits.memory)} is not a size such as 2GiB`);
  }
  if (limits.cpu !== undefined && cpuList(String(limits.cpu)) === undefined) {
    problems.push(
      `limits.cpu ${JSON.stringify(limits.cpu)} is neither a CPU count (2) nor a CPU list (0-1,3); namespace sandboxes pin with taskset and have no CPU allowance`,
    );
  }
  return problems;
}

/** Programs the limits need inside the sandbox. */
export function limitTools(limits: TestSpec['limits']): string[] {
  const tools: string[] = [];
  if (limits.memory !== undefined || limits.processes !== undefined) tools.push('prlimit');
  if (limits.cpu !== undefined) tools.push('taskset');
  return tools;
}

/**
 * The argv prefix that applies `limits` to the command after it:
 * `prlimit --as=<bytes> --nproc=<n> -- taskset --cpu-list <list>`.
 */
export function limitPrefix(limits: TestSpec['limits'], allowed?: number[]): string[] {
  const prefix: string[] = [];
  const rlimits: string[] = [];
  const memory = limits.memory !== undefined ? parseSize(limits.memory) : undefined;
  if (memory !== undefined) rlimits.push(`--as=${memory}`);
  if (limits.processes !== undefined) rlimits.push(`--nproc=${limits.processes}`);
  if (rlimits.length) prefix.push('prlimit', ...rlimits, '--');
  if (limits.cpu !== undefined) {
    const list = cpuList(String(limits.cpu), allowed);
    if (list === undefined) throw new Error(limitProblems(limits).join('; '));
    // taskset takes no `--`: the first argument after the list is the command.
    prefix.push('taskset', '--cpu-list', list);
  }
  return prefix;
}
