/**
 * The queue's driver: for each target, under its lease, it buries the runs of dead bots,
 * finishes the reports they began, brings the queue up to date with what the forges list,
 * and lands the open entries in queue order, one run (attempt) at a time.
 *
 * Every step writes its intent before the effect and its result after (queue_steps,
 * queue_effects), so a rerun after kill -9 resumes or cleans up: a dead run's entries go
 * back to the queue, a report it began is finished (marked `replay`), and a push it may
 * have made is found by the next attempt's merge (`alreadyLanded`) before anything is
 * pushed again. A refused push means trunk moved: fetch, merge and test again on the new
 * tip, up to `queue.attempts` rounds, keeping the approval.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hooks } from '../../hooks/index.js';
import type { BranchRef, Checkout, MergeResult, Outcome, PinnedContent, ProjectConfig, Proposal, RejectionInfo, Target, TestResult, TestSpec } from '../../hooks/types.js';
import type { Redactor } from '../../secrets/redact.js';
import { PluginError, Rejection, asRejection } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProcessOwner } from '../owner.js';
import type { RunInfo } from '../plugin.js';
import { priorityRank, type QueueSettings } from './config.js';
import { BatchLander, type BatchShape } from './batch.js';
import { faultPoint } from './fault.js';
import type { Candidate, DriverContext, Final, LandingResult, TargetGroup, TargetResult } from './types.js';
import { safeName } from './types.js';
export { safeName } from './types.js';
export type { Candidate, DriverContext, Final, LandingResult, TargetGroup, TargetResult } from './types.js';
import { freezeOf } from './snapshot.js';
import type { EntryRow, EntryState, LeaseRow, QueueStore, RunRow } from './store.js';

/** What one attempt (one run) came to. */
type Attempt =
  | { kind: 'landed'; revision: string; test?: TestResult; already?: boolean; pinned?: PinnedContent }
  | { kind: 'rejected'; rejection: RejectionInfo; test?: TestResult }
  | { kind: 'retry'; tip: string }
  | { kind: 'error'; message: string }
  | { kind: 'interrupted'; step: string };

