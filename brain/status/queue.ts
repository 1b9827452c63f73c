/**
 * The status page's queue part, from the landing queue's one read function
 * (`queueSnapshot`, the data `byoci queue --json` prints): no second queue.
 */
import { queueSnapshot, type EntrySnapshot, type QueueSnapshot, type RunSnapshot, type TargetSnapshot } from '../../core/queue/index.js';
import type { Db } from '../../store/index.js';
import { failingTests as ledgerFailingTests, flakes as ledgerFlakes } from './tests.js';
import type { FailureView, FlakeView, QueueView, RunView, TargetView } from './view.js';

const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? undefined : ms / 1000);

function failure(e: EntrySnapshot, failingTests: (entry: EntrySnapshot) => string[]): FailureView {
  return {
    proposal: e.proposal,
    title: e.title,
    ...(e.url ? { url: e.url } : {}),
    at: e.since,
    reason: e.reason ?? '(no reason recorded)',
    runs: e.runs,
    failingTests: failingTests(e),
    links: e.url ? [{ text: 'proposal', url: e.url }] : [],
  };
}

function runView(run: RunSnapshot): RunView {
  return {
    id: run.id,
    attempt: run.attempt,
    proposals: run.proposals,
    state: run.state,
    ...(run.step ? { step: run.step.name } : {}),
    since: run.startedAt,
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    ...(run.trunkRevision ? { trunkRevision: run.trunkRevision } : {}),
    ...(run.treeRevision ? { treeRevision: run.treeRevision } : {}),
    ...(seconds(run.testMs) !== undefined ? { testSeconds: seconds(run.testMs) as number } : {}),
    sandboxes: run.sandboxes,
    ...(run.alive === false ? { dead: true } : {}),
    ...(run.detail ? { detail: run.detail } : {}),
  };
}

export interface QueueViewOptions {
  history?: number;
  /** Failing tests of a taken-out entry (from the test-results ledger, when there is one). */
  failingTests?: (entry: EntrySnapshot) => string[];
  /** Flaky tests of a target. */
  flakes?: (target: TargetSnapshot) => FlakeView[];
}

export function targetView(t: TargetSnapshot, options: QueueViewOptions = {}): TargetView {
  const failingTests = options.failingTests ?? (() => []);
  return {
    key: t.key,
    project: t.project,
    branch: t.branch,
    url: t.url,
    freeze: t.freeze,
    lease: t.lease ? { holder: t.lease.holder, host: t.lease.host, pid: t.lease.pid, since: t.lease.since, alive: t.lease.alive } : null,
    queue: t.entries.map((e, i) => ({
      position: e.position ?? i + 1,
      proposal: e.proposal,
      title: e.title,
      ...(e.url ? { url: e.url } : {}),
      state: e.state,
      ...((e.waitingFor ?? e.reason) ? { reason: (e.waitingFor ?? e.reason) as string } : {}),
      since: e.since,
      ...(e.underTestSince ? { underTestSince: e.underTestSince } : {}),
      priority: e.priority,
      attempts: e.attempts,
    })),
    runs: t.running.map(runView),
    recentRuns: t.recentRuns.map(runView),
    landings: t.landings.map((l) => ({
      proposal: l.proposal,
      title: l.title,
      landedAt: l.landedAt,
      ...(l.revision ? { revision: l.revision } : {}),
      waitedSeconds: l.waitedMs / 1000,
      ...(seconds(l.landingMs) !== undefined ? { landingSeconds: seconds(l.landingMs) as number } : {}),
      ...(seconds(l.testMs) !== undefined ? { testSeconds: seconds(l.testMs) as number } : {}),
      attempts: l.attempts,
    })),
    failures: t.takenOut.map((e) => failure(e, failingTests)),
    flakes: options.flakes?.(t) ?? [],
  };
}

export function fromSnapshot(snapshot: QueueSnapshot, options: QueueViewOptions = {}): QueueView {
  return { targets: snapshot.targets.map((t) => targetView(t, options)), freezes: snapshot.freezes };
}

/** Reads the queue's part of the page from the store, with the ledger's failing tests and flakes. */
export function readQueue(db: Db, options: QueueViewOptions = {}): QueueView {
  return fromSnapshot(queueSnapshot(db, options.history !== undefined ? { history: options.history } : {}), {
    failingTests: (e) => ledgerFailingTests(db, e.project, e.proposal),
    flakes: (t) => ledgerFlakes(db, t.project),
    ...options,
  });
}
