/**
 * Payload types shared by the hook points. Plugins import these (and only these, plus
 * core's public surface) to describe what they receive and return.
 */
import type { z } from 'zod';
import type { testSchema } from '../core/config-schema.js';
import type { OperatorErrorCode } from '../core/errors.js';

/**
 * Which version control system a branch lives in. A fetch/merge/push plugin handles the
 * ones it declares (`handles.vcs` of its definition); git and bzr are built in.
 */
export type Vcs = 'git' | 'bzr' | (string & {});

/** A branch a plugin can fetch from or push to. `url` is anything the VCS accepts. */
export interface BranchRef {
  vcs: Vcs;
  /** Clone/fetch URL or local path; never interpreted by a shell. */
  url: string;
  /** Branch name (git) or an empty string for bzr branches, whose URL is the branch. */
  branch: string;
}

/**
 * A target of a project as configured by the operator (never read from a branch), after
 * core validated it with its forge's target schema (`forge.target` of the forge plugin).
 */
export interface Target<Options = Readonly<Record<string, unknown>>> {
  /** Name of the forge plugin that owns the target ("local", "launchpad", "github"...). */
  forge: string;
  /**
   * The branch the target names, as its forge states it from the config (no I/O): what
   * VCS plugins and the landing queue read. `targetKey()` (core) is its canonical key.
   */
  branch: BranchRef;
  /** The forge's own settings, as its target schema parsed them. Only that forge reads them. */
  options: Options;
}

/**
 * How the tests of a project run, as core validated it: the output type of its zod schema
 * (`testSchema`, core/config-schema.ts, where each field is documented), so the two cannot
 * drift apart.
 */
export type TestSpec = z.output<typeof testSchema>;

/** A project: a set of targets sharing one test spec. */
export interface ProjectConfig {
  name: string;
  targets: Target[];
  test: TestSpec;
}

/** A vote on a proposal, in Launchpad's vocabulary (GitHub reviews are mapped to it). */
export interface Vote {
  reviewer: string;
  vote: 'Approve' | 'Needs Fixing' | 'Disapprove' | 'Abstain' | 'Needs Information' | 'Needs Resubmitting' | 'Pending';
  /** Whether the reviewer is trusted for this target (only trusted votes count). */
  trusted: boolean;
  /** Revision the vote was cast on, when the forge knows it. */
  revision?: string;
}

/**
 * Whether a discovered proposal can land now.
 * - `ready`: approved and meets every criterion; the bot lands it.
 * - `waiting`: not for now (not approved, prerequisite not merged...): no comment is posted.
 * - `rejected`: approved but unacceptable (untrusted votes, no commit message...): the bot
 *   posts `reason` as a comment and sets the proposal back to review.
 */
export type Readiness =
  | {
      state: 'ready';
      /** What the landing will wait for first (remote CI results not green yet), for `byoci list`. */
      waitsFor?: string[];
    }
  /** `internal`: the forge (or byoci) is at fault, not the proposal; the run ends as an internal error. */
  | { state: 'waiting'; reason: string; internal?: boolean }
  | { state: 'rejected'; code: string; reason: string };

/** A merge proposal / pull request, normalised by the forge plugin that found it. */
export interface Proposal {
  /** Stable id, unique across forges, e.g. `local:3`, `github:owner/repo#12`. */
  id: string;
  /** Name of the forge plugin that discovered it and reports on it. */
  forge: string;
  /** Web URL, used in `Merged from <url>` and in reports. */
  url: string;
  title: string;
  source: BranchRef;
  target: BranchRef;
  /** The revision that was reviewed and approved; what lands. Undefined: the source tip. */
  approvedRevision?: string;
  /**
   * bzr: the sha1 of the strict testament (`brz testament --strict`) of the approved
   * revision as reviewed, when the forge records it. A bzr revision id is a name, not
   * content: this pins the content (fetch rejects a revision whose testament differs).
   */
  approvedTestament?: string;
  /** Commit message of the landing (already falls back to the description, forge-side). */
  commitMessage: string;
  votes: Vote[];
  readiness: Readiness;
  /**
   * When the approval that made the proposal ready was given (ISO 8601), when the forge
   * knows it (Launchpad `date_reviewed`, GitHub's trigger or last approving review, the local
   * file's `date_reviewed`). The landing queue orders by it: first approved, first landed.
   * Absent: the time the queue first saw it approved.
   */
  approvedAt?: string;
  /**
   * A priority asked for on the forge (a `byoci:priority=<name>` label, a Launchpad vote
   * tag `priority=<name>`, the local file's `priority`): a name of `queue.priorities`. A
   * higher priority lands first; an unknown name is ignored with a warning.
   */
  priority?: string;
  /**
   * Forge-private data (API links, numbers...), opaque to core and other plugins: the forge
   * declares its schema (`forge.meta`), core validates it when discover returns the proposal,
   * and the forge reads it back typed with `api.proposalMeta(proposal)`.
   */
  meta?: unknown;
}

/** A checkout made by `fetch`: the target at its current tip plus the approved source. */
export interface Checkout {
  /** Directory holding the working tree. */
  dir: string;
  /** Target tip the merge starts from (what `push` must fast-forward from). */
  targetRevision: string;
  /** Approved source revision that was fetched. */
  sourceRevision: string;
  /** bzr: sha1 of the strict testament of `sourceRevision` (its content, as fetched). */
  sourceTestament?: string;
}

