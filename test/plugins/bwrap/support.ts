/**
 * Shared set-up of the bwrap tests: the plugin applied through the real harness, a
 * throw-away tree per test, a TestSpec with the schema's defaults, and helpers to look at
 * the host's process table (to prove nothing outlives a run).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProjectConfig, TestResult, TestSpec } from '../../../hooks/index.js';
import bwrapPlugin from '../../../plugins/bwrap/index.js';
import { missingCommands } from '../../support/components.js';
import { applyPlugins, type Harness } from '../../support/harness.js';

export const BWRAP_MISSING = missingCommands('bwrap');

export function makeSpec(overrides: Partial<TestSpec> = {}): TestSpec {
  return {
    backend: 'bwrap',
    command: ['true'],
    env: [],
    quarantine: [],
    setEnv: {},
    timeout: 60,
    noOutputTimeout: 30,
    artefacts: [],
    network: false,
    setupAgent: false,
    limits: {},
    ...overrides,
  };
}

export function makeProject(spec: TestSpec, name = 'demo'): ProjectConfig {
  return { name, targets: [{ forge: 'local', branch: { vcs: 'git', url: '/srv/demo.git', branch: 'main' }, options: {} }], test: spec };
}

export interface Sandbox {
  harness: Harness;
  /** The merged tree (a fresh directory per Sandbox). */
  dir: string;
  artefactsDir: string;
  cleanup(): void;
}

export async function sandbox(config: Record<string, unknown> = {}): Promise<Sandbox> {
  const harness = await applyPlugins([{ plugin: bwrapPlugin, config }]);
  const root = mkdtempSync(join(tmpdir(), 'byoci-bwrap-test-'));
  const dir = join(root, 'tree');
  const artefactsDir = join(root, 'artefacts');
  mkdirSync(dir);
  return {
    harness,
    dir,
    artefactsDir,
    cleanup() {
      rmSync(root, { recursive: true, force: true });
      harness.cleanup();
    },
  };
}

export interface Captured {
  result: TestResult | undefined;
  lines: { stream: 'stdout' | 'stderr'; line: string }[];
  stdout: string[];
}

export async function runSpec(
  box: Sandbox,
  spec: TestSpec,
  options: { signal?: AbortSignal; onLine?: (stream: 'stdout' | 'stderr', line: string) => void } = {},
): Promise<Captured> {
  const lines: Captured['lines'] = [];
  const result = await box.harness.hooks.testInContainer.promise({
    project: makeProject(spec),
    spec,
    dir: box.dir,
    runId: box.harness.run.id,
    artefactsDir: box.artefactsDir,
    onLine(stream, line) {
      lines.push({ stream, line });
      options.onLine?.(stream, line);
    },
    signal: options.signal ?? box.harness.run.signal,
  });
  return { result, lines, stdout: lines.filter((l) => l.stream === 'stdout').map((l) => l.line) };
}

/** Parent pid and state of a live process, or undefined when it is gone. */
export function procStat(pid: number): { ppid: number; state: string; comm: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const [state, ppid] = text.slice(close + 2).split(' ');
    return { ppid: Number(ppid), state: state ?? '?', comm };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `root` (host pids). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (!stat || stat.state === 'Z') continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift() as number;
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}
