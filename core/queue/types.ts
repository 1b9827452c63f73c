/**
 * Types shared by the queue's driver (driver.ts) and its batch lander (batch.ts), kept apart
 * so that neither imports the other's module for them.
 */
import type { Hooks } from '../../hooks/index.js';
import type { BranchRef, Outcome, PinnedContent, ProjectConfig, Proposal, RejectionInfo, Sandbox, Target, TestResult, TestSpec } from '../../hooks/types.js';
import type { Redactor } from '../../secrets/redact.js';
import type { Rejection } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProcessOwner } from '../owner.js';
import type { RunInfo } from '../plugin.js';
import type { QueueSettings } from './config.js';
import type { LeaseRow, QueueStore } from './store.js';

/** A proposal with the project whose target it was found on. */
export interface Candidate {
  project: ProjectConfig;
  proposal: Proposal;
  /** The configured target whose discover found it. */
  target?: Target;
}

export type LandingResult = Outcome & { dryRun: boolean };

/** The proposals discovered for one target branch (one queue), whatever forge found them. */
export interface TargetGroup {
  key: string;
  project: ProjectConfig;
  ref: BranchRef;
  candidates: Candidate[];
}

export interface TargetResult {
  results: LandingResult[];
  /** Set when another live bot holds the target's lease. */
  busy?: LeaseRow;
}

/** Options of one test (Bot.test, DriverContext.test). */
export interface TestOptions {
  onSandbox?: (sandbox: Sandbox) => void;
  signal?: AbortSignal;
  name?: string;
  /** `TestPayload.upcoming`: further tests expected to start soon (absent: unknown). */
  upcoming?: number;
}

export interface DriverContext {
  hooks: Hooks;
  run: RunInfo & { signal: AbortSignal };
  log: Logger;
  redactor: Redactor;
  store: QueueStore;
  settings: QueueSettings;
  owner: ProcessOwner;
  keep: boolean;
  /**
   * Runs the project's tests on a merged tree (Bot.test). `onSandbox` hears the container or
   * sandbox each test run is in (the driver records it with the queue run: store.addSandbox);
   * `signal` stops this one test (a speculative run thrown away); `name` names its log and
   * artefacts directory (several trees of one proposal under test at once); `upcoming` is
   * the hint `TestPayload.upcoming` (how many further tests are expected to start soon).
   */
  test(project: ProjectConfig, dir: string, proposal: Proposal, revision: string, options?: TestOptions): Promise<TestResult>;
  /**
   * The `prepare` hint (Bot.prepare): `tests` tests of `project` follow once this landing
   * has fetched and merged. Returns at once; never throws; the taps run meanwhile.
   */
  prepare?(project: ProjectConfig, tests: number, proposal?: Proposal): void;
  /** A bail hook's value, or an error naming the missing plugin. */
  bail<T>(hook: string, promise: Promise<T | undefined>, target: BranchRef): Promise<T>;
  /** Rejection of a finished test run, if any. */
  testRejection(result: TestResult, spec: TestSpec): Rejection | undefined;
  /**
   * True once the run must land nothing more (a tap ignored its abort and may still be
   * working): the entries left stay queued for the next run.
   */
  stopped?(): boolean;
  /** `byoci land --batch N`: overrides `queue.batch`. */
  batch?: number;
  /** `byoci land --window K`: overrides `queue.window` (checked against `queue.slots` first). */
  window?: number;
}

/** A final outcome as recorded in the report effect, enough to report it again after a crash. */
export type Final =
  | { kind: 'landed'; revision: string; pinned?: PinnedContent }
  | { kind: 'rejected'; rejection: RejectionInfo };

/** A proposal id made safe as a directory name. */
export function safeName(id: string): string {
  return id.replace(/[^\w.-]+/g, '_').slice(0, 80);
}
