/**
 * A VCS plugin (git, bzr) driven step by step the way core drives it: fetch, merge, push
 * through the real hooks and interceptor, in a workspace of the run.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkout, Proposal } from '../../hooks/index.js';
import { asRejection, type Rejection } from '../../core/errors.js';
import type { AnyPlugin } from '../../core/plugin.js';
import { applyPlugins, type Harness } from './harness.js';

export const COMMITTER = { name: 'Byoci Lander', email: 'byoci@example.invalid' };

/** The message core composes for a landing. */
export function messageFor(proposal: Proposal): string {
  return `${proposal.commitMessage}\n\nMerged from ${proposal.url}\n`;
}

export interface VcsRun {
  harness: Harness;
  workspace: string;
  fetch(proposal: Proposal): Promise<Checkout>;
  merge(proposal: Proposal, checkout: Checkout, message?: string): Promise<{ revision: string; alreadyLanded?: boolean }>;
  push(proposal: Proposal, checkout: Checkout, revision: string): Promise<{ revision: string }>;
  cleanup(): Promise<void>;
}

export async function vcsRun(
  plugin: AnyPlugin,
  config: unknown = {},
  secrets: Record<string, string> = {},
  options: Parameters<typeof applyPlugins>[1] = {},
): Promise<VcsRun> {
  const harness = await applyPlugins([{ plugin, config, secrets }], options);
  const signal = harness.run.signal;
  const workspace = mkdtempSync(join(harness.run.workdir, 'ws-'));
  return {
    harness,
    workspace,
    async fetch(proposal) {
      const checkout = await harness.hooks.fetch.promise({ proposal, workspace, signal });
      if (!checkout) throw new Error(`the ${plugin.name} plugin did not take the proposal`);
      return checkout;
    },
    async merge(proposal, checkout, message = messageFor(proposal)) {
      const result = await harness.hooks.merge.promise({ proposal, checkout, message, committer: COMMITTER, signal });
      if (!result) throw new Error(`the ${plugin.name} plugin did not merge`);
      return result;
    },
    async push(proposal, checkout, revision) {
      const result = await harness.hooks.push.promise({ proposal, checkout, merge: { revision }, signal });
      if (!result) throw new Error(`the ${plugin.name} plugin did not push`);
      return result;
    },
    async cleanup() {
      await harness.hooks.shutdown.promise({ reason: 'done' });
      harness.cleanup();
    },
  };
}

/** Runs made by one suite's tests (`newRun()`), all cleaned up by `cleanup()` in its after(). */
export function vcsRuns(plugin: AnyPlugin): { newRun(): Promise<VcsRun>; cleanup(): Promise<void> } {
  let runs: VcsRun[] = [];
  return {
    newRun: async () => {
      const r = await vcsRun(plugin);
      runs.push(r);
      return r;
    },
    cleanup: async () => {
      for (const r of runs) await r.cleanup();
      runs = [];
    },
  };
}

/** The Rejection a failed hook call carried (through core's PluginError), or a failure. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Rejection> {
  try {
    await promise;
  } catch (error) {
    const rejection = asRejection(error);
    if (rejection) return rejection;
    throw error;
  }
  throw new Error('expected a Rejection, the step succeeded');
}
