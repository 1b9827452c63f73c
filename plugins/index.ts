/**
 * The registry of built-in plugins. A test checks that it lists every folder of plugins/.
 * Order matters for bail hooks: container backends are tried in this order for `auto`
 * (lxd, then bwrap; host only answers to the explicit `unsafe-host`).
 */
import type { AnyPlugin, PluginRegistry } from '../core/plugin.js';
import bwrap from './bwrap/index.js';
import bzr from './bzr/index.js';
import git from './git/index.js';
import github from './github/index.js';
import host from './host/index.js';
import irc from './irc/index.js';
import launchpad from './launchpad/index.js';
import local from './local/index.js';
import lxd from './lxd/index.js';

const BUILTINS: readonly AnyPlugin[] = [
  // version control
  git,
  bzr,
  // forges
  local,
  launchpad,
  github,
  // container backends, in `auto` order
  lxd,
  bwrap,
  host,
  // reporters
  irc,
];

export const registry: PluginRegistry = new Map(BUILTINS.map((p) => [p.name, p]));

/** Built-ins loaded in every run, whether or not the config names them. */
export const DEFAULT_PLUGINS: readonly string[] = ['git', 'bzr', 'lxd', 'bwrap', 'host'].filter((name) => registry.has(name));
