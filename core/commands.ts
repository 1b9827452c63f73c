/**
 * CLI commands contributed by plugins (`commands` of definePlugin): reading and checking
 * the declarations, and building what a handler receives — the plugin's section validated
 * by its schema (problems with file and line), its declared secrets from the slave's
 * stores (registered for redaction), a scoped logger that redacts, and the global flags.
 * The CLI (cli/plugin-commands.ts) turns the declarations into commander commands.
 */
import { isAbsolute, resolve } from 'node:path';
import { SecretStoreError } from '../secrets/errors.js';
import { lookupSecret } from '../secrets/lookup.js';
import type { Redactor } from '../secrets/redact.js';
import type { SecretStore } from '../secrets/types.js';
import type { LoadedConfig } from './config.js';
import { ConfigError, UsageError, type ConfigProblem } from './errors.js';
import type { Logger } from './logger.js';
import { pluginSecrets, validatePluginConfig } from './plugin-api.js';
import {
  COMMAND_HELPERS,
  type AnyPlugin,
  type CommandContext,
  type PluginCommand,
  type PluginCommandGroup,
} from './plugin.js';

/** Options every command already has (the global ones): a plugin command may not redefine them. */
export const GLOBAL_OPTION_NAMES: ReadonlySet<string> = new Set(['config', 'option', 'namespace', 'json', 'dry-run', 'keep', 'verbose', 'help', 'version']);

const WORD = /^[a-z][a-z0-9-]*$/;

/** One runnable command with the words that call it (`['image', 'build']`). */
export interface CommandLeaf {
  readonly words: readonly string[];
  readonly command: PluginCommand;
}

/**
 * The commands a plugin declares, checked: one-word names, no duplicates, groups holding
 * commands, optional arguments after required ones, a variadic one last, no option named
 * like a global one. Problems name the plugin and the command.
 */
export function declaredCommands(plugin: AnyPlugin): { commands: readonly (PluginCommand | PluginCommandGroup)[]; problems: string[] } {
  if (!plugin.commands) return { commands: [], problems: [] };
  let commands: readonly (PluginCommand | PluginCommandGroup)[];
  try {
    commands = plugin.commands(COMMAND_HELPERS as never);
  } catch (error) {
    return { commands: [], problems: [`plugin ${plugin.name}: its commands() threw: ${(error as Error).message}`] };
  }
  const problems: string[] = [];
  if (!Array.isArray(commands)) return { commands: [], problems: [`plugin ${plugin.name}: commands() must return a list of command() and group() results`] };
  const checkLeaf = (leaf: PluginCommand, path: string) => {
    if (typeof leaf.run !== 'function') problems.push(`plugin ${plugin.name}: command ${path} has no run()`);
    let optionalSeen = false;
    leaf.arguments.forEach((arg, index) => {
      if (!WORD.test(arg.name)) problems.push(`plugin ${plugin.name}: command ${path}: argument name ${JSON.stringify(arg.name)} must be lower-case letters, digits and dashes`);
      if (arg.variadic && index !== leaf.arguments.length - 1) problems.push(`plugin ${plugin.name}: command ${path}: only the last argument may be variadic (${arg.name} is not last)`);
      if (optionalSeen && !arg.optional && !arg.variadic) problems.push(`plugin ${plugin.name}: command ${path}: required argument ${arg.name} comes after an optional one`);
      if (arg.optional) optionalSeen = true;
    });
    for (const name of Object.keys(leaf.options)) {
      if (!WORD.test(name)) problems.push(`plugin ${plugin.name}: command ${path}: option name ${JSON.stringify(name)} must be lower-case letters, digits and dashes`);
      else if (GLOBAL_OPTION_NAMES.has(name)) problems.push(`plugin ${plugin.name}: command ${path}: option --${name} is a global option of byoci`);
    }
    if (leaf.dryRun !== undefined && leaf.dryRun !== 'supported' && leaf.dryRun !== 'read-only') {
      problems.push(`plugin ${plugin.name}: command ${path}: dryRun must be 'supported' or 'read-only'`);
    }
  };
  const names = new Set<string>();
  for (const entry of commands) {
    if (!entry || (entry.kind !== 'command' && entry.kind !== 'group')) {
      problems.push(`plugin ${plugin.name}: commands() returned something that is neither command() nor group()`);
      continue;
    }
    if (!WORD.test(entry.name)) problems.push(`plugin ${plugin.name}: command name ${JSON.stringify(entry.name)} must be one word of lower-case letters, digits and dashes`);
    if (names.has(entry.name)) problems.push(`plugin ${plugin.name}: command ${entry.name} is declared twice`);
    names.add(entry.name);
    if (entry.kind === 'command') {
      checkLeaf(entry, entry.name);
      continue;
    }
    if (entry.commands.length === 0) problems.push(`plugin ${plugin.name}: group ${entry.name} holds no command`);
    const subNames = new Set<string>();
    for (const leaf of entry.commands) {
      const path = `${entry.name} ${leaf.name}`;
      if (leaf?.kind !== 'command') {
        problems.push(`plugin ${plugin.name}: group ${entry.name} holds something that is not a command()`);
        continue;
      }
      if (!WORD.test(leaf.name)) problems.push(`plugin ${plugin.name}: command name ${JSON.stringify(path)} must be words of lower-case letters, digits and dashes`);
      if (subNames.has(leaf.name)) problems.push(`plugin ${plugin.name}: command ${path} is declared twice`);
      subNames.add(leaf.name);
      checkLeaf(leaf, path);
    }
  }
  return { commands: problems.length ? [] : commands, problems };
}

