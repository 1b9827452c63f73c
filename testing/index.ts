/**
 * `byoci/testing`: the test kit for plugin authors (and byoci's own tests).
 *
 * A kit is a throw-away world: a real bare git repository as the trunk (`main`), a source
 * repository for the proposal branches, a directory of local-forge proposal files, and a
 * configuration written from a plain object. `land()` builds the bot exactly as `byoci land`
 * does (config file, loader, plugins by built-in name, path or npm package, secrets,
 * redaction), runs a landing and hands back what happened: the results, the outcomes the
 * reporters received, every hook called in order, and the log lines.
 *
 * ```ts
 * import { createKit } from 'byoci/testing';
 * const kit = await createKit({ plugins: { '/abs/path/to/my-reporter.js': { url } } });
 * const id = await kit.propose({ branch: 'fix', files: { 'fix.txt': 'fixed\n' } });
 * const landing = await kit.land();
 * assert.deepEqual(landing.results.map((r) => [r.proposal.id, r.kind]), [[id, 'landed']]);
 * assertHookOrder(landing.calls, ['discover', 'report:started', 'fetch', 'merge', 'testInContainer', 'push', 'report:landed']);
 * await kit.cleanup();
 * ```
 *
 * The tests run with the `unsafe-host` backend (on the machine, no container): the kit is
 * for plugins, whose tests run the project's test command `true` or one the test chooses.
 * git must be installed.
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { Bot, type Candidate, type LandingResult, type LoadedPlugin } from '../core/bot.js';
import { commandLeaves, declaredCommands, runPluginCommand, type CommandLeaf } from '../core/commands.js';
import { loadConfig } from '../core/config.js';
import { ConfigError, UsageError, exitCodeFor } from '../core/errors.js';
import { resolvePlugins } from '../core/loader.js';
import { createLogger } from '../core/logger.js';
import { definePlugin, type AnyPlugin } from '../core/plugin.js';
import type { HookName } from '../hooks/index.js';
import type { Outcome } from '../hooks/types.js';
import { registry as builtins } from '../plugins/index.js';
import { Redactor } from '../secrets/redact.js';
import type { SecretStore } from '../secrets/types.js';
import { ALICE, branchWith, gitIn, makeRepos, type Person, type Repos } from './git.js';

export { ALICE, BOB, advanceTarget, branchWith, commitFiles, gitIn, makeRepos, snapshot, tempDir } from './git.js';
export type { Person, Repos } from './git.js';
export type { Candidate, LandingResult, LoadedPlugin } from '../core/bot.js';

/**
 * One hook call seen by the kit (every hook point is recorded): `report` calls carry the
 * outcome kind (`report:landed`), `queueChanged` calls the entry's new state
 * (`queueChanged:testing`). `prepare` is not awaited by core: it comes before `fetch` but
 * in no fixed order with `report:started`.
 */
export interface HookCall {
  hook: HookName;
  /** `hook`, or `report:<kind>` / `queueChanged:<state>`. */
  name: string;
  /** The proposal concerned, when the hook has one. */
  proposal?: string;
}

export interface KitOptions {
  /**
   * The `plugins:` section: keys are built-in names, paths (absolute, or relative to the
   * kit's directory) or npm package names; values their config. The local forge's section
   * is filled in by the kit.
   */
  plugins?: Record<string, unknown>;
  /** Plugin definitions loaded as if they were built-ins (a key of `plugins` may name them). */
  definitions?: readonly AnyPlugin[];
  /** Secret values by key, `<plugin>/<name>`: an in-memory store, the only one. */
  secrets?: Record<string, string>;
  /** The project's test section (default: `unsafe-host` running `true`, 60 s). */
  test?: Record<string, unknown>;
  /** More top-level options merged into the config (e.g. `landing`). */
  config?: Record<string, unknown>;
  /**
   * npm packages to make resolvable from the config's directory, by name → directory
   * (linked as `node_modules/<name>`), to load a plugin by package name without publishing it.
   */
  packages?: Record<string, string>;
  /** Tap timeouts per hook and the settle grace (ms). */
  taps?: { timeouts?: Partial<Record<HookName, number>>; settleMs?: number };
}

