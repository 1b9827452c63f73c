/**
 * Checks on the untrusted names a bzr proposal carries (branch URLs, revision ids) before
 * brz sees them. They travel as single argv entries, after `--` or glued to their option
 * (`--directory=<url>`, `--revision=revid:<id>`), so brz can never read them as options.
 */

/** A problem with a name taken from a proposal; the message names the field and value. */
export class NameError extends Error {
  override readonly name = 'NameError';
}

/** A branch URL or path that brz cannot take for an option. */
export function checkLocation(what: string, url: string): string {
  if (url.length === 0) throw new NameError(`${what} branch URL is empty`);
  if (url.startsWith('-')) throw new NameError(`${what} branch URL ${JSON.stringify(url)} starts with "-"`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(url)) throw new NameError(`${what} branch URL ${JSON.stringify(url)} contains control characters`);
  return url;
}

/**
 * A bzr revision id as forges record them (`reviewed_revid`): printable ASCII without
 * spaces, e.g. `jelmer@jelmer.uk-20231012154512-abc123` or `git-v1:<sha>`.
 */
export function checkRevid(what: string, revid: string): string {
  if (!/^[\x21-\x7e]{1,255}$/.test(revid) || revid === 'null:') {
    throw new NameError(`${what} ${JSON.stringify(revid)} is not a bzr revision id`);
  }
  return revid;
}

/** The URL without `user:password@`, for messages and comments. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
