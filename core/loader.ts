/**
 * Which plugins a run loads, and loading plugins named by path or npm package.
 *
 * A run loads: every plugin named under `plugins:` in the config (a built-in name, a path
 * starting with `.` or `/`, or an npm package name), the forge of every configured target,
 * and those default plugins the config needs (`BuiltinPlugin.needed`: the VCS of its
 * targets, the backends of its projects). Built-ins are imported only then.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConfigProblem } from './errors.js';
import { PLUGIN_API_VERSION, SUPPORTED_API_VERSIONS, isBuiltinEntry, type AnyPlugin, type ConfigNeeds, type PluginRegistry, type RegistryEntry } from './plugin.js';
import type { Settings } from './config-schema.js';
import { closest, didYouMean } from './zod-issues.js';

/** The forges among the registry's entries (those that tell a target's VCS), else every entry. */
function forgeNames(registry: PluginRegistry): string[] {
  const forges = [...registry].filter(([, entry]) => isBuiltinEntry(entry) ? entry.targetVcs !== undefined : entry.forge !== undefined).map(([name]) => name);
  return forges.length ? forges : [...registry.keys()];
}

export interface PluginToLoad {
  plugin: AnyPlugin;
  /** The `plugins:` key its config is read from (its name for built-ins). */
  configKey: string;
  rawConfig: unknown;
  /** Where it came from: the registry, a path, or an npm package. */
  source: 'built-in' | 'path' | 'package';
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier);
}

function looksLikePlugin(value: unknown): value is AnyPlugin {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AnyPlugin).name === 'string' &&
    typeof (value as AnyPlugin).apply === 'function'
  );
}

/**
 * Why core cannot load a plugin written against another plugin API, or undefined. Plugins
 * loaded by path or package must declare `apiVersion` (built-ins are always current).
 */
export function apiVersionProblem(plugin: AnyPlugin): string | undefined {
  const declared = plugin.apiVersion;
  const supported = SUPPORTED_API_VERSIONS.join(', ');
  if (declared === undefined) {
    return `plugin ${plugin.name} declares no apiVersion: add apiVersion: ${PLUGIN_API_VERSION} (PLUGIN_API_VERSION of the byoci it is written for) to its definePlugin({...})`;
  }
  if (!SUPPORTED_API_VERSIONS.includes(declared)) {
    return `plugin ${plugin.name} is written for plugin API version ${JSON.stringify(declared)}, this byoci supports version ${supported}: use a release of the plugin made for it, or a byoci that supports version ${JSON.stringify(declared)}`;
  }
  return undefined;
}

async function importPlugin(specifier: string, configDir: string): Promise<AnyPlugin> {
  let url: string;
  if (isPath(specifier)) {
    url = pathToFileURL(resolve(configDir, specifier)).href;
  } else {
    const require = createRequire(join(configDir, 'byoci-config.js'));
    try {
      url = pathToFileURL(require.resolve(specifier)).href;
    } catch {
      url = specifier; // let import() resolve it from byoci's own dependencies
    }
  }
  const module = (await import(url)) as { default?: unknown; plugin?: unknown };
  const candidate = module.default ?? module.plugin;
  if (!looksLikePlugin(candidate)) {
    throw new Error('its default export is not a plugin (use definePlugin from byoci core)');
  }
  return candidate;
}

/** Imports a plugin named by path or package and checks its API version. */
async function importNamed(key: string, configDir: string): Promise<{ plugin: AnyPlugin } | { problem: ConfigProblem }> {
  if (!isPath(key) && !/^(@[\w.-]+\/)?[\w.-]+$/.test(key)) {
    return { problem: { path: `plugins.${key}`, message: 'not a built-in plugin, a path or an npm package name', code: 'plugin-unknown' } };
  }
  let plugin: AnyPlugin;
  try {
    plugin = await importPlugin(key, configDir);
  } catch (error) {
    if (notFound(error, key, configDir)) {
      const message = isPath(key) ? `no plugin file ${resolve(configDir, key)}` : `no built-in plugin, file or installed package named ${JSON.stringify(key)} (packages are looked up from ${configDir})`;
      return { problem: { path: `plugins.${key}`, message, code: 'plugin-unknown' } };
    }
    return { problem: { path: `plugins.${key}`, message: `cannot load plugin: ${(error as Error).message}`, code: 'plugin-load' } };
  }
  const mismatch = apiVersionProblem(plugin);
  return mismatch ? { problem: { path: `plugins.${key}`, message: mismatch, code: 'plugin-api-version' } } : { plugin };
}

/** Whether importing plugin `key` failed because there is no such file or package (not an error inside it). */
function notFound(error: unknown, key: string, configDir: string): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'ERR_MODULE_NOT_FOUND') return false;
  return isPath(key) ? !existsSync(resolve(configDir, key)) : (error as Error).message.includes(`'${key}'`);
}