export interface ProposeOptions {
  /** Source branch (created from the trunk's main). */
  branch: string;
  /** Files committed on the branch (path → content). */
  files?: Record<string, string>;
  /** Commit message of the branch's commit. */
  message?: string;
  /** Commit message of the landing (default: the branch's message). */
  commitMessage?: string;
  title?: string;
  /** Default: one Approve by `rita`. */
  votes?: readonly { reviewer: string; vote: string }[];
  /** Default `Approved`. */
  status?: string;
  author?: Person;
}

export interface Landing {
  exitCode: number;
  results: LandingResult[];
  /** Proposals found but not landable now. */
  waiting: Candidate[];
  /** The outcomes the `report` hook received, in order (none with dryRun). */
  outcomes: Outcome[];
  /** Every hook called, in order. */
  calls: HookCall[];
  /** Every log line (debug level, redacted). */
  lines: string[];
  /** The plugins the run loaded (source, API version, hooks tapped, secrets set), as `byoci plugins` lists them. */
  plugins: readonly LoadedPlugin[];
}

export interface CommandRun {
  /** The exit code `byoci <words>` would exit with (2 for a usage or configuration error, 3 internal). */
  exitCode: number;
  /** What the command printed (`print`, redacted), line by line. */
  stdout: string[];
  /** The documents it printed with `printJson` (parsed back). */
  json: unknown[];
  /** Every log line (debug level, redacted). */
  lines: string[];
  /** The message of the error it ended with, redacted (undefined when it returned). */
  error?: string;
}

export interface CommandInput {
  /** Positional arguments by name (a variadic one as a list). */
  args?: Record<string, string | string[] | undefined>;
  /** Options by their long name (`{ alias: 'x', loud: true }`). */
  options?: Record<string, string | boolean | undefined>;
  dryRun?: boolean;
  json?: boolean;
}

export interface Kit {
  /** The kit's directory (config file, proposals, work directories). */
  readonly dir: string;
  /** The config file the kit writes before each run. */
  readonly configFile: string;
  /** The trunk (bare, branch `main`) and the source repository. */
  readonly repos: Repos;
  /** The directory of the local forge's proposal files. */
  readonly proposals: string;
  /** Creates a branch with `files` and an approved proposal for it; returns its id (`local:<n>`). */
  propose(options: ProposeOptions): Promise<string>;
  /** The proposal file of `id`, parsed (status, comments, merged_revision...). */
  proposal(id: string): Record<string, unknown>;
  /** Runs `byoci land` (or `land --dry-run`) once. */
  land(options?: { dryRun?: boolean; proposal?: string; buildUrl?: string }): Promise<Landing>;
  /**
   * Runs the plugin command `words` (e.g. `'hello'`, `'image list'`) of a plugin of the
   * kit's config, as `byoci <words>` would: the plugin's section validated, its secrets
   * from the kit's store, output and log redacted. Arguments come already parsed.
   */
  command(words: string, input?: CommandInput): Promise<CommandRun>;
  /** The trunk's `main` tip. */
  trunkTip(): Promise<string>;
  /** Removes everything the kit created. */
  cleanup(): Promise<void>;
}

/** An in-memory secret store holding `values` (keys `<plugin>/<name>`). */
export function memoryStore(values: Record<string, string>, name = 'memory'): SecretStore {
  return { name, get: async (key) => values[key] };
}

const RECORDER = 'kit-recorder';

