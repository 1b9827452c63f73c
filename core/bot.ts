/**
 * A bot per run: loads the plugins, hands each its config and declared secrets, and runs
 * the hooks in order. Core enforces `--dry-run` (no push, no report) and reporter isolation
 * (a throwing reporter is logged and changes nothing).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHooks, type Hooks } from '../hooks/index.js';
import type {
  BranchRef,
  Note,
  Outcome,
  Problem,
  ProjectConfig,
  Proposal,
  RejectionInfo,
  TestResult,
  TestSpec,
} from '../hooks/types.js';
import type { Redactor } from '../secrets/redact.js';
import type { SecretStore } from '../secrets/types.js';
import type { LoadedConfig } from './config.js';
import { redactArtefacts } from './artefacts.js';
import { commandLeaves, declaredCommands, lookupPluginSecrets } from './commands.js';
import { ConfigError, EXIT, PluginError, Rejection, UsageError, asForgeAnswerError, asRejection, type ConfigProblem } from './errors.js';
import { resolvePlugins, type ExtraNeeds } from './loader.js';
import { claimRunDir, removeStaleRunDirs } from './rundirs.js';
import type { Logger } from './logger.js';
import { PLUGIN_API_VERSION, type AnyPlugin, type PluginRegistry, type RunInfo } from './plugin.js';
import { createPluginApi, validatePluginConfig } from './plugin-api.js';
import { applyPlugin, interceptHooks, type InterceptOptions, type TapStatus } from './taps.js';
import { resolveTargets, type RawTarget } from './targets.js';
import type { HookName } from '../hooks/index.js';
import { processOwner } from './owner.js';
import { timeSpan, timeSpanSync } from './timings.js';
import { openStore, type Db } from '../store/index.js';
import { QUEUE_MIGRATIONS, QueueStore, openQueueStore, syncConfigFreezes, targetKey } from './queue/index.js';
import { QueueDriver, safeName, type Candidate, type LandingResult, type TargetGroup } from './queue/driver.js';
import type { TestOptions } from './queue/types.js';
import { storePath, windowProblem } from './queue/config.js';
import { Ledger, TESTS_MIGRATIONS, recordTestRun, runTests } from './test-report/index.js';
import { failureWords, failuresForgiven, forgivenWords } from './test-report/verdict.js';

export interface BotOptions {
  config: LoadedConfig;
  /** Built-in plugins by name (handed in by the CLI; core never imports a plugin). */
  registry: PluginRegistry;
  /** Built-ins loaded without being named in the config when it needs them, in tap order. */
  defaultPlugins: readonly string[];
  /** Needs beyond the config's (e.g. the VCS of `byoci test --vcs`). */
  needs?: ExtraNeeds;
  /** Secret stores in lookup order. */
  stores?: readonly SecretStore[];
  log: Logger;
  redactor: Redactor;
  dryRun?: boolean;
  /** Keep the run's work directory (checkouts) for inspection. */
  keep?: boolean;
  buildUrl?: string;
  runId?: string;
  /** Tap timeouts per hook (ms) overriding core's defaults, and the settle grace time. */
  taps?: { timeouts?: Partial<Record<HookName, number>>; settleMs?: number };
}

export type { Candidate, LandingResult };

/** A plugin loaded in a run: where it came from, its API version, what it taps and needs. */
export interface LoadedPlugin {
  name: string;
  description: string;
  /** The `plugins:` key it was loaded by (its name for built-ins). */
  configKey: string;
  source: 'built-in' | 'path' | 'package';
  apiVersion: number;
  /** Hooks it tapped, in hook order. */
  hooks: HookName[];
  /** The secrets it declares and whether a store holds each (never the values). */
  secrets: { name: string; description: string; required: boolean; set: boolean }[];
  /** The CLI commands it contributes (`irc say`), with their descriptions. */
  commands: { name: string; description: string }[];
}

/** A target another live bot was landing on: left alone, with who holds it. */
export interface BusyTarget {
  target: string;
  holder: string;
  pid: number;
  host: string;
  since: string;
}

export interface LandSummary {
  results: LandingResult[];
  /** Discovered proposals that were not landable now, with the reason. */
  waiting: Candidate[];
  /** Targets skipped because another bot holds their lease. */
  busy?: BusyTarget[];
  exitCode: number;
}

