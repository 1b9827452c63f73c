/**
 * Whether the target branch's protection lets the bot push its merge commit (classic
 * branch protection, as GitHub's REST docs describe it). GitHub refuses such a push with
 * `GH006: Protected branch update failed`; found here it is one `verify` problem instead
 * of a tested-then-refused landing of every triggered pull request on every run.
 */
import type { Problem } from '../../hooks/index.js';
import type { GithubClient } from './client.js';
import type { GithubTarget } from './config.js';

export interface ProtectionCheck {
  where: string;
  target: GithubTarget;
  botLogin: string;
  /** The token's owner is an admin of the repository (admins bypass unless enforce_admins). */
  admin: boolean;
  signal?: AbortSignal;
}

function status(error: unknown): number | undefined {
  return (error as { status?: number }).status;
}

export async function protectionProblems(gh: GithubClient, c: ProtectionCheck): Promise<{ problem?: Problem; notes: string[] }> {
  const { owner, name, branch, repo } = { owner: c.target.owner, name: c.target.name, branch: c.target.branch, repo: c.target.repo };
  const request = { signal: c.signal };
  let isProtected: boolean;
  try {
    isProtected = (await gh.rest.repos.getBranch({ owner, repo: name, branch, request })).data.protected;
  } catch (error) {
    if (status(error) === 404) return { notes: [`${repo} has no branch ${branch} yet`] };
    throw error;
  }
  if (!isProtected) return { notes: [] };
  let p;
  try {
    p = (await gh.rest.repos.getBranchProtection({ owner, repo: name, branch, request })).data;
  } catch (error) {
    if (status(error) === 403 || status(error) === 404) {
      return {
        notes: [
          `${repo}:${branch} is protected and the token cannot read its rules (that needs admin rights): ` +
            'if they refuse the bot\'s push (GH006), every landing fails after its tests',
        ],
      };
    }
    throw error;
  }
  const bypass = c.admin && p.enforce_admins?.enabled !== true;
  const reasons: string[] = [];
  if (!bypass) {
    const reviews = p.required_pull_request_reviews;
    const allowed = (reviews as { bypass_pull_request_allowances?: { users?: { login: string }[] } } | undefined)?.bypass_pull_request_allowances?.users ?? [];
    if (reviews && !allowed.some((u) => u.login === c.botLogin)) reasons.push('changes must be made through a pull request (required reviews)');
    if (p.restrictions && !p.restrictions.users.some((u) => u.login === c.botLogin)) {
      reasons.push(`only ${p.restrictions.users.map((u) => u.login).join(', ') || 'listed teams and apps'} may push`);
    }
    const contexts = p.required_status_checks?.contexts ?? [];
    if (contexts.length) reasons.push(`required status checks (${contexts.join(', ')}) must pass on the pushed commit, and byoci's merge commit has none before it is pushed`);
    if (p.required_linear_history?.enabled) reasons.push('linear history is required, and byoci pushes merge commits');
    if (p.required_signatures?.enabled) reasons.push('signed commits are required, and byoci does not sign its merge commits');
  }
  if (!reasons.length) return { notes: [`${repo}:${branch} is protected; its rules let ${c.botLogin} push`] };
  return {
    notes: [],
    problem: {
      source: 'github',
      message: `${c.where}: the protection of ${repo}:${branch} refuses ${c.botLogin}'s push (GH006: Protected branch update failed): ${reasons.join('; ')}`,
      hint: `let ${c.botLogin} bypass these rules (pull request bypass allowances, push restrictions), or make it an admin with "Do not allow bypassing" off`,
    },
  };
}
