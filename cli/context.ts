/**
 * What every command shares: global options, loading the config, the logger with the
 * run's redactor, the secret stores, a bot with signal handling, and exit codes.
 */
import type { Command } from 'commander';
import { Bot } from '../core/bot.js';
import { loadConfig, type LoadedConfig } from '../core/config.js';
import { killAllGroups } from '../core/children.js';
import { ConfigError, EXIT, UsageError, describeError, exitCodeFor, formatProblem, type ConfigProblem } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { ExtraNeeds } from '../core/loader.js';
import { DEFAULT_PLUGINS, registry } from '../plugins/index.js';
import { Redactor } from '../secrets/redact.js';
import { createStores, secretsConfigSchema, type SecretsConfig } from '../secrets/index.js';
import type { SecretStore } from '../secrets/types.js';
import { timeSpan, timeSpanSync } from '../core/timings.js';

export interface GlobalOptions {
  config: string;
  option: string[];
  namespace?: string;
  json: boolean;
  dryRun: boolean;
  verbose: boolean;
  keep: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  const o = command.optsWithGlobals() as Partial<GlobalOptions>;
  return {
    config: o.config ?? process.env.BYOCI_CONFIG ?? 'byoci.yaml',
    option: o.option ?? [],
    ...(o.namespace ? { namespace: o.namespace } : {}),
    json: Boolean(o.json),
    dryRun: Boolean(o.dryRun),
    verbose: Boolean(o.verbose),
    keep: Boolean(o.keep),
  };
}

export interface Runtime {
  globals: GlobalOptions;
  config: LoadedConfig;
  log: Logger;
  redactor: Redactor;
  stores: SecretStore[];
  /** Writes a line of command output on stdout, redacted. */
  print(line: string): void;
  /** Writes a JSON document on stdout, redacted. */
  printJson(value: unknown): void;
}

/** The logger and printers, usable before a config exists. */
export function createOutput(globals: GlobalOptions, redactor = new Redactor()) {
  const log = createLogger({ json: globals.json, level: globals.verbose ? 'debug' : 'info', redactor });
  return {
    log,
    redactor,
    print: (line: string) => process.stdout.write(redactor.redact(line) + '\n'),
    printJson: (value: unknown) => process.stdout.write(redactor.redact(JSON.stringify(redactor.redactValue(value), null, 2)) + '\n'),
  };
}

/** The `secrets:` section, validated; its problems are located in the config. */
export function secretsConfigOf(config: LoadedConfig): SecretsConfig {
  const parsed = secretsConfigSchema.safeParse(config.settings.secrets);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const path = ['secrets', ...issue.path];
      return { ...config.locate(path), path: path.join('.'), message: issue.message };
    }),
  );
}

/** Secret stores from the `secrets:` section. */
export function storesFor(config: LoadedConfig): SecretStore[] {
  const orderGiven = (config.settings.secrets as { order?: unknown } | undefined)?.order !== undefined;
  return createStores(secretsConfigOf(config), { baseDir: config.configDir, scrubEnv: true, orderGiven });
}

/** True for the error of a config file that does not exist (its code, never its text). */
export function isMissingConfigFile(error: unknown): error is ConfigError {
  return error instanceof ConfigError && error.code === 'config-missing';
}

/**
 * The config; or, when none was named (no --config, no BYOCI_CONFIG) and ./byoci.yaml does
 * not exist, every default (`file` undefined) with the not-found error in `missing`, for
 * the commands that work on a slave before its configuration is written (secrets, image).
 */
export function loadConfigOrDefaults(command: Command): { config: LoadedConfig; missing?: ConfigError } {
  const globals = globalOptions(command);
  const explicit = Boolean((command.optsWithGlobals() as { config?: string }).config || process.env.BYOCI_CONFIG);
  const namespace = globals.namespace ? { namespace: globals.namespace } : {};
  try {
    return { config: loadConfig({ file: globals.config, overrides: globals.option, ...namespace }) };
  } catch (error) {
    if (explicit || !isMissingConfigFile(error)) throw error;
    return { config: loadConfig({ text: '{}\n', overrides: globals.option, ...namespace }), missing: error };
  }
}

export async function loadRuntime(globals: GlobalOptions, redactor = new Redactor()): Promise<Runtime> {
  const output = createOutput(globals, redactor);
  const config = timeSpanSync('step', 'config', () =>
    loadConfig({
      file: globals.config,
      overrides: globals.option,
      ...(globals.namespace ? { namespace: globals.namespace } : {}),
    }),
  );
  return { globals, config, stores: timeSpanSync('step', 'secret stores', () => storesFor(config)), ...output };
}

