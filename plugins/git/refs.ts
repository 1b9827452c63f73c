/**
 * Checks on the untrusted names a proposal carries (branch names, URLs, revisions) before
 * any of them reaches git. They only ever travel as single argv entries; these checks make
 * sure git reads them as the kind of argument we mean, never as an option.
 */
/** A problem with a name taken from a proposal; the message names the field and value. */
export class RefError extends Error {
  override readonly name = 'RefError';
}

/**
 * Why git refuses `branch` as a branch name, or undefined when it accepts it: git's own
 * rules (git-check-ref-format(1); refs.c `check_refname_format` of `refs/heads/<branch>`,
 * as `git check-ref-format --branch` applies them), in process. A test holds it against
 * real git on a corpus of hostile and random names. A name is taken only exactly as given: one git would print otherwise
 * (not well-formed UTF-16, white space at either end) is refused too, as the check by a
 * git process did (its answer, trimmed, had to equal the name).
 */
export function branchNameProblem(branch: string): string | undefined {
  if (branch.length === 0) return 'is empty';
  if (/[\uD800-\uDFFF]/u.test(branch)) return 'is not well-formed text (a lone surrogate)';
  if (branch !== branch.trim()) return 'starts or ends with white space';
  if (branch.startsWith('-')) return 'starts with "-"';
  if (branch === 'HEAD') return 'is HEAD';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(branch)) return 'contains a character git refuses: a control character, space, ~ ^ : ? * [ or \\';
  if (branch.includes('..')) return 'contains ".."';
  if (branch.includes('@{')) return 'contains "@{"';
  if (branch.endsWith('.')) return 'ends with "."';
  for (const component of branch.split('/')) {
    if (component === '') return 'has an empty component (a leading, trailing or double "/")';
    if (component.startsWith('.')) return 'has a component starting with "."';
    if (component.endsWith('.lock')) return 'has a component ending with ".lock"';
  }
  return undefined;
}

/** A branch name git accepts (`git check-ref-format --branch`'s rules) and that is no option. */
export function checkBranch(what: string, branch: string): string {
  if (branch.length === 0) throw new RefError(`${what} branch name is empty`);
  if (branch.startsWith('-')) throw new RefError(`${what} branch name ${JSON.stringify(branch)} starts with "-"`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(branch)) throw new RefError(`${what} branch name ${JSON.stringify(branch)} contains control characters`);
  const problem = branchNameProblem(branch);
  if (problem !== undefined) throw new RefError(`${what} branch name ${JSON.stringify(branch)} is not a valid git branch name (${problem})`);
  return branch;
}

/** A repository URL or path that git cannot take for an option. */
export function checkUrl(what: string, url: string): string {
  if (url.length === 0) throw new RefError(`${what} repository URL is empty`);
  if (url.startsWith('-')) throw new RefError(`${what} repository URL ${JSON.stringify(url)} starts with "-"`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(url)) throw new RefError(`${what} repository URL ${JSON.stringify(url)} contains control characters`);
  if (/^ext::/i.test(url)) throw new RefError(`${what} repository URL ${JSON.stringify(url)} uses the ext:: transport, which runs commands`);
  // `<transport>::<address>` hands the address to git-remote-<transport> (fd::, ext::, …).
  const helper = /^([A-Za-z0-9][A-Za-z0-9+.-]*)::/.exec(url);
  if (helper) throw new RefError(`${what} repository URL ${JSON.stringify(url)} names the remote helper ${helper[1]}:: (not allowed: use a path or a URL)`);
  return url;
}

/** A revision id as forges record them: 4 to 64 hex digits. */
export function checkRevision(what: string, revision: string): string {
  if (!/^[0-9a-fA-F]{4,64}$/.test(revision)) {
    throw new RefError(`${what} ${JSON.stringify(revision)} is not a git commit id (hex digits)`);
  }
  return revision.toLowerCase();
}

/** The URL without `user:password@`, for messages and comments. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/**
 * The ref a source branch names: `refs/pull/<n>/head` (GitHub keeps one in the base
 * repository for every pull request, also from forks) is taken as it is; anything else is
 * a branch under `refs/heads/`.
 */
export function fetchRefOf(branch: string): string {
  return /^refs\/pull\/\d+\/head$/.test(branch) ? branch : `refs/heads/${branch}`;
}
