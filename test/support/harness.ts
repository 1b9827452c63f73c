/**
 * Drives one or more plugins the way core does, without config files: real hooks, the
 * real interceptor, the plugin's schema applied to `config`, only declared secrets.
 *
 *   const { hooks, run } = await applyPlugins([{ plugin: gitPlugin, config: {} }]);
 *   const checkout = await hooks.fetch.promise({ proposal, workspace, signal: run.signal });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHooks, type BranchRef, type Hooks, type Note, type Problem, type ProjectConfig, type Target } from '../../hooks/index.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { AnyPlugin, RunInfo } from '../../core/plugin.js';
import { createPluginApi, validatePluginConfig } from '../../core/plugin-api.js';
import { applyPlugin, interceptHooks, type InterceptOptions } from '../../core/taps.js';
import { resolveTargets } from '../../core/targets.js';
import { Redactor } from '../../secrets/redact.js';

export interface PluginUnderTest {
  plugin: AnyPlugin;
  config?: unknown;
  /** Secret values by declared name; undeclared names are refused like core does. */
  secrets?: Record<string, string>;
}

export interface Harness {
  hooks: Hooks;
  run: RunInfo & { signal: AbortSignal };
  redactor: Redactor;
  /** Lines the plugins logged (already redacted). */
  lines: string[];
  log: Logger;
  /** Aborts the run (what SIGINT/SIGTERM do): running taps see their signal fire. */
  abort(reason?: string): void;
  /** Removes the run's workdir. */
  cleanup(): void;
}

export async function applyPlugins(
  plugins: PluginUnderTest[],
  options: { dryRun?: boolean; buildUrl?: string; workdir?: string; cacheDir?: string; echo?: boolean; settleMs?: number; timeouts?: InterceptOptions['timeouts'] } = {},
): Promise<Harness> {
  const hooks = createHooks();
  const redactor = new Redactor();
  const lines: string[] = [];
  const log = createLogger({
    level: 'debug',
    redactor,
    write: (line) => {
      lines.push(line);
      if (options.echo || process.env.BYOCI_TEST_LOG) process.stderr.write(line + '\n');
    },
  });
  const controller = new AbortController();
  interceptHooks(hooks, log, { signal: controller.signal, ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }), ...(options.timeouts ? { timeouts: options.timeouts } : {}) });
  const workdir = options.workdir ?? mkdtempSync(join(tmpdir(), 'byoci-test-run-'));
  const run = {
    id: `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    dryRun: options.dryRun ?? false,
    workdir,
    cacheDir: options.cacheDir ?? join(workdir, 'cache'),
    buildUrl: options.buildUrl,
    namespace: 'selftest',
    configDir: process.cwd(),
    landing: { user: 'byoci', name: 'Byoci Lander', email: 'byoci@example.invalid' },
    signal: controller.signal,
  };
  for (const { plugin, config, secrets = {} } of plugins) {
    const { config: valid, problems } = validatePluginConfig(plugin, config);
    if (problems.length) throw new ConfigError(problems);
    const declared = Object.keys(plugin.secrets ?? {});
    const values = new Map<string, string>();
    for (const [name, value] of Object.entries(secrets)) {
      if (!declared.includes(name)) throw new Error(`${plugin.name} does not declare secret ${name}`);
      values.set(name, value);
    }
    applyPlugin(hooks, plugin, createPluginApi({ plugin, config: valid, secrets: values, log, run, redactor }));
  }
  return {
    hooks,
    run,
    redactor,
    lines,
    log,
    abort(reason = 'interrupted') {
      controller.abort(new Error(reason));
    },
    cleanup() {
      if (!options.workdir) rmSync(workdir, { recursive: true, force: true });
    },
  };
}

/**
 * Applies one plugin and runs its `verify` taps on `projects`; returns what it found.
 * Shutdown runs afterwards, so plugins release what verify opened.
 */
export async function verifyPlugin(
  plugin: PluginUnderTest,
  projects: ProjectConfig[] = [],
): Promise<{ problems: Problem[]; notes: Note[]; lines: string[] }> {
  const harness = await applyPlugins([plugin]);
  const problems: Problem[] = [];
  const notes: Note[] = [];
  try {
    await harness.hooks.verify.promise({ projects, problems, notes, signal: harness.run.signal });
    return { problems, notes, lines: harness.lines };
  } finally {
    await harness.hooks.shutdown.promise({ reason: 'done' });
    harness.cleanup();
  }
}

/**
 * A configured target as core hands it to plugins: validated by the forge's target schema
 * and given its branch (what `Bot.create` does for each `projects.<p>.targets[]` entry).
 * Throws ConfigError listing the problems of an invalid target.
 */
export function forgeTarget(
  plugin: AnyPlugin,
  raw: Record<string, unknown>,
  options: { configDir?: string; config?: unknown } = {},
): Target {
  const configDir = options.configDir ?? process.cwd();
  const { config } = validatePluginConfig(plugin, options.config);
  const { targets, problems } = resolveTargets('test', [{ forge: plugin.name, ...raw }], new Map([[plugin.name, { plugin, config }]]), configDir);
  if (problems.length) throw new ConfigError(problems);
  return targets[0] as Target;
}

/** A target as core builds it, written out by hand: its forge, branch and options. */
export function targetFor(forge: string, branch: Partial<BranchRef> & { url: string }, options: Record<string, unknown> = {}): Target {
  return { forge, branch: { vcs: 'git', branch: '', ...branch }, options };
}
