/** Shared set-up of the bzr plugin tests: real branches, the plugin applied through core's harness. */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import bzrPlugin from '../../../plugins/bzr/index.js';
import type { Checkout, Proposal } from '../../../hooks/index.js';
import { asRejection, type Rejection } from '../../../core/errors.js';
import { applyPlugins, type Harness } from '../../support/harness.js';
import type { Branches } from '../../support/bzr-branches.js';

export const COMMITTER = { name: 'Byoci Lander', email: 'byoci@example.invalid' };
export const URL = 'https://code.launchpad.example.invalid/~alice/brz/feature/+merge/1';

export function proposalFor(b: Branches, source: string, approvedRevision: string | undefined, extra: Partial<Proposal> = {}): Proposal {
  return {
    id: 'launchpad:1',
    forge: 'launchpad',
    url: URL,
    title: 'Add a feature',
    source: { vcs: 'bzr', url: source, branch: '' },
    target: { vcs: 'bzr', url: b.trunk, branch: '' },
    approvedRevision,
    commitMessage: 'Add a feature',
    votes: [],
    readiness: { state: 'ready' },
    ...extra,
  };
}

export function messageFor(proposal: Proposal): string {
  return `${proposal.commitMessage}\n\nMerged from ${proposal.url}\n`;
}

export interface BzrRun {
  harness: Harness;
  workspace: string;
  fetch(proposal: Proposal): Promise<Checkout>;
  merge(proposal: Proposal, checkout: Checkout, message?: string): Promise<{ revision: string; alreadyLanded?: boolean }>;
  push(proposal: Proposal, checkout: Checkout, revision: string): Promise<{ revision: string }>;
  cleanup(): Promise<void>;
}

export async function bzrRun(config: unknown = {}, secrets: Record<string, string> = {}): Promise<BzrRun> {
  const harness = await applyPlugins([{ plugin: bzrPlugin, config, secrets }]);
  const signal = harness.run.signal;
  const workspace = mkdtempSync(join(harness.run.workdir, 'ws-'));
  return {
    harness,
    workspace,
    async fetch(proposal) {
      const checkout = await harness.hooks.fetch.promise({ proposal, workspace, signal });
      if (!checkout) throw new Error('the bzr plugin did not take the proposal');
      return checkout;
    },
    async merge(proposal, checkout, message = messageFor(proposal)) {
      const result = await harness.hooks.merge.promise({ proposal, checkout, message, committer: COMMITTER, signal });
      if (!result) throw new Error('the bzr plugin did not merge');
      return result;
    },
    async push(proposal, checkout, revision) {
      const result = await harness.hooks.push.promise({ proposal, checkout, merge: { revision }, signal });
      if (!result) throw new Error('the bzr plugin did not push');
      return result;
    },
    async cleanup() {
      await harness.hooks.shutdown.promise({ reason: 'done' });
      harness.cleanup();
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
