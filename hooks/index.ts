/**
 * The hook points of a landing, built fresh for every run with `createHooks()`.
 *
 * Order of a run:   verify → sweep → discover → (per queue entry, in queue order)
 *                   prepare (not awaited) ∥ report(started) → fetch → merge → gate
 *                   → testInContainer → push → report(landed|rejected|error) → shutdown;
 *                   queueChanged whenever an entry's queue state changes.
 *
 * Conventions (see README "Design"):
 * - Plugins tap with `tapPromise` and async functions only; core calls the hooks.
 * - Bail hooks stop at the first tap that returns a value: return `undefined` to pass
 *   (e.g. "this proposal is not git, not mine").
 * - Every tap is wrapped by core: timing, logging, a timeout, and `{plugin, hook}` stamped
 *   on any error it throws. Throw a `Rejection` (core/errors) to reject a proposal with a
 *   comment; anything else is an internal error.
 * - Every tap gets its own `AbortSignal`: `payload.signal` where the payload has one, and
 *   always `context.signal` (the argument after the hook's, see `TapContext`). It fires
 *   when the run is interrupted (SIGINT/SIGTERM; not for `shutdown`) and when the tap's
 *   timeout passes; core then waits for the tap to settle. Hand it to every process and
 *   request the tap starts, and stop when it fires.
 */
import { AsyncParallelHook, AsyncSeriesBailHook, AsyncSeriesHook, AsyncSeriesWaterfallHook } from 'tapable';
import type {
  Checkout,
  MergeResult,
  Outcome,
  Note,
  Problem,
  ProjectConfig,
  Proposal,
  PushResult,
  QueueEvent,
  Sandbox,
  Target,
  TestResult,
  TestSpec,
} from './types.js';

export type * from './types.js';

/** Payload of `verify`. */
export interface VerifyPayload {
  projects: readonly ProjectConfig[];
  /**
   * Names of the plugins loaded in this run (e.g. to say "bzr target, no bzr plugin").
   * Always set by core; optional only so that a plugin's tests can call verify alone.
   */
  plugins?: readonly string[];
  /**
   * VCS of the configured targets, from the config alone (a target's `vcs`, else what its
   * forge tells, else git): a VCS plugin checks its tool only when its VCS is in here.
   * Always set by core; when absent (a plugin's own tests) plugins read `targets[].vcs`.
   */
  vcs?: readonly string[];
  /** What the loaded plugins handle (declared in their definitions; no guessing by name). */
  handles?: { readonly vcs: readonly string[]; readonly backends: readonly string[] };
  /** Push every problem found; core reports all of them together and stops (exit 2). */
  problems: Problem[];
  /** Push facts worth a line in `byoci doctor` (e.g. "lxd: daemon 5.0.2 answers, image hostusr"). */
  notes: Note[];
  signal: AbortSignal;
}

/** Context of `discover` (the proposals list is the waterfall value). */
export interface DiscoverPayload {
  project: ProjectConfig;
  /** The configured target: its branch, and the forge's own options (read by that forge only). */
  target: Target;
  signal: AbortSignal;
}

export interface FetchPayload {
  proposal: Proposal;
  /** Empty directory, owned by this run, in which to make the checkout. */
  workspace: string;
  signal: AbortSignal;
}

export interface MergePayload {
  proposal: Proposal;
  checkout: Checkout;
  /** Full commit message: the proposal's message plus `Merged from <url>`. */
  message: string;
  /** Committer identity (the landing user); the author comes from the approved revision. */
  committer: { name: string; email: string };
  signal: AbortSignal;
}

