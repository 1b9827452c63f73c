/** Shared set-up of the git plugin tests: real repos, the plugin applied through core's harness. */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import gitPlugin from '../../../plugins/git/index.js';
import type { Checkout, Proposal } from '../../../hooks/index.js';
import { asRejection, type Rejection } from '../../../core/errors.js';
import { applyPlugins, type Harness } from '../../support/harness.js';
import type { Repos } from '../../support/git-repos.js';

export const COMMITTER = { name: 'Byoci Lander', email: 'byoci@example.invalid' };

export function proposalFor(repos: Repos, branch: string, approvedRevision: string | undefined, extra: Partial<Proposal> = {}): Proposal {
  return {
    id: 'local:1',
    forge: 'local',
    url: 'https://forge.example.invalid/proposals/1',
    title: 'Add a feature',
    source: { vcs: 'git', url: repos.source, branch },
    target: { vcs: 'git', url: repos.target, branch: 'main' },
    approvedRevision,
    commitMessage: 'Add a feature',
    votes: [],
    readiness: { state: 'ready' },
    ...extra,
  };
}

export interface GitRun {
  harness: Harness;
  workspace: string;
  fetch(proposal: Proposal): Promise<Checkout>;
  merge(proposal: Proposal, checkout: Checkout, message?: string): Promise<{ revision: string; alreadyLanded?: boolean }>;
  push(proposal: Proposal, checkout: Checkout, revision: string): Promise<{ revision: string }>;
  cleanup(): Promise<void>;
}

export function messageFor(proposal: Proposal): string {
  return `${proposal.commitMessage}\n\nMerged from ${proposal.url}\n`;
}

export async function gitRun(config: unknown = {}, secrets: Record<string, string> = {}): Promise<GitRun> {
  const harness = await applyPlugins([{ plugin: gitPlugin, config, secrets }]);
  const signal = harness.run.signal;
  const workspace = mkdtempSync(join(harness.run.workdir, 'ws-'));
  return {
    harness,
    workspace,
    async fetch(proposal) {
      const checkout = await harness.hooks.fetch.promise({ proposal, workspace, signal });
      if (!checkout) throw new Error('the git plugin did not take the proposal');
      return checkout;
    },
    async merge(proposal, checkout, message = messageFor(proposal)) {
      const result = await harness.hooks.merge.promise({ proposal, checkout, message, committer: COMMITTER, signal });
      if (!result) throw new Error('the git plugin did not merge');
      return result;
    },
    async push(proposal, checkout, revision) {
      const result = await harness.hooks.push.promise({ proposal, checkout, merge: { revision }, signal });
      if (!result) throw new Error('the git plugin did not push');
      return result;
    },
    async cleanup() {
      await harness.hooks.shutdown.promise({ reason: 'done' });
      harness.cleanup();
    },
  };
}

/** Runs made by one suite's tests (`newRun()`), all cleaned up by `cleanup()` in its after(). */
export function gitRuns(): { newRun(): Promise<GitRun>; cleanup(): Promise<void> } {
  let runs: GitRun[] = [];
  return {
    newRun: async () => {
      const r = await gitRun();
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
