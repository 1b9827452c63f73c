/**
 * Plugin-contributed commands as commander commands: arguments and options from the
 * declaration, and an action that builds the handler's context through core
 * (core/commands.ts: the plugin's section validated with file and line, its secrets from
 * the stores, the redacting logger, --dry-run and --json), runs it and sets the exit code.
 */
import { Command, Option } from 'commander';
import { declaredCommands, runPluginCommand } from '../core/commands.js';
import { ConfigError } from '../core/errors.js';
import { validatePluginConfig } from '../core/plugin-api.js';
import type { AnyPlugin, PluginCommand } from '../core/plugin.js';
import { Redactor } from '../secrets/redact.js';
import { createOutput, globalOptions, loadConfigOrDefaults, reportError, storesFor } from './context.js';

/** A plugin whose commands are registered, and where its config section is read from. */
export interface CommandSource {
  plugin: AnyPlugin;
  /** The `plugins:` key (its name for built-ins, the path or package name otherwise). */
  configKey: string;
  source: 'built-in' | 'path' | 'package';
}

/** Registers every command the plugin declares on `program`; throws ConfigError for a bad declaration. */
export function registerPluginCommands(program: Command, from: CommandSource): void {
  const { commands, problems } = declaredCommands(from.plugin);
  if (problems.length) throw new ConfigError(problems.map((message) => ({ path: `plugins.${from.configKey}`, message })));
  for (const entry of commands) {
    if (entry.kind === 'command') {
      addCommand(program, entry, [entry.name], from);
      continue;
    }
    const group = program.command(entry.name).description(entry.description);
    for (const leaf of entry.commands) addCommand(group, leaf, [entry.name, leaf.name], from);
  }
}

function addCommand(parent: Command, spec: PluginCommand, words: readonly string[], from: CommandSource): void {
  const command = parent.command(spec.name).description(spec.description);
  for (const arg of spec.arguments) {
    const term = `${arg.name}${arg.variadic ? '...' : ''}`;
    command.argument(arg.optional ? `[${term}]` : `<${term}>`, arg.description);
  }
  const options = Object.entries(spec.options).map(([name, o]) => {
    const option = new Option(o.value ? `--${name} <${o.value}>` : `--${name}`, o.description);
    if (o.choices) option.choices([...o.choices]);
    command.addOption(option);
    return { name, attribute: option.attributeName(), flag: !o.value };
  });
  if (spec.help) command.addHelpText('after', `\n${spec.help}`);
  command.action(async (...received: unknown[]) => {
    const self = received[received.length - 1] as Command;
    const globals = globalOptions(self);
    const redactor = new Redactor();
    const output = createOutput(globals, redactor);
    const controller = new AbortController();
    let interrupted: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted) return;
      interrupted = signal;
      output.log.warn('interrupted: stopping', { signal });
      controller.abort(new Error(`interrupted by ${signal}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const { config, missing } = loadConfigOrDefaults(self);
      // No config file, and the plugin cannot run on its defaults: the missing file is the problem.
      if (missing && validatePluginConfig(from.plugin, undefined).problems.length) throw missing;
      const values = received.slice(0, spec.arguments.length) as (string | string[] | undefined)[];
      const args = Object.fromEntries(spec.arguments.map((a, i) => [a.name, values[i] ?? (a.variadic ? [] : undefined)]));
      const given = self.opts<Record<string, string | boolean | undefined>>();
      const opts = Object.fromEntries(options.map((o) => [o.name, o.flag ? Boolean(given[o.attribute]) : given[o.attribute]]));
      const code = await runPluginCommand(spec, {
        plugin: from.plugin,
        configKey: from.configKey,
        words,
        config,
        stores: storesFor(config),
        log: output.log,
        redactor,
        dryRun: globals.dryRun,
        json: globals.json,
        signal: controller.signal,
        args,
        options: opts,
        print: (line) => void output.print(line),
        printJson: (value) => void output.printJson(value),
      });
      process.exitCode = interrupted ? (interrupted === 'SIGINT' ? 130 : 143) : code;
    } catch (error) {
      process.exitCode = interrupted ? (interrupted === 'SIGINT' ? 130 : 143) : reportError(error, output.log, redactor, { json: globals.json });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