export interface TestPayload {
  /** Absent when `byoci test` tries a branch without a proposal. */
  proposal?: Proposal;
  project: ProjectConfig;
  spec: TestSpec;
  /** Directory of the merged tree on the slave. */
  dir: string;
  /** Run id, unique per bot run; container names derive from it. */
  runId: string;
  /** Where artefacts are copied back to. */
  artefactsDir: string;
  /** Called with each output line (no trailing newline) as it arrives. */
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /**
   * Tell core which container or sandbox the tests run in, once it is chosen (LXD: the
   * container's name; bwrap/unshare: the scratch directory; unsafe-host: the host). Core
   * records it with the queue run, and `byoci queue` and the status page show it. Optional:
   * a backend that does not call it is shown with its backend name only. Call it again for
   * each further container of the same payload (none today).
   */
  onSandbox?: (sandbox: Sandbox) => void;
  /**
   * A hint, set by core: how many further tests this process expects to start soon after
   * this one (while it runs or right after its result), not counting `test.retry` reruns.
   * The serial queue: the ready entries after this one, over all targets of the run (0 for
   * the last one, and for `byoci test`); the batch/window engine: the trees it is starting
   * together with this one, plus the window's other slots while more rounds are expected.
   * Backends may prepare that many sandboxes ahead (LXD warms `min(spares, upcoming)`
   * containers). Absent: unknown (a third-party caller); the backend does what it did
   * before the hint existed. Never a promise: more or fewer tests may follow.
   */
  upcoming?: number;
  signal: AbortSignal;
}

/**
 * Payload of `prepare`: tests of `project` are coming, once the landing's tree exists.
 * Only what is known before the fetch: the project and its test spec (backend, image,
 * limits, network), never a tree, a revision or a credential.
 */
export interface PreparePayload {
  /** Absent for `byoci test` (a branch tried without a proposal). */
  proposal?: Proposal;
  project: ProjectConfig;
  /** The spec the first of these tests runs with (`project.test`). */
  spec: TestSpec;
  /** Run id, as in `TestPayload.runId`. */
  runId: string;
  /**
   * How many tests core expects to start once the fetch and merge are done (≥ 1): 1 for a
   * serial landing and `byoci test`, the first round's trees for a batch or window. The
   * tests after those are announced by `TestPayload.upcoming`, as before. A hint only:
   * a landing rejected at fetch or merge starts none.
   */
  tests: number;
  signal: AbortSignal;
}

export interface GatePayload {
  proposal: Proposal;
  project: ProjectConfig;
  /** The checkout: `sourceRevision` is the approved revision, `targetRevision` trunk's tip. */
  checkout: Checkout;
  /** The merge about to be tested: `revision` is the merged revision. */
  merge: MergeResult;
  /**
   * Say what the landing waits for now (e.g. `github ci/jenkins: pending`), each time it
   * changes: core logs it (and shows it where the queue is shown). Empty: nothing.
   */
  waiting(what: readonly string[]): void;
  signal: AbortSignal;
}

export interface PushPayload {
  proposal: Proposal;
  checkout: Checkout;
  merge: MergeResult;
  signal: AbortSignal;
}

export interface SweepPayload {
  /** This run's id: leftovers of this run are not orphans. */
  runId: string;
  /** The run's work directory (leftovers of dead runs sit beside it). */
  workdir: string;
  /** Push a line per leftover removed (e.g. "lxd: container byoci-…"), for the log. */
  removed: string[];
  /** The configured projects (what caches are still in use: the VCS mirrors of their targets). */
  projects?: readonly ProjectConfig[];
  signal: AbortSignal;
}

export interface ShutdownPayload {
  reason: 'done' | 'error' | 'signal';
  /**
   * The tap's signal: fires only at its timeout (shutdown runs after an interrupt, to clean
   * up). Always set for taps by core (also as `context.signal`); callers may omit it.
   */
  signal?: AbortSignal;
}

/** The last argument of every tap: the tap's own signal (the only one `report` taps get). */
export interface TapContext {
  signal: AbortSignal;
}

/**
 * Builds the hooks of one run. Read the doc block of each hook before tapping it.
 */