/** Candidates grouped by target branch: one queue per target, whatever forge found them. */
export function groupByTarget(candidates: readonly Candidate[]): TargetGroup[] {
  const groups = new Map<string, TargetGroup>();
  for (const c of candidates) {
    if (!c.proposal.target.url) continue;
    const key = targetKey(c.proposal.target);
    const group = groups.get(key);
    if (group) group.candidates.push(c);
    else groups.set(key, { key, project: c.project, ref: c.proposal.target, candidates: [c] });
  }
  return [...groups.values()];
}

function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The rejection a finished test run amounts to, if any. */
export function testRejection(result: TestResult, spec: TestSpec): Rejection | undefined {
  if (result.timedOut === 'total') return new Rejection('tests-timeout', { seconds: spec.timeout }, result.outputTail);
  if (result.timedOut === 'no-output') {
    return new Rejection('tests-silent', { seconds: spec.noOutputTimeout }, result.outputTail);
  }
  if (result.oomKilled) {
    return new Rejection('tests-oom', { limit: result.memoryLimit ?? spec.limits.memory ?? 'unset' }, result.outputTail);
  }
  if (result.exitCode === 0) return undefined;
  if (result.phase === 'setup') return new Rejection('setup-failed', { exitCode: result.exitCode }, result.outputTail);
  // Every failure known, and each passed on a rerun (a flake) or is quarantined: lands.
  if (failuresForgiven(result)) return undefined;
  return new Rejection('tests-failed', { exitCode: result.exitCode, tests: failureWords(result.tests) }, result.outputTail);
}

/** Why git cannot take `message` as a commit message, or undefined. */
export function commitMessageProblem(message: string): string | undefined {
  const nul = message.indexOf('\0');
  if (nul >= 0) return `it contains a NUL character (at position ${nul + 1})`;
  return undefined;
}

/** A ready proposal whose commit message git cannot take is rejected before any work. */
function withMessageChecked(proposal: Proposal): Proposal {
  if (proposal.readiness.state !== 'ready') return proposal;
  const problem = commitMessageProblem(proposal.commitMessage);
  if (!problem) return proposal;
  const r = new Rejection('invalid-commit-message', { detail: problem });
  return { ...proposal, readiness: { state: 'rejected', code: r.code, reason: r.reason } };
}

/** The projects with their targets validated by their forges' schemas. */
function projectsOf(
  config: LoadedConfig,
  loaded: readonly { plugin: AnyPlugin; configKey: string; config: unknown }[],
): { projects: ProjectConfig[]; problems: ConfigProblem[] } {
  const forges = new Map<string, { plugin: AnyPlugin; config: unknown }>();
  for (const entry of loaded) {
    forges.set(entry.plugin.name, entry);
    forges.set(entry.configKey, entry);
  }
  const backends = new Set(['auto', ...loaded.flatMap((e) => e.plugin.handles?.backends ?? [])]);
  const problems: ConfigProblem[] = [];
  const projects = Object.entries(config.settings.projects).map(([name, project]) => {
    const resolved = resolveTargets(name, project.targets as RawTarget[], forges, config.configDir);
    problems.push(...resolved.problems);
    const test = project.test as TestSpec;
    if (!backends.has(test.backend)) {
      problems.push({
        path: `projects.${name}.test.backend`,
        message: `no loaded plugin provides backend ${JSON.stringify(test.backend)} (known: ${[...backends].join(', ')})`,
      });
    }
    return { name, targets: resolved.targets, test };
  });
  return { projects, problems };
}

export class Bot {
  readonly hooks: Hooks;
  readonly run: RunInfo & { signal: AbortSignal };
  readonly projects: readonly ProjectConfig[];
  readonly plugins: readonly string[];
  /** VCS of the configured targets (what `verify` checks tools for). */
  readonly vcs: readonly string[];
  /** What the loaded plugins handle (VCS, container backends), as they declared it. */
  readonly handles: { readonly vcs: readonly string[]; readonly backends: readonly string[] };
  /** Taps running now, and those aborted that never settled. */
  readonly taps: TapStatus;
  /** The plugins of this run, in tap order, as `byoci plugins` shows them. */
  readonly loaded: readonly LoadedPlugin[];
  readonly #log: Logger;
  readonly #redactor: Redactor;
  readonly #controller: AbortController;
  readonly #keep: boolean;
  readonly #artefactsRoot: string;
  readonly #ledger: Ledger;
  readonly #secretProblems: Problem[];
  readonly #secretNotes: Note[];
  readonly #config: LoadedConfig;
  #shutDown = false;
  /** `prepare` calls still running (awaited before `shutdown`, so no tap outlives the run). */
  readonly #preparing = new Set<Promise<void>>();
  /** Targets whose discovery failed on a bad forge answer in this run. */
  readonly #discoveryErrors: string[] = [];