/** A bot for the runtime's config; `needs` adds what the command itself needs (e.g. a VCS). */
export async function createBot(rt: Runtime, needs?: ExtraNeeds): Promise<Bot> {
  return Bot.create({
    config: rt.config,
    registry,
    defaultPlugins: DEFAULT_PLUGINS,
    ...(needs ? { needs } : {}),
    stores: rt.stores,
    log: rt.log,
    redactor: rt.redactor,
    dryRun: rt.globals.dryRun,
    keep: rt.globals.keep,
    ...(process.env.BUILD_URL ? { buildUrl: process.env.BUILD_URL } : {}),
  });
}

/**
 * Runs `fn` with a bot; SIGINT/SIGTERM abort the run, `shutdown` runs in every case, and
 * the process exits 130/143 after an interruption. A second signal kills the running
 * commands at once but still cleans up (containers, the ssh agent, the run directory);
 * only a third exits without cleaning up.
 */
export async function withBot(rt: Runtime, fn: (bot: Bot) => Promise<number>, needs?: ExtraNeeds): Promise<number> {
  const bot = await timeSpan('step', 'bot (plugins, secrets, run dir)', () => createBot(rt, needs));
  let interrupted: NodeJS.Signals | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 2) {
      // Still clean up (containers, the ssh agent, the run directory), but stop waiting for children.
      rt.log.error('second signal: killing the running commands, then cleaning up (a third signal exits at once)', { signal });
      killAllGroups('SIGKILL');
      return;
    }
    if (signals > 2) {
      rt.log.error('third signal: exiting without cleaning up', { signal });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    interrupted = signal;
    rt.log.warn('interrupted: stopping the run and cleaning up', { signal });
    bot.abort(`interrupted by ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let code: number = EXIT.internal;
  try {
    code = await fn(bot);
  } finally {
    await timeSpan('step', 'shutdown + run dir removed', () => bot.shutdown(interrupted ? 'signal' : code === EXIT.internal ? 'error' : 'done'));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (interrupted) return interrupted === 'SIGINT' ? 130 : 143;
  return code;
}

/**
 * Prints an error that reached the top, in the form its class calls for, with its code of
 * the operator-error catalogue (docs/errors.md) and the hint for it. With `--json` it is one
 * JSON line on stderr (`msg`, `code`, `hint`, `problems`). Everything goes through the run's
 * redactor (the one that knows the secrets loaded so far): a plugin's error, a configuration
 * or verify problem built from a forge's answer, a stack trace.
 */
export function reportError(error: unknown, log: Logger, redactor: Redactor = new Redactor(), options: { json?: boolean } = {}): number {
  const exit = exitCodeFor(error);
  const { code, hint } = describeError(error);
  const write = (text: string) => process.stderr.write(redactor.redact(text));
  if (error instanceof ConfigError) {
    const title = `${error.problems.length} configuration problem${error.problems.length === 1 ? '' : 's'}`;
    if (options.json) log.error(title, { code, hint, problems: (error.problems as ConfigProblem[]).map(formatProblem) });
    else {
      write(`byoci: ${title}:\n`);
      for (const p of error.problems as ConfigProblem[]) write(`  ${formatProblem(p)}\n`);
      write(`hint: ${hint}\ncode: ${code}\n`);
    }
  } else if (error instanceof UsageError) {
    if (options.json) log.error(error.message, { code, hint });
    else write(`byoci: ${error.message}\nhint: ${hint}\ncode: ${code}\n`);
  } else {
    log.error('internal error', { error: error instanceof Error ? error.message : String(error), code, hint });
    if (process.env.BYOCI_DEBUG && error instanceof Error) write(`${error.stack}\n`);
  }
  return exit;
}

/**
 * Wraps a command action: loads the runtime, runs it, sets the exit code.
 * The action returns the exit code.
 */
export function action<A extends unknown[]>(fn: (rt: Runtime, ...args: A) => Promise<number>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const globals = globalOptions(command);
    // One redactor for the whole command: what reaches the top is masked like everything else.
    const redactor = new Redactor();
    const fallback = createOutput(globals, redactor);
    try {
      const rt = await loadRuntime(globals, redactor);
      process.exitCode = await fn(rt, ...(args.slice(0, -1) as A));
    } catch (error) {
      process.exitCode = reportError(error, fallback.log, redactor, { json: globals.json });
    }
  };
}
