/**
 * The registry of built-in plugins. A test checks that it lists every folder of plugins/,
 * and that each entry's static facts (name, description) match the plugin it loads.
 *
 * Entries are lazy: `load()` imports the plugin (and its libraries) only when a run needs
 * it, so `byoci --help` imports none and a run without a bzr target never loads bzr.
 * Order matters for bail hooks: container backends are tried in this order for `auto`
 * (lxd, then bwrap, then unshare; host only answers to the explicit `unsafe-host`).
 */
import type { AnyPlugin, BuiltinPlugin, ConfigNeeds, PluginRegistry } from '../core/plugin.js';
import { inferLaunchpadVcs } from './launchpad/vcs.js';
import { localTargetVcs } from './local/vcs.js';

const pick = (m: { default: AnyPlugin }): AnyPlugin => m.default;
const usesBackend = (needs: ConfigNeeds, ...names: string[]) => names.some((n) => needs.backends.has(n));

export const BUILTINS: readonly BuiltinPlugin[] = [
  // version control: loaded when a target is of its VCS
  {
    name: 'git',
    description: 'Fetches, merges and pushes git branches (argv only, never forced, none of the slave\'s git config)',
    load: () => import('./git/index.js').then(pick),
    needed: (needs) => needs.vcs.has('git'),
  },
  {
    name: 'bzr',
    description: 'Fetches, merges and pushes Breezy (bzr) branches with brz (argv only, never --overwrite)',
    load: () => import('./bzr/index.js').then(pick),
    needed: (needs) => needs.vcs.has('bzr'),
  },
  // forges: loaded when a target names them
  {
    name: 'local',
    description: 'Merge proposals as YAML files in a directory (the embedded default forge)',
    load: () => import('./local/index.js').then(pick),
    targetVcs: localTargetVcs,
  },
  {
    name: 'launchpad',
    description: 'Launchpad forge: lands approved merge proposals of lp: git repositories and bzr branches',
    load: () => import('./launchpad/index.js').then(pick),
    targetVcs: (target) => (typeof target.url === 'string' ? inferLaunchpadVcs(target.url) : undefined),
  },
  {
    name: 'github',
    description: 'GitHub pull requests: lands triggered PRs approved at their head, reports commit statuses',
    load: () => import('./github/index.js').then(pick),
    targetVcs: () => 'git',
  },
  // container backends, in `auto` order: loaded when a project's test.backend may pick them
  {
    name: 'lxd',
    description: 'Runs the tests in a throw-away unprivileged LXD container (REST API over the unix socket)',
    load: () => import('./lxd/index.js').then(pick),
    commands: [{ name: 'image', description: 'build and list the LXD images the lxd backend starts containers from' }],
    needed: (needs) => usesBackend(needs, 'lxd', 'auto'),
  },
  {
    name: 'bwrap',
    description: 'Runs the tests in a bubblewrap sandbox (fallback when LXD is unavailable)',
    load: () => import('./bwrap/index.js').then(pick),
    needed: (needs) => usesBackend(needs, 'bwrap', 'auto'),
  },
  {
    name: 'unshare',
    description: 'Runs the tests in namespaces made by util-linux unshare (fallback when neither LXD nor bwrap is available)',
    load: () => import('./unshare/index.js').then(pick),
    needed: (needs) => usesBackend(needs, 'unshare', 'auto'),
  },
  {
    name: 'host',
    description: 'Runs the tests directly on the slave: NOT ISOLATED, opt-in with backend: unsafe-host',
    load: () => import('./host/index.js').then(pick),
    needed: (needs) => usesBackend(needs, 'unsafe-host'),
  },
  // reporters: loaded when named under plugins:
  {
    name: 'irc',
    description: 'Announces landings, rejections and errors in IRC channels',
    load: () => import('./irc/index.js').then(pick),
    commands: [{ name: 'irc', description: 'IRC reporting (plugins.irc)' }],
  },
  // remote CI results (the gate hook): loaded when named under plugins:
  {
    name: 'remote-ci',
    description: 'Gates landings on remote CI results (GitHub, Jenkins, Launchpad, JUnit URL); triggers Jenkins jobs',
    load: () => import('./remote-ci/index.js').then(pick),
  },
];

export const registry: PluginRegistry = new Map(BUILTINS.map((p) => [p.name, p]));

/** Built-ins loaded without being named in the config, when the config needs them. */
export const DEFAULT_PLUGINS: readonly string[] = ['git', 'bzr', 'lxd', 'bwrap', 'unshare', 'host'].filter((name) => registry.has(name));

/** Imports every default plugin, needed or not (`secrets check` without a config). */
export async function loadDefaults(): Promise<AnyPlugin[]> {
  return Promise.all(DEFAULT_PLUGINS.map((name) => BUILTINS.find((b) => b.name === name)!.load()));
}