  private constructor(parts: {
    hooks: Hooks;
    run: RunInfo & { signal: AbortSignal };
    projects: ProjectConfig[];
    plugins: string[];
    vcs: string[];
    handles: { vcs: string[]; backends: string[] };
    tapStatus: TapStatus;
    loaded: LoadedPlugin[];
    log: Logger;
    redactor: Redactor;
    controller: AbortController;
    keep: boolean;
    artefactsRoot: string;
    storePath: string;
    secretProblems: Problem[];
    secretNotes: Note[];
    config: LoadedConfig;
  }) {
    this.#config = parts.config;
    this.hooks = parts.hooks;
    this.run = parts.run;
    this.projects = parts.projects;
    this.plugins = parts.plugins;
    this.vcs = parts.vcs;
    this.handles = Object.freeze({ vcs: Object.freeze(parts.handles.vcs), backends: Object.freeze(parts.handles.backends) });
    this.taps = parts.tapStatus;
    this.loaded = Object.freeze(parts.loaded);
    this.#log = parts.log;
    this.#redactor = parts.redactor;
    this.#controller = parts.controller;
    this.#keep = parts.keep;
    this.#artefactsRoot = parts.artefactsRoot;
    this.#ledger = new Ledger(parts.storePath);
    this.#secretProblems = parts.secretProblems;
    this.#secretNotes = parts.secretNotes;
  }

  /** Loads plugins, validates their config, resolves their secrets. Throws ConfigError. */
  static async create(options: BotOptions): Promise<Bot> {
    const { config, log, redactor } = options;
    const settings = config.settings;
    const locate = (problem: ConfigProblem): ConfigProblem => {
      const path = problem.path?.split('.') ?? [];
      return { ...config.locate(path), ...problem };
    };

    const { plugins, problems, needs } = await timeSpan('step', 'plugins loaded', () =>
      resolvePlugins(settings, config.configDir, options.registry, options.defaultPlugins, options.needs),
    );
    const validated = plugins.map((entry) => {
      const result = validatePluginConfig(entry.plugin, entry.rawConfig);
      // Problems carry the plugin's name; point them at the config key it was read from.
      for (const p of result.problems) {
        problems.push({ ...p, path: p.path?.replace(`plugins.${entry.plugin.name}`, `plugins.${entry.configKey}`) });
      }
      for (const message of declaredCommands(entry.plugin).problems) problems.push({ path: `plugins.${entry.configKey}`, message });
      return { ...entry, config: result.config };
    });
    if (problems.length) throw new ConfigError(problems.map(locate));
    const { projects, problems: targetProblems } = projectsOf(config, validated);
    if (targetProblems.length) throw new ConfigError(targetProblems.map(locate));

    const controller = new AbortController();
    const runId = options.runId ?? newRunId();
    const run = Object.freeze({
      id: runId,
      dryRun: options.dryRun ?? false,
      workdir: join(settings.workdir, `run-${runId}`),
      cacheDir: join(settings.workdir, 'cache'),
      buildUrl: options.buildUrl,
      namespace: config.namespace,
      configDir: config.configDir,
      storePath: storePath(settings, config.configDir),
      landing: { user: settings.landing.user, name: settings.landing.fullname, email: settings.landing.email },
      signal: controller.signal,
    });
    await mkdir(run.workdir, { recursive: true, mode: 0o700 });
    await claimRunDir(run.workdir);
    await removeStaleRunDirs(settings.workdir, log, [`run-${runId}`]);

    const hooks = createHooks();
    const tapStatus = interceptHooks(hooks, log, { ...options.taps, signal: controller.signal } satisfies InterceptOptions);
    const stores = options.stores ?? [];
    const secretProblems: Problem[] = [];
    const secretNotes: Note[] = [];
    const loaded: LoadedPlugin[] = [];
    for (const { plugin, config: pluginConfig, source, configKey } of validated) {
      const { values, missing, failed, notes } = await timeSpan('step', `secrets of ${plugin.name}`, () => lookupPluginSecrets(plugin, stores, log));
      for (const message of failed) secretProblems.push({ source: plugin.name, message, code: 'secret-store' });
      for (const message of notes) secretNotes.push({ source: plugin.name, message });
      for (const { key, description } of missing) {
        secretProblems.push({
          source: plugin.name,
          message: `required secret ${key} (${description}) is not set in any store (${stores.map((s) => s.name).join(', ') || 'none configured'})`,
          hint: `byoci secrets set ${key}`,
          code: 'secret-missing',
        });
      }
      const tapped = applyPlugin(
        hooks,
        plugin,
        createPluginApi({ plugin, config: pluginConfig, secrets: values, storeNames: stores.map((s) => s.name), log, run, redactor }),
      );
      loaded.push({
        name: plugin.name,
        description: plugin.description,
        configKey,
        source,
        apiVersion: plugin.apiVersion ?? PLUGIN_API_VERSION,
        hooks: tapped,
        secrets: Object.entries(plugin.secrets ?? {}).map(([name, d]) => {
          const declaration = d as { description: string; required?: boolean };
          return { name, description: declaration.description, required: declaration.required !== false, set: values.has(name) };
        }),
        commands: commandLeaves(declaredCommands(plugin).commands).map((leaf) => ({ name: leaf.words.join(' '), description: leaf.command.description })),
      });
    }

    return new Bot({
      hooks,
      run,
      projects,
      plugins: validated.map((p) => p.plugin.name),
      // The VCS of the configured targets: each target's branch, as its forge states it.
      vcs: [...new Set([...needs.vcs, ...projects.flatMap((p) => p.targets.map((t) => t.branch.vcs))])],
      handles: {
        vcs: [...new Set(validated.flatMap((p) => p.plugin.handles?.vcs ?? []))],
        backends: [...new Set(validated.flatMap((p) => p.plugin.handles?.backends ?? []))],
      },
      tapStatus,
      loaded,
      log,
      redactor,
      controller,
      keep: options.keep ?? false,
      artefactsRoot: settings.artefacts,
      storePath: storePath(settings, config.configDir),
      secretProblems,
      secretNotes,
      config,
    });
  }

