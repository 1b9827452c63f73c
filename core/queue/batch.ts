/**
 * Batches (`queue.batch: N`, `byoci land --batch N`; git targets): the first N ready entries
 * of a target's queue are merged onto the trunk tip one after another, each with its own
 * merge commit, and the combined tree is tested once.
 *
 * - Before the batch is tested, each proposal is merged alone onto the tip in its own
 *   checkout: one that conflicts with trunk (or whose fetch is refused) is taken out alone
 *   with its own reason; one that merges alone but conflicts with the proposals ahead of it
 *   in the batch stays queued and goes into the next batch (it never poisons this one).
 * - Green: one push of exactly the tested tree over exactly the tip it was merged onto;
 *   every proposal is reported landed (its own merge commit) with a sentence naming the batch.
 * - Red: bisection, one half at a time (window 1): the first half is rebuilt on the
 *   current tip and tested; a green part lands at once, and the rest is rebuilt on the new
 *   tip (so every pushed tree is a tested tree, merged onto the tip it is pushed over). A
 *   proposal red alone is the culprit, rejected with its own test output. A red set none of
 *   whose parts fails is reported as a suspected flake (its proposals land as their parts
 *   were proven), never blamed on a proposal.
 * - A refused push (trunk moved) rebuilds the same set on the new tip, `queue.attempts` rounds.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkout, MergeResult, Proposal, RejectionInfo, TestResult } from '../../hooks/types.js';
import { Rejection, asRejection } from '../errors.js';
import type { Logger } from '../logger.js';
import { run as runCommand } from '../process.js';
import { faultPoint } from './fault.js';
import type { Candidate, DriverContext, Final, LandingResult, TargetGroup } from './types.js';
import type { EntryRow, EntryState, RunRow } from './store.js';

export interface BatchMember {
  entry: EntryRow;
  c: Candidate;
}

/** The driver's journalled steps and reports, lent to the batch. */
export interface BatchTools {
  step<T>(runRow: RunRow, name: string, log: Logger, where: Record<string, unknown>, fn: () => Promise<T>): Promise<T>;
  merge(proposal: Proposal, checkout: Checkout): Promise<MergeResult>;
  report(entry: EntryRow, c: Candidate, final: Final, options?: { runId?: number; test?: TestResult; batch?: string }): Promise<LandingResult>;
  reportError(entry: EntryRow, c: Candidate, runRow: RunRow, message: string): Promise<void>;
  redacted(r: Rejection | RejectionInfo): RejectionInfo;
  changed(entry: EntryRow, c: Candidate, state: EntryState): Promise<void>;
}

/** The combined tree of a set, merged and ready to test. */
interface Built {
  dir: string;
  trunk: string;
  revision: string;
  merged: { m: BatchMember; revision: string }[];
}

type SetResult = { culprits: number; stop?: boolean };

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };

async function git(dir: string, args: string[]): Promise<string> {
  return (await runCommand(['git', ...args], { cwd: dir, env: GIT_ENV })).stdout.trim();
}

export class BatchLander {
  readonly #c: DriverContext;
  readonly #group: TargetGroup;
  readonly #t: BatchTools;
  readonly #results: LandingResult[] = [];
  /** Ids of the batch runs a member was in, for its report. */
  readonly #runsOf = new Map<number, number[]>();
  #label = '';

  constructor(context: DriverContext, group: TargetGroup, tools: BatchTools) {
    this.#c = context;
    this.#group = group;
    this.#t = tools;
  }

  async land(members: BatchMember[]): Promise<LandingResult[]> {
    this.#label = members.map((m) => m.c.proposal.id).join(', ');
    this.#c.log.info('batch', { size: members.length, proposals: this.#label });
    await this.#land(members, 0);
    return this.#results;
  }

