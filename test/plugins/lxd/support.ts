/**
 * Shared set-up of the LXD tests: the plugin applied through the real harness with a prefix
 * unique to the test, a merged tree to run in, and a spec builder.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestResult, TestSpec } from '../../../hooks/index.js';
import lxdPlugin, { containerPool } from '../../../plugins/lxd/index.js';
import { applyPlugins, type Harness } from '../../support/harness.js';
import { LXD_SOCKET, LXD_TEST_IMAGE, testPrefix } from '../../support/lxd.js';
import { testSpec } from '../../support/spec.js';

/** The default test spec (test/support/spec.ts) on LXD: `true` in the test image, 120 s. */
export function makeSpec(overrides: Partial<TestSpec> = {}): TestSpec {
  return testSpec({ backend: 'lxd', image: LXD_TEST_IMAGE, timeout: 120, ...overrides });
}

export interface Lines {
  stdout: string[];
  stderr: string[];
  all: Array<[string, string]>;
}

export interface Box {
  harness: Harness;
  prefix: string;
  /** The merged tree handed to the backend (the slave's checkout). */
  dir: string;
  artefactsDir: string;
  root: string;
  /**
   * Runs a test through the plugin, once the plugin's background work of earlier runs is
   * done (so a warm spare, when configured, is ready and earlier containers are gone).
   */
  run(spec: TestSpec, options?: { signal?: AbortSignal; onLine?: (stream: string, line: string) => void; upcoming?: number }): Promise<{ result: TestResult | undefined } & Lines>;
  /** Calls the `prepare` hint as core does before a landing's fetch (`tests` tests follow). */
  prepare(spec: TestSpec, tests: number): Promise<void>;
  /** Waits for the background work (deletions, spare creation); returns the spares' names. */
  settled(): Promise<string[]>;
  /** The staging directory holding the tree of the test that runs now (under the run's workdir). */
  stagedTree(): string;
  /** The plugin's shutdown (deletes the spare, waits for the deletions); the files stay. */
  shutdown(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function lxdBox(config: Record<string, unknown> = {}, tag = 'x'): Promise<Box> {
  const prefix = testPrefix(tag);
  const root = mkdtempSync(join(tmpdir(), 'byoci-lxd-test-'));
  const dir = join(root, 'tree');
  mkdirSync(dir);
  writeFileSync(join(dir, 'hello.txt'), 'from the merged tree\n');
  const artefactsDir = join(root, 'artefacts');
  const harness = await applyPlugins([{ plugin: lxdPlugin, config: { socket: LXD_SOCKET, prefix, ...config } }], { workdir: join(root, 'work') });
  return {
    harness,
    prefix,
    dir,
    artefactsDir,
    root,
    async prepare(spec, tests) {
      await harness.hooks.prepare.promise({ project: { name: 'demo', targets: [], test: spec }, spec, runId: harness.run.id, tests, signal: harness.run.signal });
    },
    async settled() {
      const pool = containerPool(harness.run.id);
      await pool?.settled();
      return pool?.spareNames() ?? [];
    },
    stagedTree() {
      const workdir = harness.run.workdir;
      const staged = readdirSync(workdir)
        .filter((d) => d.startsWith('byoci-lxd-'))
        .map((d) => join(workdir, d, 'tree'))
        .filter((tree) => existsSync(join(tree, 'hello.txt')));
      if (staged.length !== 1) throw new Error(`expected one staged tree in ${workdir}, found ${staged.length}`);
      return staged[0]!;
    },
    async run(spec, options = {}) {
      await containerPool(harness.run.id)?.settled();
      const lines: Lines = { stdout: [], stderr: [], all: [] };
      const result = await harness.hooks.testInContainer.promise({
        project: { name: 'demo', targets: [], test: spec },
        spec,
        dir,
        runId: harness.run.id,
        artefactsDir,
        onLine: (stream, line) => {
          lines[stream].push(line);
          lines.all.push([stream, line]);
          options.onLine?.(stream, line);
        },
        signal: options.signal ?? harness.run.signal,
        ...(options.upcoming !== undefined ? { upcoming: options.upcoming } : {}),
      });
      return { result, ...lines };
    },
    async shutdown() {
      await harness.hooks.shutdown.promise({ reason: 'done' });
    },
    async cleanup() {
      await harness.hooks.shutdown.promise({ reason: 'done' });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The lines the plugin wrote itself (`byoci-lxd: ...`), not the command's. */
export function commandLines(lines: string[]): string[] {
  return lines.filter((l) => !l.startsWith('byoci-lxd: '));
}