  /** Interrupts the run (SIGINT/SIGTERM): running taps see `signal` aborted. */
  abort(reason = 'interrupted'): void {
    this.#controller.abort(new Error(reason));
  }

  /** Every problem the plugins find, plus notes for `doctor`. */
  async verify(): Promise<{ problems: Problem[]; notes: Note[] }> {
    const problems: Problem[] = [...this.#secretProblems];
    const notes: Note[] = [...this.#secretNotes];
    await this.hooks.verify.promise({
      projects: this.projects,
      plugins: this.plugins,
      vcs: this.vcs,
      handles: this.handles,
      problems,
      notes,
      signal: this.run.signal,
    });
    return { problems, notes };
  }

  /** Throws ConfigError listing every verify problem (exit 2). */
  async verifyOrThrow(): Promise<Note[]> {
    const { problems, notes } = await this.verify();
    if (problems.length) {
      throw new ConfigError(problems.map((p) => ({ message: `${p.source}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`, code: p.code ?? 'verify-failed' })));
    }
    return notes;
  }

  /** Every proposal of every target of the selected projects, with its readiness. */
  async discover(filter: { project?: string } = {}): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const project of this.projects) {
      if (filter.project && project.name !== filter.project) continue;
      for (const target of project.targets) {
        let proposals: Proposal[] | undefined;
        try {
          proposals = await this.hooks.discover.promise([], { project, target, signal: this.run.signal });
        } catch (error) {
          // A junk forge answer about one target must not stop the other targets' landings.
          const junk = asForgeAnswerError(error);
          if (!junk) throw error;
          this.#log.error('the forge answered junk: this target is skipped in this run', { project: project.name, forge: target.forge, error: junk.message });
          this.#discoveryErrors.push(junk.message);
          continue;
        }
        for (const proposal of proposals ?? []) out.push({ project, proposal, target });
      }
    }
    return out;
  }

