/** Shared set-up for the Launchpad plugin tests: a local Launchpad and the plugin under the harness. */
import type { Harness } from '../../support/harness.js';
import { applyPlugins, forgeTarget, targetFor } from '../../support/harness.js';
import launchpad from '../../../plugins/launchpad/index.js';
import { formatCredentials, type OAuthCredentials } from '../../../plugins/launchpad/credentials.js';
import { startLaunchpadServer, type LaunchpadServer } from '../../support/launchpad-server.js';
import { testSpec } from '../../support/spec.js';
import type { ProjectConfig, Proposal } from '../../../hooks/index.js';

export const CREDENTIALS: OAuthCredentials = {
  consumerKey: 'byoci-tests',
  consumerSecret: '',
  accessToken: 'AccessTokenForTests1',
  accessSecret: 'AccessSecretForTests2',
};

export const TRUNK = '~brz-team/brz/+git/brz';
export const FORK = '~alice/brz/+git/brz';

export async function startLaunchpad(opts: { trunkUrl?: string; forkUrl?: string } = {}): Promise<LaunchpadServer> {
  const lp = await startLaunchpadServer({ credentials: CREDENTIALS, pageSize: 2 });
  lp.addGitRepository({ owner: 'brz-team', project: 'brz', name: 'brz', httpsUrl: opts.trunkUrl ?? '/srv/none/trunk.git', isDefault: true, trusted: ['reviewer'] });
  lp.setRef(TRUNK, 'master', '1'.repeat(40));
  lp.setRef(TRUNK, 'stable', '2'.repeat(40));
  lp.addGitRepository({ owner: 'alice', project: 'brz', name: 'brz', httpsUrl: opts.forkUrl ?? '/srv/none/fork' });
  lp.addPerson('outsider');
  return lp;
}

export async function harness(lp: LaunchpadServer, config: Record<string, unknown> = {}, options: { buildUrl?: string } = {}): Promise<Harness> {
  return applyPlugins(
    [{ plugin: launchpad, config: { serviceRoot: lp.root, retryDelayMs: 1, ...config }, secrets: { oauth: formatCredentials(CREDENTIALS) } }],
    options,
  );
}

export function project(target: Record<string, unknown> = { forge: 'launchpad', url: 'lp:brz', branch: 'master' }): ProjectConfig {
  const { forge, ...options } = target;
  const built = forge === undefined || forge === 'launchpad' ? forgeTarget(launchpad, options) : targetFor(String(forge), { url: String(options.repo ?? options.url ?? '') }, options);
  return { name: 'brz', targets: [built], test: testSpec() };
}

export async function discover(h: Harness, p: ProjectConfig = project()): Promise<Map<string, Proposal>> {
  const found = await h.hooks.discover.promise([], { project: p, target: p.targets[0]!, signal: h.run.signal });
  return new Map(found.map((x) => [x.id, x]));
}

export function idOf(lp: LaunchpadServer, id: number): string {
  return `launchpad:${lp.proposalLink(id).slice(lp.base.length)}`;
}