function recorder(calls: HookCall[], outcomes: Outcome[]): AnyPlugin {
  const first = { stage: -1_000_000 };
  const push = (hook: HookName, proposal?: string, name: string = hook) => {
    calls.push({ hook, name, ...(proposal ? { proposal } : {}) });
  };
  return definePlugin({
    name: RECORDER,
    description: 'byoci/testing: records every hook call',
    apply(hooks) {
      hooks.verify.tapPromise(async () => push('verify'), first);
      hooks.sweep.tapPromise(async () => push('sweep'), first);
      hooks.discover.tapPromise(async (proposals) => {
        push('discover');
        return proposals;
      }, first);
      hooks.prepare.tapPromise(async ({ proposal }) => void push('prepare', proposal?.id), first);
      hooks.fetch.tapPromise(async ({ proposal }) => void push('fetch', proposal.id), first);
      hooks.merge.tapPromise(async ({ proposal }) => void push('merge', proposal.id), first);
      hooks.gate.tapPromise(async ({ proposal }) => void push('gate', proposal.id), first);
      hooks.testInContainer.tapPromise(async ({ proposal }) => void push('testInContainer', proposal?.id), first);
      hooks.push.tapPromise(async ({ proposal }) => void push('push', proposal.id), first);
      hooks.report.tapPromise(async (outcome) => {
        outcomes.push(outcome);
        push('report', outcome.proposal.id, `report:${outcome.kind}`);
      }, first);
      hooks.queueChanged.tapPromise(async (event) => void push('queueChanged', event.proposal.id, `queueChanged:${event.state}`), first);
      hooks.shutdown.tapPromise(async () => push('shutdown'), first);
    },
  });
}

/**
 * Asserts that `expected` hook names (`fetch`, `report:landed`...) were called in this
 * order (other calls may come between them). Throws an Error listing the calls otherwise.
 */
export function assertHookOrder(calls: readonly HookCall[], expected: readonly string[], proposal?: string): void {
  const names = calls.filter((c) => proposal === undefined || c.proposal === undefined || c.proposal === proposal).map((c) => c.name);
  let at = 0;
  for (const name of expected) {
    const found = names.indexOf(name, at);
    if (found < 0) throw new Error(`hook ${name} was not called after ${expected.slice(0, expected.indexOf(name)).join(', ') || 'the start'}; calls: ${names.join(', ')}`);
    at = found + 1;
  }
}