export function createHooks() {
  return Object.freeze({
    /**
     * verify (AsyncSeriesHook). Payload: VerifyPayload.
     * Tap returns: nothing; push `Problem`s onto `payload.problems` (config, credentials,
     * missing tools). Never throw for a problem the operator can fix: collect it.
     * Before: config validation by core. After: discover (or doctor's report).
     */
    verify: new AsyncSeriesHook<[VerifyPayload]>(['payload']),

    /**
     * sweep (AsyncSeriesHook). Payload: SweepPayload.
     * Tap returns: nothing. Remove what dead runs left behind (their containers, sandboxes,
     * staging directories) and push a line per thing removed onto `payload.removed`. Never
     * touch a leftover whose owner is alive (another bot is using it). Called at the start of
     * every run that lands or tests, whichever backend the run will use.
     * Before: verify. After: discover (land) or fetch (byoci test).
     */
    sweep: new AsyncSeriesHook<[SweepPayload]>(['payload']),

    /**
     * discover (AsyncSeriesWaterfallHook). Value: Proposal[]; context: DiscoverPayload.
     * Tap returns: the list with the proposals of `context.target` appended, when the
     * target's `forge` is yours; otherwise the list unchanged. Include non-ready proposals
     * with their `readiness` so `byoci list` can say why they wait.
     * Before: verify. After: report(started) for each ready proposal.
     */
    discover: new AsyncSeriesWaterfallHook<[Proposal[], DiscoverPayload]>(['proposals', 'context']),

    /**
     * prepare (AsyncParallelHook). Payload: PreparePayload.
     * Tap returns: nothing, as soon as the preparation is *started* (not finished).
     * A hint that `payload.tests` tests of `payload.project` follow once the landing has
     * fetched and merged: a backend may start making their sandboxes now, so that this
     * work overlaps the fetch and the merge instead of following them (LXD creates and
     * starts a container like a warm spare, within `plugins.lxd.spares`; bwrap and
     * unshare have nothing to prepare and do not tap it). Nothing is handed to the
     * sandbox here: the tree arrives with `testInContainer`, after the merge, as always.
     * Never blocks the landing: core does not await it before the fetch (it awaits it
     * before `shutdown`, so no tap outlives the run); a failing tap is logged and changes
     * nothing. What a tap starts is its own to track: it may end up unused (a landing
     * rejected at fetch or merge, an interrupt), and the plugin's `shutdown` must delete it.
     * Called when an entry is taken to land (before each attempt's fetch), by `byoci test`,
     * and by the batch/window engine before a round's fetch.
     * Before: report(started) runs beside it. After: fetch (not waited for).
     */
    prepare: new AsyncParallelHook<[PreparePayload]>(['payload']),

    /**
     * fetch (AsyncSeriesBailHook). Payload: FetchPayload.
     * Tap returns: a Checkout when the proposal's VCS is yours, else undefined.
     * Make a fresh checkout of the target tip in `workspace`, fetch the source at
     * `approvedRevision`; throw Rejection `changes-after-approval` when the source tip moved.
     * Before: report(started). After: merge.
     */
    fetch: new AsyncSeriesBailHook<[FetchPayload], Checkout | undefined>(['payload']),

    /**
     * merge (AsyncSeriesBailHook). Payload: MergePayload.
     * Tap returns: MergeResult (a committed merge) when the VCS is yours, else undefined.
     * Reject `nothing-to-merge` / `merge-conflict` from the VCS state, not from messages.
     * Before: fetch. After: gate.
     */
    merge: new AsyncSeriesBailHook<[MergePayload], MergeResult | undefined>(['payload']),

    /**
     * gate (AsyncSeriesHook). Payload: GatePayload. Called with --dry-run too (taps that
     * start remote jobs check `api.run.dryRun`); not called for an already-landed merge.
     * Tap returns: nothing. Wait, bounded, for what must hold before the tests run (remote
     * CI results for the approved or the merged revision); throw a Rejection to stop the
     * landing (`remote-failed`, `remote-timeout`). Never wait without a bound.
     * Before: merge. After: testInContainer.
     */
    gate: new AsyncSeriesHook<[GatePayload]>(['payload']),

    /**
     * testInContainer (AsyncSeriesBailHook). Payload: TestPayload.
     * Tap returns: TestResult when `spec.backend` names your backend (or `auto` picked it),
     * else undefined. Runs `spec.setup` then `spec.command` in a throw-away environment;
     * cleans up in every case. A failing test is a result, not an exception.
     * Before: gate (or fetch+merge of `byoci test`). After: push.
     */
    testInContainer: new AsyncSeriesBailHook<[TestPayload], TestResult | undefined>(['payload']),

    /**
     * push (AsyncSeriesBailHook). Payload: PushPayload. Never called with --dry-run.
     * Tap returns: PushResult when the VCS is yours, else undefined. Never force; a
     * non-fast-forward is a Rejection `push-rejected`. Pushing an already-pushed revision
     * succeeds (idempotent).
     * Before: testInContainer. After: report(landed).
     */
    push: new AsyncSeriesBailHook<[PushPayload], PushResult | undefined>(['payload']),

    /**
     * report (AsyncParallelHook). Payload: Outcome. Never called with --dry-run.
     * Tap returns: nothing. Forges act on their own proposals (`proposal.forge`), chat
     * reporters on all. A throwing reporter is logged; it never changes the outcome.
     * Side effects must be idempotent (ensureComment/ensureStatus).
     * Before: discover (started) or push/any failure. After: the next proposal, or shutdown.
     */
    report: new AsyncParallelHook<[Outcome]>(['outcome']),

    /**
     * queueChanged (AsyncParallelHook). Payload: QueueEvent. Never called with --dry-run.
     * Tap returns: nothing. A proposal entered the queue, moved up, went under test, landed
     * or was taken out (with the reason): e.g. a status page or a chat line. Isolated like
     * `report`: a failing tap is logged and changes nothing.
     * Before/after: any step of a landing that changes the entry's state.
     */
    queueChanged: new AsyncParallelHook<[QueueEvent]>(['event']),

    /**
     * shutdown (AsyncSeriesHook). Payload: ShutdownPayload.
     * Tap returns: nothing. Release what the plugin holds (connections, containers).
     * Called once per run in every case, also after SIGINT/SIGTERM.
     */
    shutdown: new AsyncSeriesHook<[ShutdownPayload]>(['payload']),
  });
}

