/**
 * The registry of built-in plugins. A test checks that it lists every folder of plugins/.
 * Order matters for bail hooks: container backends are tried in this order for `auto`.
 */
import type { AnyPlugin, PluginRegistry } from '../core/plugin.js';
import github from './github/index.js';
import host from './host/index.js';
import irc from './irc/index.js';
import launchpad from './launchpad/index.js';

const BUILTINS: readonly AnyPlugin[] = [
  github,
  host,
  irc,
  launchpad,
];

export const registry: PluginRegistry = new Map(BUILTINS.map((p) => [p.name, p]));

/** Built-ins loaded in every run, whether or not the config names them. */
export const DEFAULT_PLUGINS: readonly string[] = ['git', 'bzr', 'lxd', 'bwrap', 'host'].filter((name) => registry.has(name));
