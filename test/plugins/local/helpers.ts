/** Proposal directories for the local forge tests, and the plugin applied through core's harness. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import localPlugin from '../../../plugins/local/index.js';
import type { Proposal } from '../../../hooks/index.js';
import { tempDir } from '../../support/git-repos.js';
import { applyPlugins, forgeTarget, type Harness } from '../../support/harness.js';
import { testSpec } from '../../support/spec.js';

export const PROJECT = {
  name: 'demo',
  targets: [],
  test: testSpec({ backend: 'bwrap' }),
};

export async function localRun(config: Record<string, unknown>, options: { buildUrl?: string } = {}): Promise<Harness> {
  return applyPlugins([{ plugin: localPlugin, config }], options);
}

/**
 * A suite's temporary directory and the plugin runs its tests make, all removed in the
 * suite's after() (call it inside describe()).
 */
export function localSuite(prefix: string): {
  /** The temporary directory. */
  root: string;
  /** A new `<root>/<name>/proposals` directory, and where its target repository would be. */
  fresh(name: string): { dir: string; target: string };
  /** `localRun`, cleaned up with the suite. */
  run(config: Record<string, unknown>, options?: { buildUrl?: string }): Promise<Harness>;
} {
  const tmp = tempDir(prefix);
  const cleanups: Array<() => void> = [];
  after(() => {
    for (const c of cleanups) c();
    tmp.remove();
  });
  return {
    root: tmp.dir,
    fresh(name) {
      const root = join(tmp.dir, name);
      const dir = join(root, 'proposals');
      mkdirSync(dir, { recursive: true });
      return { dir, target: join(root, 'target.git') };
    },
    async run(config, options = {}) {
      const h = await localRun(config, options);
      cleanups.push(() => h.cleanup());
      return h;
    },
  };
}

export function writeProposal(dir: string, id: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${id}.yaml`);
  writeFileSync(file, text);
  return file;
}

export async function discover(h: Harness, target: Record<string, unknown>): Promise<Proposal[]> {
  return h.hooks.discover.promise([], { project: { ...PROJECT, targets: [] } as never, target: forgeTarget(localPlugin, target, { configDir: h.run.configDir }), signal: h.run.signal });
}

export function approvedYaml(fields: { target?: string; branch?: string; extra?: string; status?: string } = {}): string {
  return `# A proposal written by hand: this comment must survive the bot's edits.
id: "1"
title: Add the frobnicator
source:
  repo: ../source
  branch: feature
target:
  repo: ${fields.target ?? '../target.git'}
  branch: ${fields.branch ?? 'main'}
approved_revision: 0123456789abcdef0123456789abcdef01234567
status: ${fields.status ?? 'Approved'}
commit_message: |
  Add the frobnicator

  It frobs.
description: A longer description.
votes:
  - reviewer: alice
    vote: Approve
comments: []
x-custom: kept as is   # unknown field, left alone
${fields.extra ?? ''}`;
}
