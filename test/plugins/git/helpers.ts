/** Shared set-up of the git plugin tests: real repos, the plugin applied through core's harness. */
import gitPlugin from '../../../plugins/git/index.js';
import type { Proposal } from '../../../hooks/index.js';
import { vcsRun, vcsRuns, type VcsRun } from '../../support/vcs-run.js';
import type { Repos } from '../../support/git-repos.js';


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

export { COMMITTER, messageFor, rejectionOf } from '../../support/vcs-run.js';

export type GitRun = VcsRun;

export function gitRun(config: unknown = {}, secrets: Record<string, string> = {}): Promise<GitRun> {
  return vcsRun(gitPlugin, config, secrets);
}

/** Runs made by one suite's tests (`newRun()`), all cleaned up by `cleanup()` in its after(). */
export function gitRuns(): ReturnType<typeof vcsRuns> {
  return vcsRuns(gitPlugin);
}