function iso(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export class QueueDriver {
  readonly #c: DriverContext;
  /** The serial path's `TestPayload.upcoming` hint for the entry being landed (see #upcomingAfter). */
  #upcoming: number | undefined;

  constructor(context: DriverContext) {
    this.#c = context;
  }

  /**
   * Lands a target's queue in order (or only `only`), under the target's lease. `later`: how
   * many ready proposals of targets driven after this one in the same run (for the hint of
   * how many tests follow: `TestPayload.upcoming`).
   */
  async driveTarget(group: TargetGroup, only?: string, later = 0): Promise<TargetResult> {
    const { store, run } = this.#c;
    const busy = await this.#lease(group, () => store.upsertTarget({ key: group.key, vcs: group.ref.vcs, url: group.ref.url, branch: group.ref.branch, project: group.project.name }));
    if (busy) return { results: [], busy };
    try {
      this.#bury(group);
      const byId = new Map(group.candidates.map((c) => [c.proposal.id, c] as const));
      const results = await this.#finishReports(group.key, byId);
      await this.#sync(group);
      for (;;) {
        if (run.signal.aborted || this.#c.stopped?.()) break;
        const size = this.#c.batch ?? this.#c.settings.batch;
        const window = this.#c.window ?? this.#c.settings.window;
        if ((size > 1 || window > 1) && !only && !run.dryRun && group.ref.vcs === 'git') {
          // Enough for the window's units and the next one (the rest waits for the next round).
          const take = Math.min(64, 2 * size * window);
          const handled = new Set(results.map((r) => r.proposal.id));
          const batch: EntryRow[] = [];
          for (let e = this.#next(group, only, results, handled); e && batch.length < take; e = this.#next(group, only, results, handled)) {
            batch.push(e);
            handled.add(e.proposal_id);
          }
          if (batch.length > 1) {
            const done = await this.#landBatch(group, batch, byId, { batch: size, window, optimistic: this.#c.settings.optimistic });
            results.push(...done.results);
            if (done.stop) break;
            continue;
          }
        }
        const next = this.#next(group, only, results);
        if (!next) break;
        const candidate = byId.get(next.proposal_id)!;
        this.#upcoming = this.#upcomingAfter(group, only, results, next) + later;
        results.push(await this.#landEntry(group, next, candidate));
      }
      return { results };
    } finally {
      store.release(group.key, run.id);
    }
  }

  /** Updates a target's queue from what was discovered, without landing (under the lease). */
  async syncTarget(group: TargetGroup): Promise<LeaseRow | undefined> {
    const { store, run } = this.#c;
    const busy = await this.#lease(group, () => store.upsertTarget({ key: group.key, vcs: group.ref.vcs, url: group.ref.url, branch: group.ref.branch, project: group.project.name }));
    if (busy) return busy;
    try {
      this.#bury(group);
      await this.#sync(group);
      return undefined;
    } finally {
      store.release(group.key, run.id);
    }
  }

  /**
   * Targets of the discovered projects for which no forge listed anything this time: their
   * open entries are no longer approved (or landed meanwhile) and leave the queue.
   */
  async closeUnlisted(projects: ReadonlySet<string>, seen: ReadonlySet<string>): Promise<void> {
    const { store } = this.#c;
    const rows = store.db.prepare('SELECT key, vcs, url, branch, project FROM queue_targets').all() as {
      key: string;
      vcs: 'git' | 'bzr';
      url: string;
      branch: string;
      project: string;
    }[];
    for (const t of rows) {
      if (seen.has(t.key) || !projects.has(t.project) || store.openEntries(t.key).length === 0) continue;
      const project = { name: t.project, targets: [], test: {} as TestSpec };
      await this.syncTarget({ key: t.key, project, ref: { vcs: t.vcs, url: t.url, branch: t.branch }, candidates: [] });
    }
  }

  /** The first open entry not yet handled in this run and not held back by a freeze. */
  #next(group: TargetGroup, only: string | undefined, results: LandingResult[], seen?: Set<string>): EntryRow | undefined {
    const { store, log } = this.#c;
    const handled = new Set(seen ?? results.map((r) => r.proposal.id));
    const freeze = freezeOf(store.db, group.key, group.project.name);
    for (const entry of store.openEntries(group.key)) {
      if (handled.has(entry.proposal_id) || (only && entry.proposal_id !== only)) continue;
      if (!group.candidates.some((c) => c.proposal.id === entry.proposal_id)) continue;
      if (freeze && (freeze.below === null || entry.priority < freeze.below)) {
        log.child(entry.proposal_id).info('frozen: not landing', { ...this.#position(entry), reason: freeze.reason, ...(freeze.below_name ? { below: freeze.below_name } : {}) });
        handled.add(entry.proposal_id);
        continue;
      }
      return entry;
    }
    return undefined;
  }

  /**
   * How many entries the serial loop will test after `entry` in this run (ready, not frozen,
   * not handled yet, not already pushed): a hint for the backends, which warm that many
   * containers ahead at most. A trunk that moves means one test more than said.
   */
  #upcomingAfter(group: TargetGroup, only: string | undefined, results: LandingResult[], entry: EntryRow): number {
    if (only) return 0;
    const handled = new Set(results.map((r) => r.proposal.id));
    const freeze = freezeOf(this.#c.store.db, group.key, group.project.name);
    let n = 0;
    for (const e of this.#c.store.openEntries(group.key)) {
      if (e.id === entry.id || handled.has(e.proposal_id) || (e.state === 'pushed' && e.landed_revision)) continue;
      const c = group.candidates.find((x) => x.proposal.id === e.proposal_id);
      if (!c || c.proposal.readiness.state !== 'ready') continue;
      if (freeze && (freeze.below === null || e.priority < freeze.below)) continue;
      n++;
    }
    return n;
  }

  /**
   * Takes the target's lease, waiting up to `queue.leaseWait`; answers the holder when busy.
   * `first` (the target's row) is written in the same transaction as the first try.
   */
  async #lease(group: TargetGroup, first?: () => void): Promise<LeaseRow | undefined> {
    const { store, run, owner, settings, log } = this.#c;
    const deadline = Date.now() + settings.leaseWait * 1000;
    for (let tries = 0; ; tries++) {
      const got = tries === 0 && first ? store.atOnce(() => (first(), store.acquire(group.key, run.id, owner))) : store.acquire(group.key, run.id, owner);
      if (got.ok) return undefined;
      if (Date.now() >= deadline || run.signal.aborted) {
        log.warn('another bot is landing on this target: leaving it alone', {
          target: group.key,
          holder: got.holder.holder,
          pid: got.holder.pid,
          host: got.holder.host,
          since: got.holder.acquired_at,
        });
        return got.holder;
      }
      await sleep(1000, run.signal);
    }
  }

  /** Runs of dead bots on this target: marked crashed, their entries back in the queue. */
  #bury(group: TargetGroup): void {
    const { store, log } = this.#c;
    for (const dead of store.deadRuns(group.key)) {
      const step = store.steps(dead.id).at(-1)?.step ?? 'start';
      log.warn('a run died during a landing: its proposals go back to the queue', { run: dead.id, botRun: dead.bot_run, pid: dead.pid, step });
      store.buryRun(dead, `the run testing it (${dead.bot_run}) died during ${step}; tried again`);
    }
  }

  /**
   * Effects a dead run began and never recorded as done. A report is finished (the forges
   * look before they write; `replay` tells the others); a push is left to the next
   * attempt, whose merge finds a landing that reached the target.
   */
  async #finishReports(key: string, byId: Map<string, Candidate>): Promise<LandingResult[]> {
    const { store, log } = this.#c;
    const results: LandingResult[] = [];
    {
      for (const effect of store.unfinishedEffects(key)) {
        const entry = store.entry(effect.entry_id)!;
        if (effect.kind !== 'report') {
          store.done(effect.key, { unknown: 'the run died before recording the result; the next attempt reads the target' });
          continue;
        }
        // The outcome as written with the intent (a batch's sentence with it, for the comment).
        const recorded = JSON.parse(effect.result ?? 'null') as (Final & { batch?: string }) | null;
        const batch = recorded?.batch;
        const final: Final | null = recorded ? (recorded.kind === 'landed' ? { kind: 'landed', revision: recorded.revision, ...(recorded.pinned ? { pinned: recorded.pinned } : {}) } : { kind: 'rejected', rejection: recorded.rejection }) : null;
        const candidate = byId.get(entry.proposal_id);
        if (!final) {
          store.done(effect.key, { lost: true });
          continue;
        }
        if (!candidate) {
          // The forge no longer lists it as approved: the report reached it.
          store.done(effect.key, { skipped: 'the forge no longer lists the proposal' });
          this.#close(entry, final);
          continue;
        }
        log.child(entry.proposal_id).warn('finishing the report a dead run began', { outcome: final.kind });
        results.push(await this.#report(entry, candidate, final, { replay: true, effectKey: effect.key, ...(batch ? { batch } : {}) }));
      }
    }
    return results;
  }

  /** Brings the target's queue up to date with what the forges list now. */
  async #sync(group: TargetGroup): Promise<void> {
    const { store, settings, log } = this.#c;
    const listed = new Set<string>();
    for (const c of group.candidates) {
      const p = c.proposal;
      if (p.readiness.state === 'waiting') continue;
      listed.add(p.id);
      const priority = this.#priority(p, log);
      const approvedAt = iso(p.approvedAt);
      const open = store.openEntry(group.key, p.id);
      if (open) {
        const changed =
          (open.approved_revision ?? undefined) !== p.approvedRevision ||
          (approvedAt !== undefined && open.approved_at_from === 'forge' && open.approved_at !== approvedAt);
        if (!changed) {
          if (open.priority !== priority.rank) log.child(p.id).info('priority changed', { priority: priority.name, from: priority.from });
          store.refreshEntry(open.id, { title: p.title, url: p.url, priority: priority.rank, priorityName: priority.name, priorityFrom: priority.from });
          continue;
        }
        store.setState(open.id, 'superseded', `approved again at ${p.approvedRevision ?? 'the source tip'}: back of the queue`);
        await this.#changed(group, open, c, 'superseded');
      }
      const entry = store.addEntry({
        targetKey: group.key,
        proposalId: p.id,
        forge: p.forge,
        project: c.project.name,
        title: p.title,
        url: p.url,
        ...(p.approvedRevision ? { approvedRevision: p.approvedRevision } : {}),
        approvedAt: approvedAt ?? new Date().toISOString(),
        approvedAtFrom: approvedAt ? 'forge' : 'first-seen',
        priority: priority.rank,
        priorityName: priority.name,
        priorityFrom: priority.from,
      });
      log.child(p.id).info('queued', { ...this.#position(entry), approvedAt: entry.approved_at, priority: priority.name });
      await this.#changed(group, entry, c, 'queued');
    }
    for (const open of store.openEntries(group.key)) {
      if (listed.has(open.proposal_id)) continue;
      const c = group.candidates.find((x) => x.proposal.id === open.proposal_id);
      if (open.state === 'pushed') {
        store.setState(open.id, 'landed', 'on the target; the forge no longer lists it as approved');
        continue;
      }
      const reason = c && c.proposal.readiness.state === 'waiting'
        ? `no longer ready: ${c.proposal.readiness.reason}`
        : 'no longer listed as approved by the forge (merged, closed or unapproved)';
      store.setState(open.id, 'withdrawn', reason);
      if (c) await this.#changed(group, open, c, 'withdrawn', reason);
    }
    void settings;
  }

  #priority(p: Proposal, log: Logger): { rank: number; name: string; from: string } {
    const { settings } = this.#c;
    const configured = settings.proposals[p.id];
    if (configured) return { rank: priorityRank(settings, configured)!, name: configured, from: 'config' };
    if (p.priority) {
      const rank = priorityRank(settings, p.priority);
      if (rank !== undefined) return { rank, name: p.priority, from: p.forge };
      log.child(p.id).warn('unknown priority asked on the forge: ignored', { priority: p.priority, known: settings.priorities.join(',') });
    }
    return { rank: priorityRank(settings, settings.defaultPriority)!, name: settings.defaultPriority, from: 'default' };
  }

  #position(entry: EntryRow): { position: string } {
    const open = this.#c.store.openEntries(entry.target_key);
    const i = open.findIndex((e) => e.id === entry.id);
    return { position: i < 0 ? '-' : `${i + 1}/${open.length}` };
  }

  /** Lands one entry: as many attempts as trunk moves allow, then the final report. */
  async #landEntry(group: TargetGroup, entry: EntryRow, c: Candidate): Promise<LandingResult> {
    const { store, settings, run } = this.#c;
    const log = this.#c.log.child(c.proposal.id);
    if (entry.state === 'pushed' && entry.landed_revision) {
      log.info('on the target already; reporting the landing', { revision: entry.landed_revision });
      const batch = this.#pushedWith(entry);
      return this.#report(entry, c, { kind: 'landed', revision: entry.landed_revision }, batch ? { batch } : {});
    }
    if (c.proposal.readiness.state === 'rejected') {
      const rejection = { code: c.proposal.readiness.code, reason: c.proposal.readiness.reason };
      log.info('rejected before merging', { ...this.#position(entry), code: rejection.code, reason: rejection.reason });
      return this.#report(entry, c, { kind: 'rejected', rejection });
    }
    log.info('landing', { ...this.#position(entry), title: c.proposal.title, source: c.proposal.source.url, branch: c.proposal.source.branch, target: c.proposal.target.url });
    // The attempt's count and its run (written with the `started` report's result when there is one).
    const begin = () => {
      const attempts = store.countAttempt(entry.id);
      return { attempts, runRow: store.startRun({ targetKey: group.key, project: c.project.name, botRun: run.id, owner: this.#c.owner, attempt: attempts, entries: [entry.id] }) };
    };
    let first: ReturnType<typeof begin> | undefined;
    // The test's sandbox is made while the landing reports, fetches and merges (not awaited).
    this.#c.prepare?.(c.project, 1, c.proposal);
    await this.#reportStarted(entry, c, () => (first = begin()));
    for (;;) {
      const { attempts, runRow } = first ?? store.atOnce(begin);
      first = undefined;
      await this.#changed(group, entry, c, 'testing');
      const result = await this.#attempt(runRow, entry, c, log);
      switch (result.kind) {
        case 'landed':
          if (run.dryRun) {
            store.updateRun(runRow.id, { state: 'landed' });
            return this.#dryLanded(entry, c, result, log);
          }
          return this.#report(entry, c, { kind: 'landed', revision: result.revision, ...(result.pinned ? { pinned: result.pinned } : {}) }, { runId: runRow.id, reporting: true, ...(result.test ? { test: result.test } : {}) });
        case 'rejected':
          return this.#report(entry, c, { kind: 'rejected', rejection: result.rejection }, { runId: runRow.id, reporting: true, ...(result.test ? { test: result.test } : {}) });
        case 'retry': {
          store.updateRun(runRow.id, { state: 'retry', detail: `push refused: the target moved to ${result.tip}` });
          const moved = this.#retries(entry.id);
          if (moved < settings.attempts) {
            const reason = `the target moved during the test (now at ${result.tip}): merging again and testing again, round ${moved + 1} of ${settings.attempts}`;
            log.info('trunk moved: merging onto the new tip and testing again', { ...this.#position(entry), tip: result.tip, round: `${moved + 1}/${settings.attempts}` });
            store.setState(entry.id, 'queued', reason);
            // The next round's test: its sandbox again made while it fetches and merges.
            this.#c.prepare?.(c.project, 1, c.proposal);
            continue;
          }
          // Before giving up: the new tip may hold this very landing (an earlier push that completed).
          const check = store.startRun({ targetKey: group.key, project: c.project.name, botRun: run.id, owner: this.#c.owner, attempt: attempts, entries: [entry.id] });
          const found = await this.#attempt(check, entry, c, log, 'check');
          if (found.kind === 'landed') {
            store.updateRun(check.id, { state: 'reporting' });
            return this.#report(entry, c, { kind: 'landed', revision: found.revision, ...(found.pinned ? { pinned: found.pinned } : {}) }, { runId: check.id });
          }
          if (found.kind !== 'retry') {
            store.updateRun(check.id, { state: found.kind === 'rejected' ? 'reporting' : found.kind, detail: 'checking whether the moved target holds the landing' });
            if (found.kind === 'rejected') return this.#report(entry, c, { kind: 'rejected', rejection: found.rejection }, { runId: check.id });
            store.setState(entry.id, 'queued', `could not check the moved target (${found.kind}); tried again on the next run`);
            return { kind: 'error', proposal: c.proposal, project: c.project, message: found.kind === 'error' ? found.message : 'interrupted', dryRun: run.dryRun };
          }
          store.updateRun(check.id, { state: 'rejected', detail: 'the moved target does not hold the landing' });
          const rejection = new Rejection('trunk-kept-moving', { target: c.proposal.target.branch || c.proposal.target.url, rounds: moved });
          return this.#report(entry, c, { kind: 'rejected', rejection: { code: rejection.code, reason: rejection.reason } }, { runId: runRow.id });
        }
        case 'interrupted': {
          store.updateRun(runRow.id, { state: 'interrupted', detail: `interrupted during ${result.step}` });
          const reason = `interrupted during ${result.step}; tried again on the next run (still approved)`;
          store.setState(entry.id, 'queued', reason);
          log.warn('interrupted: the proposal stays approved and queued', { step: result.step });
          return { kind: 'error', proposal: c.proposal, project: c.project, message: 'interrupted', dryRun: run.dryRun };
        }
        case 'error':
          store.updateRun(runRow.id, { state: 'error', detail: result.message });
          store.setState(entry.id, 'queued', `internal error in attempt ${attempts} (${result.message}); tried again on the next run`);
          await this.#reportError(entry, c, runRow, result.message);
          return { kind: 'error', proposal: c.proposal, project: c.project, message: result.message, ...this.#buildUrl(), dryRun: run.dryRun };
      }
    }
  }

  /** A batch of ready entries (git): see batch.ts. Entries already pushed or rejected go the serial way. */
  async #landBatch(group: TargetGroup, entries: EntryRow[], byId: Map<string, Candidate>, shape: BatchShape): Promise<{ results: LandingResult[]; stop: boolean }> {
    const results: LandingResult[] = [];
    const members: { entry: EntryRow; c: Candidate }[] = [];
    for (const entry of entries) {
      const c = byId.get(entry.proposal_id)!;
      if ((entry.state === 'pushed' && entry.landed_revision) || c.proposal.readiness.state === 'rejected') results.push(await this.#landEntry(group, entry, c));
      else members.push({ entry, c });
    }
    if (members.length === 0) return { results, stop: false };
    for (const m of members) await this.#reportStarted(m.entry, m.c);
    const lander = new BatchLander(this.#c, group, {
      step: (runRow, name, log, where, fn) => this.#step(runRow, name, log, where, fn),
      merge: (proposal, checkout) => this.#merge(proposal, checkout),
      report: (entry, c, final, options) => this.#report(entry, c, final, options),
      reportError: (entry, c, runRow, message) => this.#reportError(entry, c, runRow, message),
      redacted: (r) => this.#redacted(r),
      changed: (entry, c, state) => this.#changed(group, entry, c, state),
    }, shape);
    const done = await lander.land(members);
    results.push(...done.results);
    return { results, stop: done.stop };
  }

  /**
   * For an entry pushed by a run that died before reporting it: the batch sentence, when that
   * run pushed several proposals at once (its push effect lists them).
   */
  #pushedWith(entry: EntryRow): string | undefined {
    const { store } = this.#c;
    const row = store.db
      .prepare(
        `SELECT f.run_id, f.intent_at FROM queue_effects f JOIN queue_run_entries x ON x.run_id = f.run_id
         WHERE x.entry_id = ? AND f.kind = 'push' AND f.done_at IS NOT NULL AND f.result LIKE '%"revision"%' ORDER BY f.id DESC LIMIT 1`,
      )
      .get(entry.id) as { run_id: number } | undefined;
    if (!row) return undefined;
    const ids = store.runEntries(row.run_id).map((id) => store.entry(id)?.proposal_id ?? `entry ${id}`);
    if (ids.length < 2) return undefined;
    const runs = (store.db.prepare('SELECT run_id FROM queue_run_entries WHERE entry_id = ? ORDER BY run_id').all(entry.id) as { run_id: number }[]).map((r) => r.run_id);
    return `Landed in run ${row.run_id} of a batch with ${ids.join(', ')}, tested together as ${store.run(row.run_id)?.tree_revision ?? '?'} (the run died after its push; reported by the next run); runs it was in: ${runs.join(', ')}.`;
  }

  /** Push refusals (trunk moved) of this approval so far, across runs and crashes. */
  #retries(entryId: number): number {
    const row = this.#c.store.db
      .prepare(`SELECT COUNT(*) AS n FROM queue_runs r JOIN queue_run_entries x ON x.run_id = r.id WHERE x.entry_id = ? AND r.state = 'retry'`)
      .get(entryId) as { n: number };
    return row.n;
  }

  /**
   * One run: fetch the target tip, merge, test, push. Never throws. In `check` mode it stops
   * after the merge: `landed` when the target already holds the landing, else `retry`.
   */
  async #attempt(runRow: RunRow, entry: EntryRow, c: Candidate, log: Logger, mode: 'full' | 'check' = 'full'): Promise<Attempt> {
    const { store, run, hooks } = this.#c;
    const { proposal, project } = c;
    const workspace = join(run.workdir, safeName(proposal.id));
    const where = { ...this.#position(entry), attempt: runRow.attempt };
    let test: TestResult | undefined;
    let step = 'fetch';
    try {
      await rm(workspace, { recursive: true, force: true });
      await mkdir(workspace, { recursive: true });
      const checkout = await this.#step(
        runRow,
        'fetch',
        log,
        where,
        () => this.#c.bail('fetch', hooks.fetch.promise({ proposal, workspace, signal: run.signal }), proposal.target),
        { after: (fetched) => store.updateRun(runRow.id, { state: 'merging', trunkRevision: fetched.targetRevision }) },
      );
      log.info('fetched', { target: checkout.targetRevision, source: checkout.sourceRevision });
      // bzr: the content that lands, by digest, for the landing comment (see PinnedContent).
      const pinned = checkout.sourceTestament ? { pinned: { revision: checkout.sourceRevision, testament: checkout.sourceTestament } } : {};
      faultPoint('after-fetch');
      step = 'merge';
      const merge = await this.#step(runRow, 'merge', log, where, () => this.#merge(proposal, checkout), {
        after: (merged) => store.updateRun(runRow.id, { state: 'testing', treeRevision: merged.revision }),
      });
      faultPoint('after-merge');
      if (merge.alreadyLanded) {
        log.info('already landed by an earlier run; reporting it', { revision: merge.revision });
        return { kind: 'landed', revision: merge.revision, already: true, ...pinned };
      }
      if (mode === 'check') return { kind: 'retry', tip: checkout.targetRevision };
      log.info('merged', { revision: merge.revision });
      step = 'gate';
      const waiting = (what: readonly string[]) => {
        log.info(what.length ? `waiting for: ${what.join('; ')}` : 'nothing to wait for');
        store.setReason(entry.id, what.length ? `waiting for: ${what.join('; ')}` : null);
      };
      // No gate tapped (no plugin waits for anything): the step is journalled as done, with the test's intent.
      const gated = hooks.gate.taps.length > 0;
      if (gated) await this.#step(runRow, 'gate', log, where, () => hooks.gate.promise({ proposal, project, checkout, merge, waiting, signal: run.signal }));
      else log.info('gate', where);
      step = 'test';
      test = await this.#step(runRow, 'test', log, where, () => this.#test(runRow, entry, c, checkout.dir, merge.revision, log), {
        ...(gated ? {} : { before: () => store.finishStep(store.beginStep(runRow.id, 'gate'), 'ok') }),
        after: (tested) => store.updateRun(runRow.id, { testMs: tested.durationMs }),
      });
      faultPoint('after-test');
      if (run.signal.aborted) return { kind: 'interrupted', step };
      const failed = this.#c.testRejection(test, project.test);
      if (failed) return { kind: 'rejected', rejection: this.#redacted(failed), test };
      if (run.dryRun) {
        log.info('dry-run: not pushing', { revision: merge.revision, target: proposal.target.url, branch: proposal.target.branch });
        return { kind: 'landed', revision: merge.revision, test, ...pinned };
      }
      step = 'push';
      const pushed = await this.#step(runRow, 'push', log, where, () => this.#push(runRow, entry, c, checkout, merge, test!), {
        before: () => store.updateRun(runRow.id, { state: 'pushing' }),
      });
      return pushed.kind === 'landed' ? { ...pushed, ...pinned } : pushed;
    } catch (error) {
      if (run.signal.aborted) return { kind: 'interrupted', step };
      const rejection = asRejection(error);
      if (rejection) {
        log.info('rejected', { code: rejection.code, reason: rejection.reason });
        return { kind: 'rejected', rejection: this.#redacted(rejection), ...(test ? { test } : {}) };
      }
      const message = error instanceof Error ? error.message : String(error);
      log.error('internal error', { error: message, ...(error instanceof PluginError ? { plugin: error.plugin, hook: error.hook } : {}) });
      return { kind: 'error', message: this.#c.redactor.redact(message) };
    } finally {
      if (!this.#c.keep) await rm(workspace, { recursive: true, force: true });
    }
  }

  #merge(proposal: Proposal, checkout: Checkout): Promise<MergeResult> {
    const { run, hooks } = this.#c;
    const message = `${proposal.commitMessage.trimEnd()}\n\nMerged from ${proposal.url}\n`;
    const committer = { name: run.landing.name, email: run.landing.email };
    return this.#c.bail('merge', hooks.merge.promise({ proposal, checkout, message, committer, signal: run.signal }), proposal.target);
  }

  /** The tests, with a heartbeat line every `queue.heartbeat` seconds saying how long so far and how long usually. */
  async #test(runRow: RunRow, entry: EntryRow, c: Candidate, dir: string, revision: string, log: Logger): Promise<TestResult> {
    const { store, settings } = this.#c;
    const usual = store.usualTestMs(c.project.name);
    const started = Date.now();
    const timer = settings.heartbeat > 0
      ? setInterval(() => {
          store.renew(entry.target_key, this.#c.run.id);
          log.info('still testing', { ...this.#position(entry), attempt: runRow.attempt, elapsed: seconds(Date.now() - started), usually: usual === undefined ? 'unknown' : seconds(usual) });
        }, settings.heartbeat * 1000)
      : undefined;
    timer?.unref();
    try {
      return await this.#c.test(c.project, dir, c.proposal, revision, { onSandbox: (sandbox) => store.addSandbox(runRow.id, sandbox), ...(this.#upcoming !== undefined ? { upcoming: this.#upcoming } : {}) });
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  /** The push, journalled: intent (the tree and the tip it goes over) before, result after. */
  async #push(runRow: RunRow, entry: EntryRow, c: Candidate, checkout: Checkout, merge: MergeResult, test: TestResult): Promise<Attempt> {
    const { store, run, hooks } = this.#c;
    const key = `run-${runRow.id}:push`;
    store.intend(key, { entryId: entry.id, runId: runRow.id, kind: 'push', payload: { revision: merge.revision, over: checkout.targetRevision } });
    try {
      const pushed = await this.#c.bail('push', hooks.push.promise({ proposal: c.proposal, checkout, merge, signal: run.signal }), c.proposal.target);
      store.atOnce(() => {
        store.done(key, { revision: pushed.revision });
        store.setState(entry.id, 'pushed', null, { landedRevision: pushed.revision });
      });
      this.#c.log.child(c.proposal.id).info('landed', { revision: pushed.revision });
      faultPoint('after-push');
      return { kind: 'landed', revision: pushed.revision, test };
    } catch (error) {
      const rejection = asRejection(error);
      if (rejection?.code !== 'push-rejected') throw error;
      const tip = /now at (\S+?)[;.]/.exec(rejection.details ?? '')?.[1] ?? 'a new tip';
      store.done(key, { refused: true, tip });
      return { kind: 'retry', tip };
    }
  }

  /**
   * Runs one step between its intent and its result in the journal; one console line per step.
   * `before` is written with the intent and `after` with the result (one transaction each).
   */
  async #step<T>(
    runRow: RunRow,
    name: string,
    log: Logger,
    where: Record<string, unknown>,
    fn: () => Promise<T>,
    journal: { before?: () => void; after?: (value: T) => void } = {},
  ): Promise<T> {
    const { store } = this.#c;
    log.info(name, where);
    const id = store.atOnce(() => {
      journal.before?.();
      store.renew(runRow.target_key, this.#c.run.id);
      return store.beginStep(runRow.id, name);
    });
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      const result = this.#c.run.signal.aborted ? 'interrupted' : asRejection(error) ? 'rejected' : 'error';
      store.finishStep(id, result, { message: this.#c.redactor.redact(error instanceof Error ? error.message : String(error)) });
      throw error;
    }
    store.atOnce(() => {
      store.finishStep(id, 'ok');
      journal.after?.(value);
    });
    return value;
  }

  #redacted(r: Rejection | RejectionInfo): RejectionInfo {
    const redact = (t: string) => this.#c.redactor.redact(t);
    return { code: r.code, reason: redact(r.reason), ...(r.details ? { details: redact(r.details) } : {}) };
  }

  #buildUrl(): { buildUrl?: string } {
    return this.#c.run.buildUrl ? { buildUrl: this.#c.run.buildUrl } : {};
  }

  /**
   * `started` once per entry (a retry after trunk moved or a crash does not say it again).
   * `then` is written with its result when it is reported now (else the caller writes it).
   */
  async #reportStarted(entry: EntryRow, c: Candidate, then?: () => void): Promise<void> {
    const { store, run, hooks } = this.#c;
    if (run.dryRun) return;
    const key = `entry-${entry.id}:started`;
    if (store.effect(key)) return;
    store.intend(key, { entryId: entry.id, kind: 'started' });
    await hooks.report.promise({ kind: 'started', proposal: c.proposal, project: c.project, ...this.#buildUrl() });
    store.atOnce(() => {
      store.done(key);
      then?.();
    });
  }

  async #reportError(entry: EntryRow, c: Candidate, runRow: RunRow, message: string): Promise<void> {
    const { store, run, hooks } = this.#c;
    if (run.dryRun) return;
    const key = `run-${runRow.id}:error`;
    store.intend(key, { entryId: entry.id, runId: runRow.id, kind: 'error' });
    await hooks.report.promise({ kind: 'error', proposal: c.proposal, project: c.project, message, ...this.#buildUrl() });
    store.done(key);
  }

  /**
   * The final report of an entry, journalled: the outcome is written with the intent, so a
   * run that dies before the result is recorded leaves what to finish. Then the entry closes.
   */
  async #report(
    entry: EntryRow,
    c: Candidate,
    final: Final,
    /** `reporting`: the run (runId) enters its `reporting` state, written with the report's intent. */
    options: { runId?: number; test?: TestResult; replay?: boolean; effectKey?: string; batch?: string; reporting?: boolean } = {},
  ): Promise<LandingResult> {
    const { store, run, hooks } = this.#c;
    const base = { proposal: c.proposal, project: c.project, ...this.#buildUrl(), ...(options.batch ? { batch: options.batch } : {}) };
    const outcome: Outcome =
      final.kind === 'landed'
        ? { kind: 'landed', ...base, revision: final.revision, ...(final.pinned ? { pinned: final.pinned } : {}), ...(options.test ? { test: options.test } : {}), ...(options.replay ? { replay: true } : {}) }
        : { kind: 'rejected', ...base, rejection: final.rejection, ...(options.test ? { test: options.test } : {}), ...(options.replay ? { replay: true } : {}) };
    const reporting = () => {
      if (options.runId && options.reporting) store.updateRun(options.runId, { state: 'reporting' });
    };
    if (run.dryRun) {
      reporting();
      this.#c.log.child(c.proposal.id).info('dry-run: not reporting', { outcome: outcome.kind });
      return { ...outcome, dryRun: true };
    }
    const key = options.effectKey ?? `entry-${entry.id}:report`;
    const previous = store.atOnce(() => {
      reporting();
      const found = store.effect(key);
      if (!found) store.intend(key, { entryId: entry.id, ...(options.runId ? { runId: options.runId } : {}), kind: 'report', payload: { ...final, ...(options.batch ? { batch: options.batch } : {}) } });
      return found;
    });
    if (!previous?.done_at) await hooks.report.promise(outcome);
    // The report's result, the entry closed and the run's final state: one transaction.
    store.atOnce(() => {
      if (!previous?.done_at) store.done(key);
      this.#close(entry, final);
      if (options.runId) store.updateRun(options.runId, { state: final.kind === 'landed' ? 'landed' : 'rejected' });
    });
    await this.#changed(undefined, store.entry(entry.id)!, c, final.kind === 'landed' ? 'landed' : 'out');
    return { ...outcome, dryRun: false };
  }

  #close(entry: EntryRow, final: Final): void {
    const { store } = this.#c;
    if (final.kind === 'landed') store.setState(entry.id, 'landed', null, { landedRevision: final.revision });
    else store.setState(entry.id, 'out', final.rejection.reason);
  }

  #dryLanded(entry: EntryRow, c: Candidate, result: Extract<Attempt, { kind: 'landed' }>, log: Logger): LandingResult {
    log.info('dry-run: not reporting', { outcome: 'landed' });
    this.#c.store.setState(entry.id, 'queued', 'dry-run: tested, not pushed');
    return { kind: 'landed', proposal: c.proposal, project: c.project, revision: result.revision, ...(result.pinned ? { pinned: result.pinned } : {}), ...(result.test ? { test: result.test } : {}), ...this.#buildUrl(), dryRun: true };
  }

  /** Tells `queueChanged` taps where the entry stands now. */
  async #changed(group: TargetGroup | undefined, entry: EntryRow, c: Candidate, state: EntryState, reason?: string): Promise<void> {
    const { run, hooks, store } = this.#c;
    if (run.dryRun) return;
    const now = store.entry(entry.id) ?? entry;
    const open = store.openEntries(entry.target_key);
    const i = open.findIndex((e) => e.id === entry.id);
    await hooks.queueChanged.promise({
      target: group?.key ?? entry.target_key,
      proposal: c.proposal,
      project: c.project,
      state,
      ...(i >= 0 ? { position: i + 1, length: open.length } : {}),
      ...((reason ?? now.reason) ? { reason: reason ?? now.reason! } : {}),
      attempts: now.attempts,
    });
  }
}