/** Every runnable command of a declaration list, with the words that call it. */
export function commandLeaves(commands: readonly (PluginCommand | PluginCommandGroup)[]): CommandLeaf[] {
  return commands.flatMap((entry) =>
    entry.kind === 'command' ? [{ words: [entry.name], command: entry }] : entry.commands.map((command) => ({ words: [entry.name, command.name], command })),
  );
}

/**
 * Looks up a plugin's declared secrets in the stores (in order). A missing secret is left
 * out (the accessor's `require` names it); a store failing for a required secret is a
 * problem, for an optional one a note (it must not stop everything).
 */
export async function lookupPluginSecrets(
  plugin: AnyPlugin,
  stores: readonly SecretStore[],
  log: Logger,
): Promise<{ values: Map<string, string>; missing: { key: string; description: string }[]; failed: string[]; notes: string[] }> {
  const values = new Map<string, string>();
  const missing: { key: string; description: string }[] = [];
  const failed: string[] = [];
  const notes: string[] = [];
  for (const [name, declaration] of Object.entries(plugin.secrets ?? {}) as [string, { required?: boolean; description: string }][]) {
    const key = `${plugin.name}/${name}`;
    let found: string | undefined;
    try {
      found = (await lookupSecret(stores, key)).value;
    } catch (error) {
      const message = `secret ${key}: ${(error as Error).message}`;
      if (declaration.required === false) {
        // A keyring in the default order only (no secrets.order) that fails is a machine
        // without a Secret Service: said by doctor's note, not warned on every command.
        const byDefault = stores.some((s) => s.byDefault && error instanceof SecretStoreError && error.store === s.name);
        if (byDefault) log.debug('optional secret unavailable (store of the default secrets.order)', { key, error: (error as Error).message });
        else log.warn('optional secret unavailable', { key, error: (error as Error).message });
        notes.push(`${message} (optional: not used${byDefault ? '; set secrets.order to name the stores in use' : ''})`);
      } else failed.push(message);
      continue;
    }
    if (found !== undefined) values.set(name, found);
    else if (declaration.required !== false) missing.push({ key, description: declaration.description });
  }
  return { values, missing, failed, notes };
}

export interface CommandContextParts {
  plugin: AnyPlugin;
  /** The `plugins:` key the plugin's section is read from (its name for built-ins). */
  configKey: string;
  /** The words calling the command (`irc say`), for messages. */
  words: readonly string[];
  config: LoadedConfig;
  stores: readonly SecretStore[];
  log: Logger;
  redactor: Redactor;
  dryRun: boolean;
  json: boolean;
  signal: AbortSignal;
  args: Readonly<Record<string, string | string[] | undefined>>;
  options: Readonly<Record<string, string | boolean | undefined>>;
  print(line: string): void;
  printJson(value: unknown): void;
}

/**
 * What a plugin command's handler receives. Throws ConfigError (file and line) when the
 * plugin's section is invalid or absent while its schema needs settings, or when a store
 * fails for a required secret.
 */
export async function commandContext(parts: CommandContextParts): Promise<CommandContext> {
  const { plugin, config, configKey } = parts;
  const raw = (config.settings.plugins as Record<string, unknown>)[configKey];
  const validated = validatePluginConfig(plugin, raw);
  // Problems carry `plugins.<name>.<option...>`: locate them under the config key (a path may hold dots).
  const prefix = `plugins.${plugin.name}`;
  const locate = (p: ConfigProblem): ConfigProblem => {
    const rest = p.path?.startsWith(`${prefix}.`) ? p.path.slice(prefix.length + 1).split('.') : [];
    return { ...config.locate(['plugins', configKey, ...rest]), ...p, path: ['plugins', configKey, ...rest].join('.') };
  };
  if (validated.problems.length) {
    if (raw === undefined) {
      const needs = validated.problems.map((p) => `${p.path?.replace(`plugins.${plugin.name}`, `plugins.${configKey}`)}: ${p.message}`).join('; ');
      throw new ConfigError([{ ...config.locate(['plugins']), path: `plugins.${configKey}`, message: `not configured: \`byoci ${parts.words.join(' ')}\` needs this section (${needs})` }]);
    }
    throw new ConfigError(validated.problems.map(locate));
  }
  const secrets = await lookupPluginSecrets(plugin, parts.stores, parts.log);
  if (secrets.failed.length) throw new ConfigError(secrets.failed.map((message) => ({ message })));
  for (const value of secrets.values.values()) parts.redactor.add(value);
  const redactor = parts.redactor;
  return Object.freeze({
    args: parts.args,
    options: parts.options,
    config: validated.config,
    core: Object.freeze({ file: config.file, configDir: config.configDir, namespace: config.namespace, settings: config.settings as Readonly<Record<string, unknown>> }),
    secrets: pluginSecrets(plugin.name, secrets.values, parts.stores.map((s) => s.name)),
    log: parts.log.child(plugin.name),
    dryRun: parts.dryRun,
    json: parts.json,
    signal: parts.signal,
    redact: (text: string) => redactor.redact(text),
    print: parts.print,
    printJson: parts.printJson,
    resolvePath: (path: string) => (isAbsolute(path) ? path : resolve(config.configDir, path)),
  });
}

/**
 * Runs one plugin command: refuses `--dry-run` for a command that does not declare it,
 * builds the context (`commandContext`) and returns the handler's exit code (0 when it
 * returns none). Errors propagate (the CLI and the kit turn them into exit codes).
 */
export async function runPluginCommand(command: PluginCommand, parts: CommandContextParts): Promise<number> {
  if (parts.dryRun && !command.dryRun) {
    throw new UsageError(`byoci ${parts.words.join(' ')} does not support --dry-run (the ${parts.plugin.name} plugin does not say it honours it): run it without --dry-run`);
  }
  const result = await command.run(await commandContext(parts));
  return typeof result === 'number' ? result : 0;
}