/** The merge made by `merge`: committed, ready to test and push. */
export interface MergeResult {
  revision: string;
  /**
   * True when the target already holds this proposal's landing (a rerun after a crash
   * between push and report): core then skips the tests and the push and reports `landed`.
   */
  alreadyLanded?: boolean;
}

/** A container or sandbox the tests run in, as its backend names it (`TestPayload.onSandbox`). */
export interface Sandbox {
  /** The backend's name: lxd, bwrap, unshare, unsafe-host. */
  backend: string;
  /** The container's name (or the sandbox's scratch directory, the host's name). */
  name: string;
}

/** Outcome of `testInContainer`. A non-zero exit code means the tests failed. */
export interface TestResult {
  backend: string;
  exitCode: number;
  /** Which phase ended the run: setup failures are reported as such. */
  phase: 'setup' | 'test';
  /** Set when a timeout killed the run. */
  timedOut?: 'total' | 'no-output';
  /** Set when the container was killed for exceeding its memory limit. */
  oomKilled?: boolean;
  /** The memory limit the backend applied (its default when the project sets none). */
  memoryLimit?: string;
  /** The last lines of output (already redacted), for rejection comments. */
  outputTail: string;
  /** Host paths of artefacts copied back from the container. */
  artefacts: string[];
  durationMs: number;
  /**
   * The test cases read by core from the JUnit XML and subunit v2 files among `artefacts`
   * (absent when there are none); backends leave it unset. See `TestSummary`.
   */
  tests?: TestSummary;
}

/**
 * What the JUnit XML / subunit v2 reports of a test run say, summed over every report found
 * among the artefacts (core/test-report). Ids are `classname.name` (JUnit) or the subunit
 * test id, control characters removed; they come from the tested tree: treat as untrusted.
 */
export interface TestSummary {
  /** Test cases run (skipped ones included). */
  total: number;
  /** Failed or errored cases (unexpected successes included), quarantined ones included. */
  failed: number;
  skipped: number;
  /** Ids of the failed cases, in report order (at most 10 000). */
  failures: string[];
  /** Of `failures`, those the project quarantined (`test.quarantine`): they do not reject. */
  quarantined: string[];
  /** Report files (host paths) the cases were read from. */
  reports: string[];
  /**
   * Set when `test.retry` reran the failed ids in a fresh container on the same tree:
   * `passed` passed on the rerun (flakes, recorded in the ledger), `failedAgain` did not.
   */
  retry?: { ids: string[]; passed: string[]; failedAgain: string[]; exitCode: number };
}

export interface PushResult {
  revision: string;
}

/** A rejection, as handed to reporters: code from the catalogue plus comment text. */
export interface RejectionInfo {
  code: string;
  reason: string;
  /** Extra text for the comment, e.g. the tail of a failing test run. */
  details?: string;
}

/**
 * bzr: what landed, pinned by content: the source revision fetched (the reviewed revid) and
 * the sha1 of its strict testament (`brz testament --strict`), as the fetch computed it.
 * Forges write it into the landing comment, so a reviewer can check that the content that
 * landed is the content reviewed (a bzr revid is a name, not a digest of the content).
 */
export interface PinnedContent {
  revision: string;
  testament: string;
}

/** What happened to one proposal; handed to every `report` tap. */
export type Outcome = (
  | { kind: 'started'; proposal: Proposal; project: ProjectConfig; buildUrl?: string }
  | { kind: 'landed'; proposal: Proposal; project: ProjectConfig; revision: string; buildUrl?: string; test?: TestResult; pinned?: PinnedContent }
  | { kind: 'rejected'; proposal: Proposal; project: ProjectConfig; rejection: RejectionInfo; buildUrl?: string; test?: TestResult }
  | { kind: 'error'; proposal: Proposal; project: ProjectConfig; message: string; buildUrl?: string }
) & {
  /**
   * True when an earlier run began this very report and died before recording that it was
   * done (kill -9 during report): it may have been delivered. Forges look before they act
   * (ensureComment, ensureStatus); a reporter that cannot look (a chat line) skips it.
   */
  replay?: boolean;
  /** Set when the proposal was landed or judged in a batch: which one, with whom, why (one sentence). */
  batch?: string;
};

/** Where a proposal stands in its target's landing queue; handed to `queueChanged` taps. */
export interface QueueEvent {
  /** The queue's key: `<vcs>:<canonical repository>[#<branch>]`. */
  target: string;
  proposal: Proposal;
  project: ProjectConfig;
  /** queued | testing | pushed | landed | out | superseded | withdrawn */
  state: string;
  /** 1-based position among the target's open entries (absent once closed). */
  position?: number;
  /** Open entries of the target, this one included. */
  length?: number;
  /** What it waits for, or why it left the queue. */
  reason?: string;
  /** Merge + test rounds of this approval so far. */
  attempts: number;
}

/** One configuration or prerequisite problem found by `verify`. */
export interface Problem {
  /** Plugin or core area that found it. */
  source: string;
  message: string;
  /** What to do about it. */
  hint?: string;
  /** A code of the operator-error catalogue (docs/errors.md), e.g. `secret-missing`. Default: `verify-failed`. */
  code?: OperatorErrorCode;
}

/** A positive fact found by `verify`, printed by `byoci doctor` as an ok line. */
export interface Note {
  source: string;
  message: string;
}