  /** Lands a set: test it whole; red: its halves, one after the other, each on the tip then. */
  async #land(set: BatchMember[], moved: number): Promise<SetResult> {
    const { store, run, settings, log } = this.#c;
    if (set.length === 0) return { culprits: 0 };
    if (run.signal.aborted || this.#c.stopped?.()) {
      for (const m of set) store.setState(m.entry.id, 'queued', 'interrupted before its batch was tested; tried again on the next run (still approved)');
      return { culprits: 0, stop: true };
    }
    const first = set[0]!;
    const attempt = Math.max(...set.map((m) => store.countAttempt(m.entry.id)));
    const runRow = store.startRun({ targetKey: this.#group.key, project: first.c.project.name, botRun: run.id, owner: this.#c.owner, attempt, entries: set.map((m) => m.entry.id) });
    for (const m of set) this.#runsOf.set(m.entry.id, [...(this.#runsOf.get(m.entry.id) ?? []), runRow.id]);
    for (const m of set) await this.#t.changed(m.entry, m.c, 'testing');
    const ids = set.map((m) => m.c.proposal.id).join(', ');
    const where = { run: runRow.id, size: set.length, proposals: ids };
    const workspace = join(run.workdir, `batch-${runRow.id}`);
    try {
      await rm(workspace, { recursive: true, force: true });
      await mkdir(workspace, { recursive: true });
      const built = await this.#build(runRow, set, workspace, where);
      if (built.merged.length === 0) {
        store.updateRun(runRow.id, { state: 'rejected', detail: 'nothing of the set merged' });
        return { culprits: 0 };
      }
      if (built.merged.length < set.length) {
        // Some were taken out or deferred: the run holds only the merged ones from here on.
        store.db.prepare('DELETE FROM queue_run_entries WHERE run_id = ? AND entry_id NOT IN (' + built.merged.map(() => '?').join(',') + ')').run(runRow.id, ...built.merged.map((x) => x.m.entry.id));
      }
      const tested = built.merged.map((x) => x.m);
      store.updateRun(runRow.id, { state: 'testing', trunkRevision: built.trunk, treeRevision: built.revision });
      const test = await this.#t.step(runRow, 'test', log, where, () =>
        this.#c.test(first.c.project, built.dir, tested[0]!.c.proposal, built.revision, (sandbox) => store.addSandbox(runRow.id, sandbox)),
      );
      store.updateRun(runRow.id, { testMs: test.durationMs });
      faultPoint('batch-after-test');
      if (run.signal.aborted) throw new Interrupted('test');
      const failed = this.#c.testRejection(test, first.c.project.test);
      if (!failed) {
        log.info('batch green', { ...where, tree: built.revision });
        store.updateRun(runRow.id, { state: 'pushing' });
        const pushed = await this.#t.step(runRow, 'push', log, where, () => this.#push(runRow, built, tested));
        if (pushed === 'retry') {
          store.updateRun(runRow.id, { state: 'retry', detail: 'push refused: the target moved' });
          if (moved + 1 < settings.attempts) {
            log.info('trunk moved: merging the batch onto the new tip and testing again', { ...where, round: `${moved + 2}/${settings.attempts}` });
            for (const m of tested) store.setState(m.entry.id, 'queued', 'the target moved during the batch test: merging again and testing again');
            return this.#land(tested, moved + 1);
          }
          for (const m of tested) {
            const rejection = new Rejection('trunk-kept-moving', { target: m.c.proposal.target.branch || m.c.proposal.target.url, rounds: moved + 1 });
            this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'rejected', rejection: { code: rejection.code, reason: rejection.reason } }, { runId: runRow.id }));
          }
          return { culprits: 0 };
        }
        store.updateRun(runRow.id, { state: 'reporting' });
        const names = tested.map((m) => m.c.proposal.id).join(', ');
        for (const x of built.merged) {
          const runs = this.#runsOf.get(x.m.entry.id)!.join(', ');
          const sentence = tested.length > 1
            ? `Landed in batch run ${runRow.id} (${tested.length} proposals: ${names}), tested once together as ${built.revision}; batch runs it was in: ${runs}.`
            : `Landed alone in run ${runRow.id} after its batch (${this.#label}) was bisected; runs it was in: ${runs}.`;
          this.#results.push(await this.#t.report(x.m.entry, x.m.c, { kind: 'landed', revision: x.revision }, { runId: runRow.id, test, batch: sentence }));
        }
        return { culprits: 0 };
      }
      store.updateRun(runRow.id, { state: tested.length > 1 ? 'rejected' : 'reporting', detail: `tests failed: ${failed.reason}` });
      if (tested.length === 1) {
        const m = tested[0]!;
        const runs = this.#runsOf.get(m.entry.id)!.join(', ');
        const sentence = `Judged the culprit of batch (${this.#label}): its tests failed when it was merged alone onto the tip (run ${runRow.id}); runs it was in: ${runs}.`;
        log.child(m.c.proposal.id).info('culprit: red alone', { run: runRow.id });
        this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'rejected', rejection: this.#t.redacted(failed) }, { runId: runRow.id, test, batch: sentence }));
        return { culprits: 1 };
      }
      log.info('batch red: bisecting', { ...where, reason: failed.reason });
      for (const m of tested) store.setState(m.entry.id, 'queued', `its batch (run ${runRow.id}) failed: bisecting`);
      const half = Math.ceil(tested.length / 2);
      const left = await this.#land(tested.slice(0, half), 0);
      if (left.stop) return left;
      const right = await this.#land(tested.slice(half), 0);
      const culprits = left.culprits + right.culprits;
      if (culprits === 0 && !right.stop) {
        log.warn('suspected flake: the batch failed but none of its parts did; nobody blamed', { ...where });
        store.updateRun(runRow.id, { detail: `suspected flake: tests failed (${failed.reason}) but no part of the batch failed again` });
      }
      return { culprits, ...(right.stop ? { stop: true } : {}) };
    } catch (error) {
      const interrupted = error instanceof Interrupted || run.signal.aborted;
      const message = interrupted ? 'interrupted' : this.#c.redactor.redact(error instanceof Error ? error.message : String(error));
      store.updateRun(runRow.id, { state: interrupted ? 'interrupted' : 'error', detail: message });
      for (const m of set) {
        const e = store.entry(m.entry.id)!;
        if (e.state !== 'testing') continue;
        store.setState(m.entry.id, 'queued', interrupted ? 'interrupted during its batch; tried again on the next run (still approved)' : `internal error in its batch (${message}); tried again on the next run`);
        if (!interrupted) await this.#t.reportError(m.entry, m.c, runRow, message);
        this.#results.push({ kind: 'error', proposal: m.c.proposal, project: m.c.project, message, dryRun: run.dryRun });
      }
      log.error(interrupted ? 'batch interrupted' : 'batch: internal error', { ...where, error: message });
      return { culprits: 0, stop: true };
    } finally {
      if (!this.#c.keep) await rm(workspace, { recursive: true, force: true });
    }
  }

  /**
   * The combined tree: each member fetched and merged alone onto the tip in a checkout of its
   * own (taken out alone when that fails), then merged in order into the batch's tree (left
   * for the next batch when it conflicts only with those ahead of it).
   */
  async #build(runRow: RunRow, set: BatchMember[], workspace: string, where: Record<string, unknown>): Promise<Built> {
    const { store, run, hooks, log } = this.#c;
    const dir = join(workspace, 'tree');
    let trunk: string | undefined;
    const merged: Built['merged'] = [];
    const ahead: string[] = [];
    for (const [i, m] of set.entries()) {
      const plog = log.child(m.c.proposal.id);
      const own = join(workspace, `p${i}`);
      await mkdir(own, { recursive: true });
      let checkout: Checkout;
      try {
        checkout = await this.#t.step(runRow, 'fetch', plog, where, () =>
          this.#c.bail('fetch', hooks.fetch.promise({ proposal: m.c.proposal, workspace: own, signal: run.signal }), m.c.proposal.target),
        );
        if (trunk === undefined) {
          trunk = checkout.targetRevision;
          await mkdir(dir, { recursive: true });
          await git(dir, ['init', '--quiet', '.']);
          await git(dir, ['fetch', '--quiet', '--no-tags', '--', own, `+refs/byoci/target:refs/byoci/target`]);
          if ((await git(dir, ['rev-parse', '--verify', 'refs/byoci/target^{commit}'])) !== trunk) throw new Error('the batch tree does not hold the fetched tip');
          await git(dir, ['checkout', '--quiet', '--detach', trunk]);
          store.updateRun(runRow.id, { state: 'merging', trunkRevision: trunk });
        } else if (checkout.targetRevision !== trunk) {
          throw new Error(`the target moved while the batch was fetched (${trunk} → ${checkout.targetRevision}); tried again on the next run`);
        }
        const alone = await this.#t.step(runRow, 'merge-alone', plog, where, () => this.#t.merge(m.c.proposal, checkout));
        if (alone.alreadyLanded) {
          plog.info('already landed by an earlier run; reporting it', { revision: alone.revision });
          this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'landed', revision: alone.revision }));
          continue;
        }
      } catch (error) {
        const rejection = asRejection(error);
        if (!rejection || run.signal.aborted) throw error;
        plog.info('taken out of the batch alone', { code: rejection.code, reason: rejection.reason });
        this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'rejected', rejection: this.#t.redacted(rejection) }, { batch: `Taken out of batch (${this.#label}) before it was tested: it does not merge or fetch on its own.` }));
        continue;
      }
      const ref = `refs/byoci/batch/${i}`;
      await git(dir, ['fetch', '--quiet', '--no-tags', '--', own, `+refs/byoci/source:${ref}`]);
      if ((await git(dir, ['rev-parse', '--verify', `${ref}^{commit}`])) !== checkout.sourceRevision) {
        throw new Error(`the batch tree did not receive ${checkout.sourceRevision} of ${m.c.proposal.id}`);
      }
      try {
        const merge = await this.#t.step(runRow, 'merge', plog, where, () =>
          this.#t.merge(m.c.proposal, { dir, targetRevision: trunk!, sourceRevision: checkout.sourceRevision }),
        );
        if (merge.alreadyLanded) throw new Error(`${m.c.proposal.id} merged alone but is found landed in the batch tree`);
        merged.push({ m, revision: merge.revision });
        ahead.push(m.c.proposal.id);
      } catch (error) {
        const rejection = asRejection(error);
        if (!rejection || run.signal.aborted) throw error;
        const reason = `merges alone but conflicts with ${ahead.join(', ')} ahead of it in the batch (${rejection.reason}): left for the next batch`;
        plog.info('left out of the batch', { reason });
        store.setState(m.entry.id, 'queued', reason);
      }
    }
    const revision = merged.at(-1)?.revision ?? trunk ?? '';
    return { dir, trunk: trunk ?? '', revision, merged };
  }

  /** One journalled push of the tested tree over the tip it was merged onto. */
  async #push(runRow: RunRow, built: Built, tested: BatchMember[]): Promise<'pushed' | 'retry'> {
    const { store, run, hooks, log } = this.#c;
    const last = tested.at(-1)!;
    const key = `run-${runRow.id}:push`;
    store.intend(key, { entryId: last.entry.id, runId: runRow.id, kind: 'push', payload: { revision: built.revision, over: built.trunk, entries: tested.map((m) => m.entry.id) } });
    try {
      const checkout = { dir: built.dir, targetRevision: built.trunk, sourceRevision: built.revision };
      const pushed = await this.#c.bail('push', hooks.push.promise({ proposal: last.c.proposal, checkout, merge: { revision: built.revision }, signal: run.signal }), last.c.proposal.target);
      if (pushed.revision !== built.revision) throw new Error(`the push answered ${pushed.revision}, not the tested tree ${built.revision}`);
      store.done(key, { revision: pushed.revision });
      for (const x of built.merged) store.setState(x.m.entry.id, 'pushed', null, { landedRevision: x.revision });
      log.info('batch landed', { run: runRow.id, revision: pushed.revision, size: tested.length });
      faultPoint('batch-after-push');
      return 'pushed';
    } catch (error) {
      const rejection = asRejection(error);
      if (rejection?.code !== 'push-rejected') throw error;
      store.done(key, { refused: true });
      return 'retry';
    }
  }
}

class Interrupted extends Error {
  constructor(readonly step: string) {
    super(`interrupted during ${step}`);
  }
}
