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
import { loadConfig } from '../core/config.js';
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

/** One hook call seen by the kit: `report` calls carry the outcome kind (`report:landed`). */
export interface HookCall {
  hook: HookName;
  /** `hook`, or `report:<kind>` for reports. */
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
      hooks.discover.tapPromise(async (proposals) => {
        push('discover');
        return proposals;
      }, first);
      hooks.fetch.tapPromise(async ({ proposal }) => void push('fetch', proposal.id), first);
      hooks.merge.tapPromise(async ({ proposal }) => void push('merge', proposal.id), first);
      hooks.testInContainer.tapPromise(async ({ proposal }) => void push('testInContainer', proposal?.id), first);
      hooks.push.tapPromise(async ({ proposal }) => void push('push', proposal.id), first);
      hooks.report.tapPromise(async (outcome) => {
        outcomes.push(outcome);
        push('report', outcome.proposal.id, `report:${outcome.kind}`);
      }, first);
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