/** The hooks of one run, as core sees them. */
export type Hooks = ReturnType<typeof createHooks>;

/** Names of the hook points. */
export type HookName = keyof Hooks;

export const HOOK_NAMES: readonly HookName[] = Object.freeze([
  'verify',
  'sweep',
  'discover',
  'prepare',
  'fetch',
  'merge',
  'gate',
  'testInContainer',
  'push',
  'report',
  'queueChanged',
  'shutdown',
]);

/** Options of a tap: tapable's stage ordering, and a timeout overriding the hook default. */
export interface TapOptions {
  stage?: number;
  /** Milliseconds before core gives up on this tap (0 = no limit). */
  timeoutMs?: number;
}

/** A hook as a plugin sees it: it can only be tapped, with an async function. */
export interface Tappable<Args extends unknown[], Result> {
  tapPromise(fn: (...args: [...Args, TapContext]) => Promise<Result>, options?: TapOptions): void;
}

/**
 * What a plugin's `apply()` receives: taps only, named after the plugin.
 * Plugins may tap, never call hooks. Kept in step with `createHooks()` by a type test.
 */
export interface TapHooks {
  readonly verify: Tappable<[VerifyPayload], void>;
  readonly sweep: Tappable<[SweepPayload], void>;
  readonly discover: Tappable<[Proposal[], DiscoverPayload], Proposal[]>;
  readonly prepare: Tappable<[PreparePayload], void>;
  readonly fetch: Tappable<[FetchPayload], Checkout | undefined>;
  readonly merge: Tappable<[MergePayload], MergeResult | undefined>;
  readonly gate: Tappable<[GatePayload], void>;
  readonly testInContainer: Tappable<[TestPayload], TestResult | undefined>;
  readonly push: Tappable<[PushPayload], PushResult | undefined>;
  readonly report: Tappable<[Outcome], void>;
  readonly queueChanged: Tappable<[QueueEvent], void>;
  readonly shutdown: Tappable<[ShutdownPayload], void>;
}

type HookArgs<H> = H extends { promise(...args: infer A): Promise<unknown> } ? A : never;
type FacadeArgs<T> = T extends Tappable<infer A, infer _R> ? A : never;
/** Compile-time check that TapHooks matches the hooks built by createHooks(). */
export type TapHooksInStep = {
  [K in HookName]: HookArgs<Hooks[K]> extends FacadeArgs<TapHooks[K]>
    ? FacadeArgs<TapHooks[K]> extends HookArgs<Hooks[K]>
      ? true
      : never
    : never;
};
