/** Shared set-up of the bzr plugin tests: real branches, the plugin applied through core's harness. */
import bzrPlugin from '../../../plugins/bzr/index.js';
import type { Proposal } from '../../../hooks/index.js';
import { vcsRun, vcsRuns, type VcsRun } from '../../support/vcs-run.js';
import type { Branches } from '../../support/bzr-branches.js';

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

export { COMMITTER, messageFor, rejectionOf } from '../../support/vcs-run.js';

export type BzrRun = VcsRun;

export function bzrRun(config: unknown = {}, secrets: Record<string, string> = {}): Promise<BzrRun> {
  return vcsRun(bzrPlugin, config, secrets);
}

/** Runs made by one suite's tests (`newRun()`), all cleaned up by `cleanup()` in its after(). */
export function bzrRuns(): ReturnType<typeof vcsRuns> {
  return vcsRuns(bzrPlugin);
}