  /**
   * Lands the queue of every target (or only the proposal given): the queue's driver takes
   * each target's lease, resumes what dead runs left, and lands the entries in queue order.
   */
  async landAll(filter: { project?: string; proposal?: string; batch?: number; window?: number } = {}): Promise<LandSummary> {
    const queue = this.#config.settings.queue;
    for (const project of this.projects.filter((p) => !filter.project || p.name === filter.project)) {
      const problem = windowProblem(queue, filter.window ?? queue.window, project, filter.window !== undefined ? '--window' : 'queue.window');
      if (problem && filter.window !== undefined) throw new UsageError(problem);
      if (problem) throw new ConfigError([{ path: 'queue.window', message: problem }]);
    }
    await timeSpan('step', 'sweep', () => this.sweep());
    const candidates = (await timeSpan('step', 'discover', () => this.discover(filter))).map((c) => ({ ...c, proposal: withMessageChecked(c.proposal) }));
    if (filter.proposal && !candidates.some((c) => c.proposal.id === filter.proposal)) {
      const known = candidates.map((c) => c.proposal.id);
      throw new UsageError(
        `no proposal ${filter.proposal} on the configured targets (${known.length ? `known: ${known.join(', ')}` : 'none found'}; see byoci list)`,
      );
    }
    const waiting = candidates.filter((c) => c.proposal.readiness.state === 'waiting' && (!filter.proposal || c.proposal.id === filter.proposal));
    const results: LandingResult[] = [];
    const busy: BusyTarget[] = [];
    const { db, store } = timeSpanSync('step', 'queue store opened', () => this.#openQueue({ ledger: true }));
    // The flake ledger is in the same store: it writes through this connection meanwhile.
    const returnLedger = this.run.dryRun ? undefined : this.#ledger.borrow(db);
    try {
      const driver = this.#driver(store, filter.batch, filter.window);
      const groups = groupByTarget(candidates);
      // Ready proposals of the targets after each one (the hint of how many tests follow).
      const ready = groups.map((g) => (filter.proposal ? 0 : g.candidates.filter((c) => c.proposal.readiness.state === 'ready').length));
      for (const [index, group] of groups.entries()) {
        if (this.run.signal.aborted) break;
        if (this.taps.abandoned.length) {
          // A tap ignored its abort and may still be working: land nothing more in this run.
          this.#log.error('a tap did not stop after being aborted: not landing anything more in this run', { taps: [...this.taps.abandoned] });
          break;
        }
        const done = await driver.driveTarget(group, filter.proposal, ready.slice(index + 1).reduce((a, b) => a + b, 0));
        results.push(...done.results);
        if (done.busy) busy.push({ target: group.key, holder: done.busy.holder, pid: done.busy.pid, host: done.busy.host, since: done.busy.acquired_at });
      }
      if (!this.run.signal.aborted) {
        const projects = new Set(this.projects.filter((p) => !filter.project || p.name === filter.project).map((p) => p.name));
        await driver.closeUnlisted(projects, new Set(groups.map((g) => g.key)));
      }
    } finally {
      returnLedger?.();
      db.close();
    }
    if (results.length === 0) this.#log.info('nothing to land', { waiting: waiting.length, ...(busy.length ? { busy: busy.length } : {}) });
    // A bad forge answer (a target skipped, a proposal waiting on it) ends the run as an internal error.
    const forgeFault = this.#discoveryErrors.length > 0 || waiting.some((c) => c.proposal.readiness.state === 'waiting' && c.proposal.readiness.internal === true);
    const exitCode = results.some((r) => r.kind === 'error') || forgeFault
      ? EXIT.internal
      : results.some((r) => r.kind === 'rejected')
        ? EXIT.rejected
        : EXIT.ok;
    return { results, waiting, busy, exitCode };
  }

  /** Brings the queues up to date with the forges without landing (byoci queue --refresh). */
  async refreshQueue(filter: { project?: string } = {}): Promise<void> {
    const candidates = (await this.discover(filter)).map((c) => ({ ...c, proposal: withMessageChecked(c.proposal) }));
    const { db, store } = this.#openQueue();
    try {
      const driver = this.#driver(store);
      for (const group of groupByTarget(candidates)) await driver.syncTarget(group);
    } finally {
      db.close();
    }
  }

  /** Removes what dead runs left (containers, sandboxes…): every backend's `sweep` taps. */
  async sweep(): Promise<void> {
    const removed: string[] = [];
    await this.hooks.sweep.promise({ runId: this.run.id, workdir: this.run.workdir, removed, projects: this.projects, signal: this.run.signal });
    if (removed.length) this.#log.warn('removed leftovers of dead runs', { removed: removed.join(', ') });
  }

  /** The store's queue; with --dry-run a throw-away copy in memory, so the store stays as it was. */
  #openQueue(options: { ledger?: boolean } = {}): { db: Db; store: QueueStore } {
    if (this.run.dryRun) {
      const db = openStore(':memory:', { migrations: QUEUE_MIGRATIONS });
      return { db, store: new QueueStore(db) };
    }
    const { db } = openQueueStore(this.#config, options.ledger ? { migrations: TESTS_MIGRATIONS } : {});
    const store = new QueueStore(db);
    syncConfigFreezes(store, this.#config.settings.queue);
    return { db, store };
  }

  #driver(store: QueueStore, batch?: number, window?: number): QueueDriver {
    return new QueueDriver({
      ...(batch !== undefined ? { batch } : {}),
      ...(window !== undefined ? { window } : {}),
      hooks: this.hooks,
      run: this.run,
      log: this.#log,
      redactor: this.#redactor,
      store,
      settings: this.#config.settings.queue,
      owner: processOwner(),
      keep: this.#keep,
      test: (project, dir, proposal, revision, options) => this.test(project, dir, proposal, revision, options),
      prepare: (project, tests, proposal) => this.prepare(project, tests, proposal),
      bail: (hook, promise, target) => this.#bail(hook, promise, target),
      testRejection,
      stopped: () => this.taps.abandoned.length > 0,
    });
  }

  /**
   * The `prepare` hint: `tests` tests of `project` follow once the landing has fetched and
   * merged, so backends may start making their sandboxes now. Not awaited: it returns at
   * once and the taps run beside the fetch (a failing tap is logged by the interceptor and
   * changes nothing); `shutdown` waits for them first.
   */
  prepare(project: ProjectConfig, tests: number, proposal?: Proposal): void {
    if (this.hooks.prepare.taps.length === 0 || this.#shutDown || this.run.signal.aborted) return;
    const call = this.hooks.prepare
      .promise({ ...(proposal ? { proposal } : {}), project, spec: project.test, runId: this.run.id, tests: Math.max(1, Math.floor(tests)), signal: this.run.signal })
      .catch((error: unknown) => this.#log.warn('prepare failed; the tests make their sandboxes as they start', { error: error instanceof Error ? error.message : String(error) }));
    this.#preparing.add(call);
    void call.finally(() => this.#preparing.delete(call));
  }

  /**
   * Runs the project's tests on a tree through the container backends, reads the test
   * reports among the artefacts, reruns failed ids (`test.retry`) and records every case in
   * the flake ledger when the tested `revision` is known.
   */
  async test(project: ProjectConfig, dir: string, proposal?: Proposal, revision?: string, options: TestOptions = {}): Promise<TestResult> {
    const out = this.#log.child(options.name ?? (proposal ? `${proposal.id}/test` : 'test'));
    const result = await runTests({
      spec: project.test,
      dir,
      log: out,
      runOnce: (spec, tree, attempt) => this.#testOnce(project, spec, tree, attempt, proposal, options),
      ...(revision
        ? { record: (attempt, run, cases) => recordTestRun(this.#ledger, { project: project.name, revision, runId: this.run.id, attempt, exitCode: run.exitCode, cases, ...(proposal ? { proposal: proposal.id } : {}) }, out) }
        : {}),
    });
    if (result.tests) out.info('test reports read', { total: result.tests.total, failed: result.tests.failed, skipped: result.tests.skipped });
    const forgiven = forgivenWords(result);
    if (forgiven) out.warn(`failures that do not block the landing: ${forgiven}`);
    return result;
  }

  async #testOnce(project: ProjectConfig, spec: TestSpec, dir: string, attempt: number, proposal?: Proposal, options: TestOptions = {}): Promise<TestResult> {
    const out = this.#log.child(options.name ?? (proposal ? `${proposal.id}/test` : 'test'));
    const name = safeName(options.name ?? proposal?.id ?? project.name);
    const artefactsDir = join(this.#artefactsRoot, this.run.id, attempt ? `${name}.rerun-${attempt}` : name);
    await mkdir(artefactsDir, { recursive: true });
    const result = await this.hooks.testInContainer.promise({
      ...(proposal ? { proposal } : {}),
      project,
      spec,
      dir,
      runId: this.run.id,
      artefactsDir,
      onLine: (stream, line) => out.info(`| ${line}`, stream === 'stderr' ? { stream } : {}),
      ...(options.upcoming !== undefined ? { upcoming: Math.max(0, Math.floor(options.upcoming)) } : {}),
      onSandbox: (sandbox) => {
        out.info('testing in', { backend: sandbox.backend, sandbox: sandbox.name });
        try {
          options.onSandbox?.({ backend: String(sandbox.backend), name: String(sandbox.name) });
        } catch (error) {
          out.warn('the sandbox was not recorded', { error: error instanceof Error ? error.message : String(error) });
        }
      },
      signal: options.signal ? AbortSignal.any([this.run.signal, options.signal]) : this.run.signal,
    });
    if (!result) {
      throw new Error(
        `no container backend took backend: ${project.test.backend} for project ${project.name} ` +
          '(is LXD running, or bubblewrap installed? see byoci doctor)',
      );
    }
    const { redacted, unchecked } = await redactArtefacts(result.artefacts, this.#redactor);
    for (const file of redacted) out.warn('a secret was masked in an artefact', { file });
    for (const file of unchecked) out.warn('artefact too large to check for secrets', { file });
    out.info('tests finished', { backend: result.backend, exitCode: result.exitCode, ms: result.durationMs, ...(result.timedOut ? { timedOut: result.timedOut } : {}) });
    return { ...result, outputTail: this.#redactor.redact(result.outputTail) };
  }

  /**
   * `byoci test`: merges `source` into `target` and runs the project's tests, without a
   * proposal, without pushing and without reporting.
   */
  async tryBranch(project: ProjectConfig, source: BranchRef, target: BranchRef): Promise<TestResult> {
    const proposal: Proposal = {
      id: `try:${source.branch || 'branch'}`,
      forge: 'cli',
      url: source.url,
      title: `try ${source.branch} from ${source.url}`,
      source,
      target,
      commitMessage: `Try ${source.branch}`,
      votes: [],
      readiness: { state: 'ready' },
    };
    await this.sweep();
    const workspace = join(this.run.workdir, 'try');
    // Its one test's sandbox is made while the branch is fetched and merged.
    this.prepare(project, 1);
    await rm(workspace, { recursive: true, force: true });
    await mkdir(workspace, { recursive: true });
    try {
      const checkout = await this.#bail('fetch', this.hooks.fetch.promise({ proposal, workspace, signal: this.run.signal }), target);
      const committer = { name: this.run.landing.name, email: this.run.landing.email };
      await this.#bail(
        'merge',
        this.hooks.merge.promise({ proposal, checkout, message: `Try ${source.branch}\n`, committer, signal: this.run.signal }),
        target,
      );
      // One tree, one test: no spare container is worth warming.
      return await this.test(project, checkout.dir, undefined, undefined, { upcoming: 0 });
    } finally {
      if (!this.#keep) await rm(workspace, { recursive: true, force: true });
    }
  }

  /** Calls `shutdown` once, then removes the run's work directory (unless kept). */
  async shutdown(reason: 'done' | 'error' | 'signal' = 'done'): Promise<void> {
    if (this.#shutDown) return;
    this.#shutDown = true;
    try {
      // What `prepare` taps started is theirs to clean up: let them finish starting it first.
      while (this.#preparing.size > 0) await Promise.allSettled([...this.#preparing]);
      await this.hooks.shutdown.promise({ reason, signal: new AbortController().signal });
    } finally {
      this.#ledger.close();
      if (!this.#keep) await rm(this.run.workdir, { recursive: true, force: true });
      else this.#log.info('work directory kept', { dir: this.run.workdir });
    }
  }

  async #bail<T>(hook: string, promise: Promise<T | undefined>, target: BranchRef): Promise<T> {
    const value = await promise;
    if (value === undefined) {
      throw new Error(`no plugin handles ${hook} for ${target.vcs} branches (loaded: ${this.plugins.join(', ')})`);
    }
    return value;
  }

  /** Hands an outcome to the reporters; with --dry-run only logs what would be reported. */
  async #report(outcome: Outcome, log: Logger): Promise<void> {
    if (this.run.dryRun) {
      log.info('dry-run: not reporting', { outcome: outcome.kind });
      return;
    }
    await this.hooks.report.promise(outcome);
  }
}
