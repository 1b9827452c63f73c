/**
 * Shared set-up of the github plugin tests: real git repositories behind a local GitHub.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitIn, branchWith, makeRepos, type Repos } from '../../support/git-repos.js';
import { startGithubServer, type GithubServer } from '../../support/github-server.js';
import { applyPlugins, forgeTarget, type Harness } from '../../support/harness.js';
import { testSpec } from '../../support/spec.js';
import github from '../../../plugins/github/index.js';
import type { Proposal, ProjectConfig, Target } from '../../../hooks/index.js';

export const REPO = 'acme/widget';

export interface World {
  repos: Repos;
  gh: GithubServer;
  /** Pushes a branch with `files` to the GitHub repository and opens a pull request from it. */
  openPull(branch: string, files: Record<string, string>, opts?: { user?: string; title?: string; body?: string; draft?: boolean; forkDeleted?: boolean }): Promise<{ number: number; head: string }>;
  /** Adds a commit to the branch of an open pull request (a new head). */
  pushMore(branch: string, files: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

export async function makeWorld(): Promise<World> {
  const repos = await makeRepos();
  const gh = await startGithubServer();
  gh.addRepo({ owner: 'acme', name: 'widget', bare: repos.target });
  gh.setPermission(REPO, 'carol', 'write');
  gh.setPermission(REPO, 'dave', 'maintain');
  gh.setPermission(REPO, 'alice', 'read');
  gh.setPermission(REPO, 'mallory', 'triage');
  return {
    repos,
    gh,
    async openPull(branch, files, opts = {}) {
      const head = await branchWith(repos, branch, files, opts.title ?? `Change ${branch}`);
      await gitIn(repos.source, ['push', '--quiet', 'origin', `${branch}:${branch}`]);
      const number = gh.openPull(REPO, {
        head: branch,
        user: opts.user ?? 'alice',
        title: opts.title ?? `Change ${branch}`,
        body: opts.body ?? `Body of ${branch}`,
        draft: opts.draft ?? false,
        forkDeleted: opts.forkDeleted ?? false,
      });
      return { number, head };
    },
    async pushMore(branch, files) {
      await gitIn(repos.source, ['checkout', '--quiet', branch]);
      for (const [path, content] of Object.entries(files)) {
        writeFileSync(join(repos.source, path), content);
      }
      await gitIn(repos.source, ['add', '--all']);
      await gitIn(repos.source, ['commit', '--quiet', '-m', `More on ${branch}`]);
      await gitIn(repos.source, ['push', '--quiet', 'origin', `${branch}:${branch}`]);
      return gitIn(repos.source, ['rev-parse', 'HEAD']);
    },
    async close() {
      await gh.close();
      repos.remove();
    },
  };
}

export function targetOf(world: World, extra: Record<string, unknown> = {}): Target {
  return forgeTarget(github, { repo: REPO, branch: 'main', url: world.repos.target, ...extra }, { config: { baseUrl: world.gh.url } });
}

export function projectOf(world: World, extra: Record<string, unknown> = {}): ProjectConfig {
  return {
    name: 'widget',
    targets: [targetOf(world, extra)],
    test: testSpec(),
  };
}

/** The github plugin alone on real hooks, pointed at the local GitHub. */
export async function githubHarness(world: World, config: Record<string, unknown> = {}, opts: { buildUrl?: string } = {}): Promise<Harness> {
  return applyPlugins(
    [{ plugin: github, config: { baseUrl: world.gh.url, ...config }, secrets: { token: world.gh.token } }],
    opts,
  );
}

export async function discover(h: Harness, world: World, extra: Record<string, unknown> = {}): Promise<Proposal[]> {
  const project = projectOf(world, extra);
  return h.hooks.discover.promise([], { project, target: project.targets[0]!, signal: h.run.signal });
}

export function only(proposals: Proposal[], number: number): Proposal {
  const p = proposals.find((x) => x.id === `github:${REPO}#${number}`);
  if (!p) throw new Error(`pull request #${number} not discovered (found ${proposals.map((x) => x.id).join(', ') || 'none'})`);
  return p;
}