/**
 * The plugins named under `plugins:` by path or npm package (every key that is not a
 * built-in), imported and checked, loading no built-in: where the CLI looks for the
 * commands of third-party plugins.
 */
export async function loadNamedPlugins(settings: Settings, configDir: string, registry: PluginRegistry): Promise<{ plugins: PluginToLoad[]; problems: ConfigProblem[] }> {
  const plugins: PluginToLoad[] = [];
  const problems: ConfigProblem[] = [];
  for (const [key, rawConfig] of Object.entries(settings.plugins)) {
    if (registry.has(key)) continue;
    const named = await importNamed(key, configDir);
    if ('problem' in named) problems.push(named.problem);
    else plugins.push({ plugin: named.plugin, configKey: key, rawConfig: rawConfig ?? undefined, source: isPath(key) ? 'path' : 'package' });
  }
  return { plugins, problems };
}

/** Needs a run adds to its config's (e.g. `byoci test --vcs bzr`). */
export interface ExtraNeeds {
  vcs?: readonly string[];
  backends?: readonly string[];
}

/** The VCS of every target and the backend of every project, from the config alone. */
export function configNeeds(settings: Settings, configDir: string, registry: PluginRegistry, extra: ExtraNeeds = {}): ConfigNeeds {
  const vcs = new Set<string>(extra.vcs ?? []);
  const backends = new Set<string>(extra.backends ?? []);
  for (const project of Object.values(settings.projects)) {
    backends.add(project.test.backend);
    for (const target of project.targets) {
      const entry = registry.get(target.forge);
      const declared = typeof target.vcs === 'string' ? target.vcs : undefined;
      const told = entry && isBuiltinEntry(entry) ? entry.targetVcs?.(target, configDir) : undefined;
      vcs.add(declared ?? told ?? 'git');
    }
  }
  return { vcs, backends };
}

async function loadEntry(entry: RegistryEntry): Promise<AnyPlugin> {
  return isBuiltinEntry(entry) ? entry.load() : entry;
}

/** Resolves the plugins of a run; problems name the config key that failed. */
export async function resolvePlugins(
  settings: Settings,
  configDir: string,
  registry: PluginRegistry,
  defaults: readonly string[],
  extra: ExtraNeeds = {},
): Promise<{ plugins: PluginToLoad[]; problems: ConfigProblem[]; needs: ConfigNeeds }> {
  const problems: ConfigProblem[] = [];
  const wanted = new Map<string, unknown>();
  const needs = configNeeds(settings, configDir, registry, extra);
  for (const name of defaults) {
    const entry = registry.get(name);
    if (entry && isBuiltinEntry(entry) && entry.needed && !entry.needed(needs)) continue;
    wanted.set(name, undefined);
  }
  for (const [key, value] of Object.entries(settings.plugins)) wanted.set(key, value ?? undefined);
  for (const [projectName, project] of Object.entries(settings.projects)) {
    project.targets.forEach((target, index) => {
      if (!wanted.has(target.forge)) {
        if (registry.has(target.forge)) wanted.set(target.forge, undefined);
        else {
          problems.push({
            path: `projects.${projectName}.targets.${index}.forge`,
            message: `no forge plugin named ${JSON.stringify(target.forge)}${didYouMean(target.forge, forgeNames(registry))} (built-in forges: ${forgeNames(registry).join(', ')})`,
            code: 'plugin-unknown',
          });
        }
      }
    });
  }

  const plugins: PluginToLoad[] = [];
  const seen = new Map<string, string>();
  for (const [key, rawConfig] of wanted) {
    const entry = registry.get(key);
    let plugin: AnyPlugin | undefined;
    if (entry) {
      try {
        plugin = await loadEntry(entry);
      } catch (error) {
        problems.push({ path: `plugins.${key}`, message: `cannot load built-in plugin: ${(error as Error).message}`, code: 'plugin-load' });
        continue;
      }
    } else {
      const named = await importNamed(key, configDir);
      if ('problem' in named) {
        // a mistyped built-in (`ircc`): name it, before the importer's own words
        const guess = named.problem.code === 'plugin-unknown' && !isPath(key) ? closest(key, registry.keys()) : undefined;
        problems.push(guess === undefined ? named.problem : { ...named.problem, message: `no built-in plugin, file or installed package named ${JSON.stringify(key)} (did you mean ${guess}?)` });
        continue;
      }
      plugin = named.plugin;
    }
    const previous = seen.get(plugin.name);
    if (previous !== undefined) {
      problems.push({ path: `plugins.${key}`, message: `plugin name ${plugin.name} is already used by ${previous}` });
      continue;
    }
    seen.set(plugin.name, key);
    plugins.push({ plugin, configKey: key, rawConfig, source: entry ? 'built-in' : isPath(key) ? 'path' : 'package' });
  }
  return { plugins, problems, needs };
}