/** Creates a kit: repositories, a proposal directory and a config. Call `cleanup()` at the end. */
export async function createKit(options: KitOptions = {}): Promise<Kit> {
  const repos = await makeRepos();
  const dir = repos.root;
  const proposals = join(dir, 'proposals');
  const work = join(dir, 'work');
  mkdirSync(proposals);
  mkdirSync(work);
  for (const [name, target] of Object.entries(options.packages ?? {})) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(target, link, 'dir');
  }
  const configFile = join(dir, 'byoci.yaml');
  let next = 1;

  const config = (): Record<string, unknown> => ({
    workdir: work,
    artefacts: join(work, 'artefacts'),
    landing: { user: 'lander', fullname: 'The Lander', email: 'lander@example.invalid' },
    ...options.config,
    plugins: { ...options.plugins, local: { dir: proposals, ...((options.plugins?.local as object | undefined) ?? {}) } },
    projects: {
      demo: {
        targets: [{ forge: 'local', repo: repos.target, branch: 'main' }],
        test: { backend: 'unsafe-host', command: 'true', timeout: 60, ...options.test },
      },
    },
  });

  const kit: Kit = {
    dir,
    configFile,
    repos,
    proposals,

    async propose(p) {
      const id = String(next++);
      const message = p.message ?? `Change on ${p.branch}`;
      const approved = await branchWith(repos, p.branch, p.files ?? { [`${p.branch}.txt`]: `${p.branch}\n` }, message, p.author ?? ALICE);
      const file = {
        id,
        title: p.title ?? `Proposal ${id}`,
        source: { repo: repos.source, branch: p.branch },
        target: { repo: repos.target, branch: 'main' },
        approved_revision: approved,
        status: p.status ?? 'Approved',
        commit_message: p.commitMessage ?? message,
        votes: p.votes ?? [{ reviewer: 'rita', vote: 'Approve' }],
      };
      writeFileSync(join(proposals, `${id}.yaml`), YAML.stringify(file));
      return `local:${id}`;
    },

    proposal(id) {
      const n = id.replace(/^local:/, '');
      return YAML.parse(readFileSync(join(proposals, `${n}.yaml`), 'utf8')) as Record<string, unknown>;
    },

    async land(run = {}) {
      writeFileSync(configFile, YAML.stringify(config()));
      const calls: HookCall[] = [];
      const outcomes: Outcome[] = [];
      const lines: string[] = [];
      const redactor = new Redactor();
      const log = createLogger({
        level: 'debug',
        redactor,
        write: (line) => {
          lines.push(line);
          if (process.env.BYOCI_TEST_LOG) process.stderr.write(`${line}\n`);
        },
      });
      const own = [...(options.definitions ?? []), recorder(calls, outcomes)];
      const registry = new Map([...builtins, ...own.map((p) => [p.name, p] as const)]);
      const loaded = loadConfig({ file: configFile, namespace: 'selftest', env: {} });
      const bot = await Bot.create({
        config: loaded,
        registry,
        defaultPlugins: ['git', 'host', ...own.map((p) => p.name)],
        stores: [memoryStore(options.secrets ?? {})],
        log,
        redactor,
        dryRun: run.dryRun ?? false,
        ...(run.buildUrl ? { buildUrl: run.buildUrl } : {}),
        ...(options.taps ? { taps: options.taps } : {}),
      });
      try {
        await bot.verifyOrThrow();
        const summary = await bot.landAll(run.proposal ? { proposal: run.proposal } : {});
        const plugins = bot.loaded.filter((p) => p.name !== RECORDER);
        return { exitCode: summary.exitCode, results: summary.results, waiting: summary.waiting, outcomes, calls, lines, plugins };
      } finally {
        await bot.shutdown();
      }
    },

    async command(words, input = {}) {
      writeFileSync(configFile, YAML.stringify(config()));
      const lines: string[] = [];
      const stdout: string[] = [];
      const json: unknown[] = [];
      const redactor = new Redactor();
      const log = createLogger({ level: 'debug', redactor, write: (line) => void lines.push(line) });
      const registry = new Map([...builtins, ...(options.definitions ?? []).map((p) => [p.name, p] as const)]);
      const wanted = words.trim().split(/\s+/);
      try {
        const loaded = loadConfig({ file: configFile, namespace: 'selftest', env: {} });
        const { plugins, problems } = await resolvePlugins(loaded.settings, loaded.configDir, registry, ['git', 'host']);
        if (problems.length) throw new ConfigError(problems);
        let found: { leaf: CommandLeaf; plugin: AnyPlugin; configKey: string } | undefined;
        for (const p of plugins) {
          const leaf = commandLeaves(declaredCommands(p.plugin).commands).find((l) => l.words.join(' ') === wanted.join(' '));
          if (leaf) found = { leaf, plugin: p.plugin, configKey: p.configKey };
        }
        if (!found) throw new UsageError(`no plugin of the kit's config has the command ${JSON.stringify(words)}`);
        const exitCode = await runPluginCommand(found.leaf.command, {
          plugin: found.plugin,
          configKey: found.configKey,
          words: wanted,
          config: loaded,
          stores: [memoryStore(options.secrets ?? {})],
          log,
          redactor,
          dryRun: input.dryRun ?? false,
          json: input.json ?? false,
          signal: new AbortController().signal,
          args: Object.fromEntries(found.leaf.command.arguments.map((a) => [a.name, input.args?.[a.name] ?? (a.variadic ? [] : undefined)])),
          options: Object.fromEntries(Object.entries(found.leaf.command.options).map(([name, o]) => [name, o.value ? input.options?.[name] : Boolean(input.options?.[name])])),
          print: (line) => void stdout.push(redactor.redact(line)),
          printJson: (value) => void json.push(JSON.parse(redactor.redact(JSON.stringify(redactor.redactValue(value))))),
        });
        return { exitCode, stdout, json, lines };
      } catch (error) {
        return { exitCode: exitCodeFor(error), stdout, json, lines, error: redactor.redact(error instanceof Error ? error.message : String(error)) };
      }
    },

    trunkTip() {
      return gitIn(repos.target, ['rev-parse', 'refs/heads/main']);
    },

    async cleanup() {
      repos.remove();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return kit;
}
