/**
 * The command lines `byoci` accepts, read from the real CLI parser (cli/program.ts), and
 * a parser that checks a job's `byoci ...` words against them: known command, known
 * options (long or short), a value where one is needed, mandatory options present.
 *
 * The commands known are byoci's own and those of its built-in plugins. A command of a
 * plugin loaded by path or package is not: the slave's config names that plugin and the
 * slave has it installed, and the check runs from this repository (CI, the monitor), where
 * neither is. So a job calling one fails the check, saying so (jobs/README.md).
 */
import type { Command } from 'commander';
import type { Word } from './shell-words.js';

/** Why a job's call of a third-party plugin's command cannot pass the check (see above). */
export const PLUGIN_COMMANDS_UNKNOWN =
  'commands of plugins loaded by path or package are not known to the check: their plugin is named by the slave\'s config and installed there (jobs/README.md)';

export interface OptionSpec {
  long: string;
  short?: string;
  takesValue: boolean;
  mandatory: boolean;
}

export interface CommandSpec {
  options: OptionSpec[];
  /** Positional arguments accepted: a number, or Infinity for a variadic last one. */
  positionals: number;
  requiredPositionals: number;
  /** Has subcommands (`byoci irc say`): the next word names one. */
  parent: boolean;
}

export interface ByociUsage {
  globals: OptionSpec[];
  /** By command path: `land`, `irc say`, `job run`. */
  commands: Record<string, CommandSpec>;
}

function optionSpecs(command: Command): OptionSpec[] {
  return command.options.map((o) => ({
    long: o.long ?? o.short ?? '',
    ...(o.short ? { short: o.short } : {}),
    takesValue: Boolean(o.required || o.optional),
    mandatory: Boolean(o.mandatory),
  }));
}

/** The usage of a commander program: global options and every (sub)command. */
export function usageFromProgram(program: Command): ByociUsage {
  const commands: Record<string, CommandSpec> = {};
  const visit = (command: Command, prefix: string) => {
    for (const sub of command.commands) {
      const path = prefix ? `${prefix} ${sub.name()}` : sub.name();
      const args = sub.registeredArguments;
      commands[path] = {
        options: optionSpecs(sub),
        positionals: args.some((a) => a.variadic) ? Infinity : args.length,
        requiredPositionals: args.filter((a) => a.required).length,
        parent: sub.commands.length > 0,
      };
      visit(sub, path);
    }
  };
  visit(program, '');
  return { globals: optionSpecs(program), commands };
}

/** The usage of this checkout's `byoci` command. */
export async function loadByociUsage(): Promise<ByociUsage> {
  const { buildProgram } = await import('../cli/program.js');
  return usageFromProgram(await buildProgram());
}

/** A parsed `byoci ...` call: the command path and its options by long name. */
export interface ByociCall {
  command: string | undefined;
  /** Values of each option given (flags: `true`), by long name, in order. */
  options: Map<string, (Word | true)[]>;
  positionals: Word[];
  problems: string[];
}

/** The last value given for an option, when it has one. */
export function optionValue(call: ByociCall, long: string): Word | undefined {
  const last = call.options.get(long)?.at(-1);
  return last === true ? undefined : last;
}

/** Parses the words after `byoci` against `usage`. */
export function parseByociCall(args: Word[], usage: ByociUsage): ByociCall {
  const call: ByociCall = { command: undefined, options: new Map(), positionals: [], problems: [] };
  const find = (name: string): OptionSpec | undefined => {
    const own = call.command ? usage.commands[call.command]?.options ?? [] : [];
    const match = (o: OptionSpec) => o.long === name || o.short === name;
    return own.find(match) ?? usage.globals.find(match);
  };
  const add = (spec: OptionSpec, value: Word | true) => call.options.set(spec.long, [...(call.options.get(spec.long) ?? []), value]);
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i]!;
    if (word.value.startsWith('-') && word.value !== '-' && word.value !== '--') {
      const eq = word.value.startsWith('--') ? word.value.indexOf('=') : -1;
      const name = eq === -1 ? word.value : word.value.slice(0, eq);
      const spec = find(name);
      if (!spec) {
        call.problems.push(`unknown option ${name}${call.command ? ` for \`byoci ${call.command}\`` : ''}`);
        continue;
      }
      if (!spec.takesValue) {
        if (eq !== -1) call.problems.push(`option ${name} takes no value`);
        add(spec, true);
        continue;
      }
      if (eq !== -1) {
        add(spec, { ...word, value: word.value.slice(eq + 1) });
        continue;
      }
      const value = args[i + 1];
      if (!value || value.value.startsWith('--')) {
        call.problems.push(`option ${name} needs a value`);
        continue;
      }
      add(spec, value);
      i += 1;
      continue;
    }
    const path = call.command ? `${call.command} ${word.value}` : word.value;
    if (!call.command || usage.commands[call.command]?.parent) {
      if (!usage.commands[path]) {
        const known = Object.keys(usage.commands).filter((c) => c.split(' ').length === (call.command ? call.command.split(' ').length + 1 : 1));
        call.problems.push(`unknown command \`byoci ${path}\` (known: ${known.join(', ')}; ${PLUGIN_COMMANDS_UNKNOWN})`);
        return call;
      }
      call.command = path;
      continue;
    }
    call.positionals.push(word);
  }
  if (!call.command) {
    call.problems.push('no command');
    return call;
  }
  const spec = usage.commands[call.command]!;
  if (spec.parent) call.problems.push(`\`byoci ${call.command}\` needs a subcommand`);
  if (call.positionals.length > spec.positionals) {
    call.problems.push(`unexpected argument ${call.positionals.slice(spec.positionals).map((p) => JSON.stringify(p.value)).join(' ')}`);
  }
  if (call.positionals.length < spec.requiredPositionals) call.problems.push(`\`byoci ${call.command}\` needs ${spec.requiredPositionals} argument(s)`);
  for (const o of spec.options) {
    if (o.mandatory && !call.options.has(o.long)) call.problems.push(`\`byoci ${call.command}\` needs ${o.long}`);
  }
  return call;
}
