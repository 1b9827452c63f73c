/**
 * Which VCS a Launchpad target is, from its `lp:` URL alone: `+git` means git,
 * `~owner/project/branch` bzr, anything else (a project's default repository) git.
 * No imports: the plugin registry reads it without loading the plugin.
 */
export function inferLaunchpadVcs(url: string): 'git' | 'bzr' {
  const path = url.replace(/^lp:/i, '');
  if (path.includes('/+git/')) return 'git';
  return /^~[^/]+\/[^/]+\/[^/]+$/.test(path) ? 'bzr' : 'git';
}
