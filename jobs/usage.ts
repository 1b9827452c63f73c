/**
 * The `byoci` command lines the jobs may use, and a parser that checks a command's
 * arguments against them: known subcommand, known options, values where one is needed,
 * required options present.
 */
import type { Word } from './shell-words.js';

export interface CommandUsage {
  /** Option name → whether it takes a value. */
  options: Record<string, 'value' | 'flag'>;
  required: string[];
  /** Number of positional arguments accepted. */
  positionals?: number;
}

export type ByociUsage = Record<string, CommandUsage>;

/** Options every subcommand accepts (the program's global options). */
export const GLOBAL_OPTIONS: CommandUsage['options'] = {
  '--config': 'value',
  '--namespace': 'value',
  '--json': 'flag',
  '--verbose': 'flag',
  '--quiet': 'flag',
  '--dry-run': 'flag',
};

/** What the jobs call; kept in step with `cli/commands/` (a test compares them). */
export const BYOCI_USAGE: ByociUsage = {
  list: { options: { '--ready': 'flag', '--project': 'value' }, required: ['--config'] },
  land: { options: { '--project': 'value', '--artefacts': 'value' }, required: ['--config'] },
  test: { options: { '--project': 'value', '--branch': 'value', '--artefacts': 'value' }, required: ['--config', '--branch'] },
  doctor: { options: {}, required: ['--config'] },
};

/** A parsed `byoci ...` call: the subcommand and its options by name. */
export interface ByociCall {
  subcommand: string | undefined;
  options: Map<string, Word | true>;
  positionals: Word[];
  problems: string[];
}

/** Parses the words after `byoci` against `usage`. */
export function parseByociCall(args: Word[], usage: ByociUsage = BYOCI_USAGE): ByociCall {
  const call: ByociCall = { subcommand: undefined, options: new Map(), positionals: [], problems: [] };
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i]!;
    if (word.value.startsWith('-') && word.value !== '-') {
      const eq = word.value.indexOf('=');
      const name = eq === -1 ? word.value : word.value.slice(0, eq);
      const own = call.subcommand ? usage[call.subcommand]?.options : undefined;
      const kind = own?.[name] ?? GLOBAL_OPTIONS[name];
      if (!kind) {
        call.problems.push(`unknown option ${name}${call.subcommand ? ` for \`byoci ${call.subcommand}\`` : ''}`);
        continue;
      }
      if (kind === 'flag') {
        if (eq !== -1) call.problems.push(`option ${name} takes no value`);
        call.options.set(name, true);
        continue;
      }
      if (eq !== -1) {
        call.options.set(name, { ...word, value: word.value.slice(eq + 1) });
        continue;
      }
      const value = args[i + 1];
      if (!value || value.value.startsWith('--')) {
        call.problems.push(`option ${name} needs a value`);
        continue;
      }
      call.options.set(name, value);
      i += 1;
      continue;
    }
    if (!call.subcommand) {
      if (!usage[word.value]) {
        call.problems.push(`unknown subcommand \`${word.value}\` (known: ${Object.keys(usage).join(', ')})`);
        return call;
      }
      call.subcommand = word.value;
      continue;
    }
    call.positionals.push(word);
  }
  if (!call.subcommand) {
    call.problems.push('no subcommand');
    return call;
  }
  const spec = usage[call.subcommand]!;
  if (call.positionals.length > (spec.positionals ?? 0)) {
    call.problems.push(`unexpected argument ${call.positionals.map((p) => JSON.stringify(p.value)).join(' ')}`);
  }
  for (const name of spec.required) {
    if (!call.options.has(name)) call.problems.push(`\`byoci ${call.subcommand}\` needs ${name}`);
  }
  return call;
}
