/**
 * Batches and speculative windows (`queue.batch: N`, `queue.window: K`, `queue.optimistic`;
 * `byoci land --batch N --window K`; git targets). One engine for both:
 *
 * The ready entries S = s1, s2, … are merged onto the trunk tip one after another, each with
 * its own merge commit, into one chain of commits c1 = tip+s1, c2 = c1+s2, … (built once, in
 * one repository, every member's objects reached through git alternates instead of fetches).
 * Any commit of the chain is a tree that can be tested ("a probe of length L"), and a green
 * probe cL is pushed as it is: it is trunk plus everything ahead of sL, merged onto exactly the
 * tip it is pushed over. Up to K probes are under test at once, each in a checkout of its own.
 *
 * The schedule (what the K slots test), recomputed after every result:
 * 1. Units: with g the longest green prefix known, probes of length g+N, g+2N, … (K of them at
 *    most, shorter than any known red). N = 1 is Zuul's dependent pipeline (tip+A, tip+A+B,
 *    tip+A+B+C); K = 1 is plain batching with sequential bisection.
 * 2. Spare slots bisect the first unproven stretch side by side: prefixes spread evenly between
 *    g (or the longest prefix under test) and the shortest red probe (or the unit just planned).
 *    So a red batch of 16 with K = 8 is cut in 8 pieces at once, not halved one level per test
 *    duration; a prefix shorter than one under test is never started later than it (it would
 *    hold back that one's landing).
 * 3. Once a red prefix r is known, the culprit is one of s(g+1)…s(r). Once every prefix
 *    between g and r is known or under test, slots still free test the hypotheses "sj is the
 *    culprit": S without sj, its full length first, then its middle points (trees already
 *    merged start first; a result that comes in while one is merged is applied first). When the verdict comes, the right hypothesis' results are already in (its trees
 *    are exactly the chain rebuilt without the culprit), so the queue does not wait another
 *    test duration to go on.
 * Landing: the longest green prefix L lands at once when no shorter prefix is still under test
 * (everything ahead of it landed as tested: its own tree contains them and they were green);
 * with `queue.optimistic` it lands without waiting for the shorter ones (Trunk/Mergify: a
 * green tree that contains them proves them), and their runs are thrown away.
 * Culprit: c(g) green (or g = 0, the tip itself) and c(g+1) red: s(g+1) fails on top of the
 * tip plus everything ahead of it, and is rejected with the output of that run. Every run that
 * held it is thrown away (`discarded`) and what stood behind it is tested again without it.
 * Suspected flake: a red prefix while a longer prefix (holding all of it) is green: the red
 * result is not believed, logged and written to its run, blamed on nobody.
 * Conflicts: a member that does not merge on top of those ahead is merged alone onto the tip
 * in its own checkout: a conflict there too rejects it alone (its own reason); else it stays
 * queued for the next round ("conflicts with X ahead of it"), never poisoning a tree.
 * A refused push (trunk moved) throws every run away and builds the chain again on the new
 * tip, `queue.attempts` rounds, then `trunk-kept-moving`.
 *
 * Wall time for 16 proposals with 2 bad (positions 5 and 12), K = 8, N = 16, test time T:
 * round 1 tests c2, c4, …, c16 (c16 lands alone if all green: 1 T for 0 bad); c4 green, c6 red:
 * c4 lands, culprit in {s5, s6}. Round 2: c5 plus the hypotheses "s5" and "s6" (S without
 * each, full and midpoints). s5 red: rejected; the s5 hypothesis already shows s6…s11 green,
 * s6…s13 red: they land, culprit in {s12, s13}. Round 3: the same again: s12 rejected, s13…s16
 * green (tested in that round as the s12 hypothesis): 3 T in all, against about 5 T for
 * bisection with halves side by side and 16 T serial.
 */
import { appendFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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

/** The engine's shape: up to `window` trees at once, units of `batch`, optimistic or not. */
export interface BatchShape {
  batch: number;
  window: number;
  optimistic: boolean;
}

/** A member after its fetch: its own checkout (merged alone there only when needed). */
interface Prepared {
  m: BatchMember;
  checkout: Checkout;
  alone?: 'ok' | Rejection;
}

/** One commit of the chain: the members (entry ids from the round's first tip) and each one's merge. */
interface Tree {
  ids: number[];
  merges: string[];
  revision: string;
}

interface Settled {
  probe: Probe;
  test?: TestResult;
  error?: unknown;
}

interface Probe {
  key: string;
  tree: Tree;
  runRow: RunRow;
  /** Members after the tip the run was started over (the run's entries). */
  members: BatchMember[];
  abort: AbortController;
  done: Promise<Settled>;
  /** Set once the test is over (result or error): applied at the next decision with every other one in by then. */
  result?: Settled;
  discarded?: boolean;
}

interface Known {
  green: boolean;
  probe: Probe;
  test: TestResult;
  failed?: Rejection;
}

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };

async function git(dir: string, args: string[]): Promise<string> {
  return (await runCommand(['git', ...args], { cwd: dir, env: GIT_ENV })).stdout.trim();
}

/** A checkout's object directory: `<dir>/.git/objects` as the fetch hook makes it, else what git says. */
async function objectsOf(dir: string): Promise<string> {
  const plain = resolve(dir, '.git', 'objects');
  if ((await stat(plain).catch(() => undefined))?.isDirectory()) return plain;
  return git(dir, ['rev-parse', '--path-format=absolute', '--git-path', 'objects']);
}

/** Up to `m` whole numbers strictly between lo and hi, spread evenly. */
export function spread(lo: number, hi: number, m: number): number[] {
  if (m <= 0 || hi - lo < 2) return [];
  if (hi - lo - 1 <= m) return Array.from({ length: hi - lo - 1 }, (_, i) => lo + 1 + i);
  const out = new Set<number>();
  for (let i = 1; i <= m; i++) out.add(lo + Math.round((i * (hi - lo)) / (m + 1)));
  return [...out].filter((x) => x > lo && x < hi);
}

/** hi, then the midpoints of (lo, hi) breadth first: the order a hypothesis' probes are taken in. */
export function bisectOrder(lo: number, hi: number): number[] {
  const out: number[] = hi > lo ? [hi] : [];
  const queue: [number, number][] = [[lo, hi]];
  while (queue.length) {
    const [a, b] = queue.shift()!;
    if (b - a < 2) continue;
    const mid = Math.round((a + b) / 2);
    out.push(mid);
    queue.push([a, mid], [mid, b]);
  }
  return out;
}

class Interrupted extends Error {
  constructor(readonly step: string) {
    super(`interrupted during ${step}`);
  }
}

type Stop = { stop: boolean };

export class BatchLander {
  readonly #c: DriverContext;
  readonly #group: TargetGroup;
  readonly #t: BatchTools;
  readonly #shape: BatchShape;
  readonly #results: LandingResult[] = [];
  /** Ids of the runs a member was in, for its report. */
  readonly #runsOf = new Map<number, number[]>();
  #label = '';

  // The round: its first tip, the chain, what is known and what runs.
  #workspace = '';
  #build = '';
  #head = '';
  #tip = '';
  #landed: number[] = [];
  #seq: BatchMember[] = [];
  #prepared = new Map<number, Prepared>();
  #trees = new Map<string, Tree>();
  #known = new Map<string, Known>();
  #running = new Map<string, Probe>();
  /** Every probe of the round, thrown away ones too (their aborted tests are waited for at the end). */
  #all: Probe[] = [];
  /** Entry ids out of this round: rejected, left for the next round, or found landed. */
  #out = new Set<number>();
  #trunkMoved = false;
  /** Entries whose attempt of this round is counted. */
  #tried = new Set<number>();

  constructor(context: DriverContext, group: TargetGroup, tools: BatchTools, shape: BatchShape) {
    this.#c = context;
    this.#group = group;
    this.#t = tools;
    this.#shape = shape;
  }

  async land(members: BatchMember[]): Promise<{ results: LandingResult[]; stop: boolean }> {
    const { log, settings } = this.#c;
    this.#label = members.map((m) => m.c.proposal.id).join(', ');
    log.info('batch', { size: members.length, proposals: this.#label, window: this.#shape.window, ...(this.#shape.optimistic ? { optimistic: true } : {}) });
    let left = members;
    for (let round = 0; ; round++) {
      const base = join(this.#c.run.workdir, `batch-${members[0]!.entry.id}-${round}`);
      let stop: Stop;
      try {
        stop = await this.#round(left, base);
      } finally {
        if (!this.#c.keep) await rm(base, { recursive: true, force: true });
      }
      if (stop.stop) return { results: this.#results, stop: true };
      if (!this.#trunkMoved) return { results: this.#results, stop: false };
      left = this.#seq;
      if (left.length === 0) return { results: this.#results, stop: false };
      if (round + 1 >= settings.attempts) {
        for (const m of left) {
          const rejection = new Rejection('trunk-kept-moving', { target: m.c.proposal.target.branch || m.c.proposal.target.url, rounds: round + 1 });
          this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'rejected', rejection: { code: rejection.code, reason: rejection.reason } }));
        }
        return { results: this.#results, stop: false };
      }
      log.info('trunk moved: building the chain again on the new tip', { round: `${round + 2}/${settings.attempts}`, proposals: left.map((m) => m.c.proposal.id).join(', ') });
    }
  }

  /** One round on one trunk tip: prepare, then decide and schedule until nothing is left. */
  async #round(members: BatchMember[], workspace: string): Promise<Stop> {
    const { store, run, log } = this.#c;
    this.#workspace = workspace;
    this.#trunkMoved = false;
    this.#landed = [];
    this.#trees = new Map();
    this.#known = new Map();
    this.#running = new Map();
    this.#all = [];
    this.#out = new Set();
    this.#prepared = new Map();
    this.#tried = new Set();
    try {
      await rm(workspace, { recursive: true, force: true });
      await mkdir(workspace, { recursive: true });
      this.#seq = [];
      // The round's first tests (one per slot at most): their sandboxes made while it fetches and merges.
      this.#c.prepare?.(members[0]!.c.project, Math.min(this.#shape.window, members.length), members.length === 1 ? members[0]!.c.proposal : undefined);
      await this.#prepare(members);
      if (this.#seq.length === 0) return { stop: false };
      for (;;) {
        if (run.signal.aborted || this.#c.stopped?.()) throw new Interrupted('the batch');
        // Every result in by now is applied before deciding (runs of one round end together).
        for (const p of [...this.#running.values()]) if (p.result) await this.#settle(p.result);
        await this.#decide();
        if (this.#trunkMoved) {
          this.#discardAll('the target moved: built again on the new tip');
          for (const m of this.#seq) store.setState(m.entry.id, 'queued', 'the target moved during the batch: merging again and testing again');
          return { stop: false };
        }
        if (this.#seq.length === 0 && this.#running.size === 0) {
          for (const k of this.#known.values()) if (k.green) store.updateRun(k.probe.runRow.id, { state: 'discarded', detail: 'passed, not needed: everything it held was decided' });
          return { stop: false };
        }
        if (!(await this.#schedule())) continue;
        if (this.#running.size === 0) throw new Error('the batch schedule found nothing to test (a bug): entries left queued');
        if (![...this.#running.values()].some((p) => p.result)) await Promise.race([...this.#running.values()].map((p) => p.done));
      }
    } catch (error) {
      const interrupted = error instanceof Interrupted || run.signal.aborted || this.#c.stopped?.() === true;
      const message = interrupted ? 'interrupted' : this.#c.redactor.redact(error instanceof Error ? error.message : String(error));
      this.#discardAll(interrupted ? 'interrupted' : `internal error: ${message}`, interrupted ? 'interrupted' : 'error');
      await Promise.allSettled([...this.#running.values()].map((p) => p.done));
      const first = this.#seq[0];
      for (const m of [...this.#seq]) {
        const e = store.entry(m.entry.id)!;
        if (e.state !== 'testing' && e.state !== 'queued') continue;
        store.setState(m.entry.id, 'queued', interrupted ? 'interrupted during its batch; tried again on the next run (still approved)' : `internal error in its batch (${message}); tried again on the next run`);
        if (!interrupted && first) {
          const runId = this.#runsOf.get(m.entry.id)?.at(-1);
          const row = runId !== undefined ? store.run(runId) : undefined;
          if (row) await this.#t.reportError(m.entry, m.c, row, message);
        }
        this.#results.push({ kind: 'error', proposal: m.c.proposal, project: m.c.project, message, dryRun: run.dryRun });
      }
      log.error(interrupted ? 'batch interrupted' : 'batch: internal error', { error: message });
      return { stop: true };
    } finally {
      for (const p of this.#running.values()) p.abort.abort();
      await Promise.allSettled(this.#all.map((p) => p.done));
    }
  }

  // ---- preparation --------------------------------------------------------------------

  /**
   * Every member fetched in a checkout of its own, eight at a time, and merged onto the chain
   * as soon as it and every member ahead of it are in (fetching and merging overlap: the chain
   * of 16 is ready about one merge after the last fetch). Sets `#seq` (the members in the chain).
   */
  async #prepare(members: BatchMember[]): Promise<void> {
    const { run, hooks, log } = this.#c;
    type Slot = { promise: Promise<Prepared | undefined>; resolve: (p: Prepared | undefined) => void; reject: (e: unknown) => void };
    const slots: Slot[] = members.map(() => {
      const slot = {} as Slot;
      slot.promise = new Promise((resolve, reject) => Object.assign(slot, { resolve, reject }));
      slot.promise.catch(() => undefined); // awaited below, in order; an error there stops the round
      return slot;
    });
    let next = 0;
    let halt = false;
    const worker = async () => {
      for (let i = next++; i < members.length; i = next++) {
        if (halt) {
          slots[i]!.reject(new Interrupted('fetch'));
          continue;
        }
        const m = members[i]!;
        const own = join(this.#workspace, `p${m.entry.id}`);
        try {
          await mkdir(own, { recursive: true });
          const checkout = await this.#c.bail('fetch', hooks.fetch.promise({ proposal: m.c.proposal, workspace: own, signal: run.signal }), m.c.proposal.target);
          slots[i]!.resolve({ m, checkout });
        } catch (error) {
          const rejection = asRejection(error);
          if (!rejection || run.signal.aborted) {
            halt = true;
            slots[i]!.reject(error);
            continue;
          }
          try {
            log.child(m.c.proposal.id).info('taken out of the batch alone', { code: rejection.code, reason: rejection.reason });
            this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'rejected', rejection: this.#t.redacted(rejection) }, { batch: `Taken out of batch (${this.#label}) before it was tested: it does not fetch.` }));
            slots[i]!.resolve(undefined);
          } catch (reportError) {
            halt = true;
            slots[i]!.reject(reportError);
          }
        }
      }
    };
    const started = Date.now();
    const workers = Promise.all(Array.from({ length: Math.min(8, members.length) }, worker));
    void workers.then(() => log.info('fetched', { proposals: members.length, ms: Date.now() - started }));
    const alternates = new Set<string>();
    try {
      for (const slot of slots) {
        const p = await slot.promise;
        if (!p) continue;
        const objects = await objectsOf(p.checkout.dir);
        if (this.#seq.length === 0 && this.#prepared.size === 0) {
          this.#tip = p.checkout.targetRevision;
          this.#build = join(this.#workspace, 'chain');
          await mkdir(this.#build, { recursive: true });
          await git(this.#build, ['init', '--quiet', '.']);
          alternates.add(objects);
          await writeFile(join(this.#build, '.git', 'objects', 'info', 'alternates'), `${objects}\n`);
          await git(this.#build, ['checkout', '--quiet', '--detach', this.#tip]);
          this.#head = this.#tip;
          this.#trees.set('', { ids: [], merges: [], revision: this.#tip });
        } else {
          if (p.checkout.targetRevision !== this.#tip) throw new Error(`the target moved while the batch was fetched (${this.#tip}, ${p.checkout.targetRevision}); tried again on the next run`);
          // Read by each git process when it starts: the member's objects are reachable from its merge on.
          if (!alternates.has(objects)) {
            alternates.add(objects);
            await appendFile(join(this.#build, '.git', 'objects', 'info', 'alternates'), `${objects}\n`);
          }
        }
        this.#prepared.set(p.m.entry.id, p);
        this.#seq.push(p.m);
        // The chain grows by this member (a conflict or an earlier landing takes it out again).
        await this.#tree([...this.#seq]);
      }
    } finally {
      halt = true;
      await workers;
    }
    if (this.#prepared.size > 0) log.info('chain ready', { tip: this.#tip, size: this.#seq.length, ms: Date.now() - started });
  }

  /**
   * The chain commit holding `members` (in order, after the landed ones), merging what is
   * missing on top of the longest one already built. Undefined when a member had to leave
   * the round (conflict, already landed) or a test result came in meanwhile: the schedule is
   * then recomputed.
   */
  async #tree(members: BatchMember[]): Promise<Tree | undefined> {
    const ids = [...this.#landed, ...members.map((m) => m.entry.id)];
    let have = ids.length;
    while (!this.#trees.has(ids.slice(0, have).join(','))) have--;
    let tree = this.#trees.get(ids.slice(0, have).join(','))!;
    for (let i = have; i < ids.length; i++) {
      // A result in: decide first (what is merged so far is kept for later).
      if ([...this.#running.values()].some((x) => x.result)) return undefined;
      const m = members[i - this.#landed.length]!;
      const p = this.#prepared.get(m.entry.id)!;
      if (this.#head !== tree.revision) {
        await git(this.#build, ['checkout', '--quiet', '--detach', tree.revision]);
        this.#head = tree.revision;
      }
      let merge: MergeResult;
      try {
        merge = await this.#t.merge(m.c.proposal, { dir: this.#build, targetRevision: this.#tip, sourceRevision: p.checkout.sourceRevision });
      } catch (error) {
        const rejection = asRejection(error);
        if (!rejection || this.#c.run.signal.aborted) throw error;
        await git(this.#build, ['checkout', '--quiet', '--detach', '--force', tree.revision]);
        await this.#conflict(p, tree, rejection);
        return undefined;
      }
      if (merge.alreadyLanded) {
        await git(this.#build, ['checkout', '--quiet', '--detach', '--force', tree.revision]);
        this.#c.log.child(m.c.proposal.id).info('already landed by an earlier run; reporting it', { revision: merge.revision });
        this.#leave(m);
        this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'landed', revision: merge.revision }));
        return undefined;
      }
      this.#head = merge.revision;
      tree = { ids: ids.slice(0, i + 1), merges: [...tree.merges, merge.revision], revision: merge.revision };
      this.#trees.set(tree.ids.join(','), tree);
    }
    return tree;
  }

  /** A member that does not merge on top of those ahead: alone on the tip decides whether it is rejected or left for later. */
  async #conflict(p: Prepared, parent: Tree, rejection: Rejection): Promise<void> {
    const { m } = p;
    const plog = this.#c.log.child(m.c.proposal.id);
    if (p.alone === undefined) {
      try {
        await this.#t.merge(m.c.proposal, p.checkout);
        p.alone = 'ok';
      } catch (error) {
        const alone = asRejection(error);
        if (!alone || this.#c.run.signal.aborted) throw error;
        p.alone = alone;
      }
    }
    this.#leave(m);
    if (p.alone !== 'ok' || parent.ids.length === 0) {
      const r = p.alone === 'ok' ? rejection : p.alone;
      plog.info('taken out of the batch alone', { code: r.code, reason: r.reason });
      this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'rejected', rejection: this.#t.redacted(r) }, { batch: `Taken out of batch (${this.#label}) before it was tested: it does not merge on its own.` }));
      return;
    }
    const ahead = parent.ids.map((id) => this.#member(id)?.c.proposal.id ?? `entry ${id}`).join(', ');
    const reason = `merges alone but conflicts with ${ahead} ahead of it in the batch (${rejection.reason}): left for the next batch`;
    plog.info('left out of the batch', { reason });
    this.#c.store.setState(m.entry.id, 'queued', reason);
  }

  #member(id: number): BatchMember | undefined {
    return this.#prepared.get(id)?.m;
  }

  /** Takes a member out of this round; every run holding it is thrown away. */
  #leave(m: BatchMember): void {
    this.#out.add(m.entry.id);
    this.#seq = this.#seq.filter((x) => x.entry.id !== m.entry.id);
    this.#discardMoot(`it held ${m.c.proposal.id}, taken out of the batch`);
  }

  // ---- knowledge, verdicts, landings ---------------------------------------------------

  #key(members: BatchMember[]): string {
    return [...this.#landed, ...members.map((m) => m.entry.id)].join(',');
  }

  /** Known state of the real prefixes of S, by length. */
  #prefixes(): { g: number; r: number; running: Set<number> } {
    let g = 0;
    let r = Infinity;
    const running = new Set<number>();
    for (let L = 1; L <= this.#seq.length; L++) {
      const key = this.#key(this.#seq.slice(0, L));
      const k = this.#known.get(key);
      if (k?.green) g = L;
      else if (k && L < r) r = L;
      if (this.#running.has(key)) running.add(L);
    }
    return { g, r, running };
  }

  /** Applies what is known: flakes, culprits, landings, until nothing changes. */
  async #decide(): Promise<void> {
    for (;;) {
      const { g, r, running } = this.#prefixes();
      if (r < g) {
        // A red prefix inside a green one: the red result is not believed.
        const key = this.#key(this.#seq.slice(0, r));
        const k = this.#known.get(key)!;
        const green = this.#known.get(this.#key(this.#seq.slice(0, g)))!;
        this.#c.log.warn('suspected flake: a tree failed but a longer one holding all of it passed; nobody blamed', { run: k.probe.runRow.id, passed: green.probe.runRow.id });
        this.#c.store.updateRun(k.probe.runRow.id, { detail: `suspected flake: tests failed (${k.failed?.reason ?? 'red'}) but run ${green.probe.runRow.id}, holding all of this tree, passed` });
        this.#known.delete(key);
        continue;
      }
      if (r === g + 1) {
        await this.#culprit(this.#seq[g]!, this.#known.get(this.#key(this.#seq.slice(0, r)))!, g);
        continue;
      }
      // Not optimistic: nothing shorter may still be under test (it must land as tested first).
      const waitFor = [...running].filter((x) => x < g);
      const L = this.#shape.optimistic || waitFor.length === 0 ? g : this.#greenBelow(Math.min(...waitFor));
      if (L > 0) {
        if (!(await this.#push(L))) return;
        continue;
      }
      return;
    }
  }

  /** The longest green prefix shorter than `limit`. */
  #greenBelow(limit: number): number {
    for (let L = limit - 1; L > 0; L--) if (this.#known.get(this.#key(this.#seq.slice(0, L)))?.green) return L;
    return 0;
  }

  async #culprit(m: BatchMember, red: Known, aheadCount: number): Promise<void> {
    const runs = (this.#runsOf.get(m.entry.id) ?? []).join(', ');
    const ahead = this.#seq.slice(0, aheadCount).map((x) => x.c.proposal.id);
    const over = ahead.length ? `on top of the tip and ${ahead.join(', ')} ahead of it, which passed` : 'merged alone onto the tip';
    const sentence = `Judged the culprit of batch (${this.#label}): its tests failed ${over} (run ${red.probe.runRow.id}); runs it was in: ${runs}.`;
    this.#c.log.child(m.c.proposal.id).info('culprit', { run: red.probe.runRow.id, ahead: ahead.join(', ') || '-' });
    this.#leave(m);
    this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'rejected', rejection: this.#t.redacted(red.failed!) }, { runId: red.probe.runRow.id, test: red.test, batch: sentence }));
  }

  /** Pushes the prefix of length L (green); false when trunk moved. */
  async #push(L: number): Promise<boolean> {
    const { store, run, hooks, log } = this.#c;
    const members = this.#seq.slice(0, L);
    const key = this.#key(members);
    const k = this.#known.get(key)!;
    const tree = this.#trees.get(key)!;
    const runRow = k.probe.runRow;
    const last = members.at(-1)!;
    const where = { run: runRow.id, size: members.length };
    const effect = `run-${runRow.id}:push`;
    store.updateRun(runRow.id, { state: 'pushing' });
    const pushed = await this.#t.step(runRow, 'push', log, where, async () => {
      store.intend(effect, { entryId: last.entry.id, runId: runRow.id, kind: 'push', payload: { revision: tree.revision, over: this.#currentTip(), entries: members.map((m) => m.entry.id) } });
      try {
        const checkout = { dir: this.#build, targetRevision: this.#currentTip(), sourceRevision: tree.revision };
        const answer = await this.#c.bail('push', hooks.push.promise({ proposal: last.c.proposal, checkout, merge: { revision: tree.revision }, signal: run.signal }), last.c.proposal.target);
        if (answer.revision !== tree.revision) throw new Error(`the push answered ${answer.revision}, not the tested tree ${tree.revision}`);
        store.done(effect, { revision: answer.revision });
        return true;
      } catch (error) {
        if (asRejection(error)?.code !== 'push-rejected') throw error;
        store.done(effect, { refused: true });
        return false;
      }
    });
    if (!pushed) {
      store.updateRun(runRow.id, { state: 'retry', detail: 'push refused: the target moved' });
      this.#trunkMoved = true;
      return false;
    }
    const offset = this.#landed.length;
    members.forEach((m, i) => store.setState(m.entry.id, 'pushed', null, { landedRevision: tree.merges[offset + i]! }));
    log.info('batch landed', { run: runRow.id, revision: tree.revision, size: members.length });
    faultPoint('batch-after-push');
    // Shorter green prefixes landed inside this push.
    for (const [kk, known] of [...this.#known]) {
      if (known.green && kk !== key && (kk === '' || key.startsWith(`${kk},`))) {
        store.updateRun(known.probe.runRow.id, { state: 'landed', detail: `its tree landed inside run ${runRow.id}'s push` });
        this.#known.delete(kk);
      }
    }
    this.#known.delete(key);
    this.#landed = tree.ids;
    this.#seq = this.#seq.slice(L);
    this.#discardMoot(`proposals ahead of it landed in run ${runRow.id} without the rest of its tree`, `its proposals landed in run ${runRow.id}`);
    store.updateRun(runRow.id, { state: 'reporting' });
    const names = members.map((m) => m.c.proposal.id).join(', ');
    for (const [i, m] of members.entries()) {
      const runs = (this.#runsOf.get(m.entry.id) ?? []).join(', ');
      const sentence = members.length > 1
        ? `Landed in run ${runRow.id} of batch (${this.#label}) with ${names}, tested together as ${tree.revision}; runs it was in: ${runs}.`
        : `Landed alone in run ${runRow.id} of batch (${this.#label}), tested as ${tree.revision}; runs it was in: ${runs}.`;
      this.#results.push(await this.#t.report(m.entry, m.c, { kind: 'landed', revision: tree.merges[offset + i]! }, { runId: runRow.id, test: k.test, batch: sentence }));
    }
    return true;
  }

  #currentTip(): string {
    return this.#trees.get(this.#landed.join(','))?.revision ?? this.#tip;
  }

  /** Throws away the runs (and results) that can no longer land: not over what landed, or holding a member that left. */
  #discardMoot(why: string, whyShorter = why): void {
    const landedKey = this.#landed.join(',');
    const useful = (key: string) => {
      const ids = key.split(',').filter(Boolean).map(Number);
      if (ids.some((id) => this.#out.has(id))) return false;
      return key === landedKey || landedKey === '' || key.startsWith(`${landedKey},`);
    };
    for (const [key, p] of this.#running) {
      if (useful(key)) continue;
      const shorter = landedKey.startsWith(key);
      this.#discard(p, shorter ? whyShorter : why);
    }
    for (const [key, k] of [...this.#known]) {
      if (useful(key)) continue;
      if (k.green) this.#c.store.updateRun(k.probe.runRow.id, { state: 'discarded', detail: `passed, but ${why}` });
      this.#known.delete(key);
    }
  }

  #discard(p: Probe, why: string, state: 'discarded' | 'interrupted' | 'error' = 'discarded'): void {
    if (p.discarded) return;
    p.discarded = true;
    p.abort.abort();
    this.#running.delete(p.key);
    this.#c.store.updateRun(p.runRow.id, { state, detail: why });
    this.#c.log.info('run thrown away', { run: p.runRow.id, why });
  }

  #discardAll(why: string, state: 'discarded' | 'interrupted' | 'error' = 'discarded'): void {
    for (const p of [...this.#running.values()]) this.#discard(p, why, state);
  }

  // ---- the schedule ---------------------------------------------------------------------

  /** Fills the free slots (see the top of this file); false when a member left meanwhile (decide again). */
  async #schedule(): Promise<boolean> {
    const free = this.#shape.window - this.#running.size;
    if (free <= 0 || this.#seq.length === 0) return true;
    // Trees already merged start first; each further merge is a git process or four.
    const plan = this.#plan(free).map((members, i) => ({ members, i, cost: this.#cost(members) }));
    plan.sort((a, b) => a.cost - b.cost || a.i - b.i);
    const later = this.#laterRounds(plan.map((p) => p.members));
    for (const [n, { members }] of plan.entries()) {
      const started = Date.now();
      const tree = await this.#tree(members);
      if (!tree) return false;
      this.#c.log.info('built', { size: members.length, ms: Date.now() - started });
      // The hint of how many tests follow: the rest of this schedule, then the later rounds.
      await this.#start(members, tree, plan.length - 1 - n + later);
      // A result that came in while trees were merged may change the plan: decide first.
      if ([...this.#running.values()].some((p) => p.result)) return false;
    }
    return true;
  }

  /** Merges still to make for the tree holding `members`. */
  #cost(members: BatchMember[]): number {
    const ids = [...this.#landed, ...members.map((m) => m.entry.id)];
    let have = ids.length;
    while (have > 0 && !this.#trees.has(ids.slice(0, have).join(','))) have--;
    return ids.length - have;
  }

  /**
   * For the hint of how many tests follow (`TestPayload.upcoming`): the window's other slots
   * when more rounds are expected after this schedule (a red prefix is being bisected, or
   * members lie beyond the longest tree planned or under test); 0 when, if everything under
   * test passes, the round is over (the 0-bad case: nothing is warmed in vain).
   */
  #laterRounds(plan: BatchMember[][]): number {
    const { r, running } = this.#prefixes();
    const longest = Math.max(0, ...running, ...plan.map((m) => m.length));
    return Number.isFinite(r) || longest < this.#seq.length ? this.#shape.window - 1 : 0;
  }

  #plan(free: number): BatchMember[][] {
    const S = this.#seq;
    const n = S.length;
    const { batch: N, window: K } = this.#shape;
    const { g, r, running } = this.#prefixes();
    const plan: BatchMember[][] = [];
    const taken = new Set<string>();
    const add = (members: BatchMember[]) => {
      if (plan.length >= free || members.length === 0) return;
      const key = this.#key(members);
      if (taken.has(key) || this.#running.has(key) || this.#known.has(key)) return;
      taken.add(key);
      plan.push(members);
    };
    const lengths = new Set<number>(running);
    for (let j = 1; j <= K; j++) {
      const L = Math.min(g + j * N, n);
      if (L < r) {
        add(S.slice(0, L));
        lengths.add(L);
      }
      if (L >= n) break;
    }
    // Side by side: points between the longest green (or running) prefix and the first red (or
    // the units just planned), never shorter than a prefix under test: a shorter one started
    // later would hold back the landing of a longer green one that was started before it.
    const lo = Math.max(g, ...[...running].filter((L) => L < r));
    const above = [...lengths].filter((L) => L > lo);
    const hi = Number.isFinite(r) ? r : above.length ? Math.min(...above) : lo;
    for (const L of spread(lo, hi, free - plan.length)) add(S.slice(0, L));
    // Hypotheses only once every prefix between g and r is known, under test or planned: the
    // culprit is then pinned down by what runs now, and a hypothesis (a chain of its own, a merge
    // per member) is not built for candidates the next results rule out.
    const covered = (L: number) => {
      const key = this.#key(S.slice(0, L));
      return running.has(L) || this.#known.has(key) || taken.has(key);
    };
    const pinned = Number.isFinite(r) && Array.from({ length: Math.max(0, r - g - 1) }, (_, i) => g + 1 + i).every(covered);
    if (pinned && plan.length < free) {
      const lists = [];
      for (let j = g + 1; j <= r; j++) {
        const h = S.filter((_, i) => i !== j - 1);
        const cap = Math.min(h.length, g + N * K);
        lists.push(bisectOrder(j - 1, cap).map((L) => h.slice(0, L)));
      }
      for (let round = 0; plan.length < free && lists.some((l) => l.length > round); round++) {
        for (const l of lists) if (l[round]) add(l[round]!);
      }
    }
    return plan;
  }

  async #start(members: BatchMember[], tree: Tree, upcoming: number): Promise<void> {
    const { store, run, log } = this.#c;
    const key = tree.ids.join(',');
    const offset = this.#landed.length;
    const first = members[0]!;
    // One attempt per member per round (one chain on one tip), however many of its prefixes run.
    const fresh = members.filter((m) => !this.#tried.has(m.entry.id));
    for (const m of fresh) {
      store.countAttempt(m.entry.id);
      this.#tried.add(m.entry.id);
    }
    const attempt = Math.max(...members.map((m) => store.entry(m.entry.id)?.attempts ?? 1));
    const runRow = store.startRun({
      targetKey: this.#group.key,
      project: first.c.project.name,
      botRun: run.id,
      owner: this.#c.owner,
      attempt,
      entries: members.map((m) => m.entry.id),
      merges: tree.merges.slice(offset),
    });
    store.updateRun(runRow.id, { state: 'testing', trunkRevision: this.#currentTip(), treeRevision: tree.revision });
    for (const m of members) this.#runsOf.set(m.entry.id, [...(this.#runsOf.get(m.entry.id) ?? []), runRow.id]);
    // Taps hear "testing" once per member and round (a further run of the same chain changes nothing they see).
    for (const m of fresh) await this.#t.changed(m.entry, m.c, 'testing');
    const dir = join(this.#workspace, `run-${runRow.id}`);
    const abort = new AbortController();
    const ids = members.map((m) => m.c.proposal.id).join(', ');
    const where = { run: runRow.id, size: members.length, proposals: ids };
    const probe: Probe = { key, tree, runRow, members, abort, done: undefined as never };
    const project = first.c.project;
    // The work tree is made inside the run's own promise: the probes of one schedule start together.
    probe.done = this.#t
      .step(runRow, 'test', log, where, async () => {
        await this.#checkout(dir, tree.revision);
        return this.#c.test(project, dir, members.at(-1)!.c.proposal, tree.revision, {
          signal: abort.signal,
          name: `run-${runRow.id}`,
          upcoming,
          onSandbox: (sandbox) => store.addSandbox(runRow.id, sandbox),
        });
      })
      .then(
        (test) => ({ probe, test }),
        (error: unknown) => ({ probe, error }),
      )
      .finally(() => (this.#c.keep ? undefined : Promise.all([rm(dir, { recursive: true, force: true }), rm(`${dir}.index`, { force: true })])))
      .then((result) => (probe.result = result));
    this.#running.set(key, probe);
    this.#all.push(probe);
  }

  /**
   * The files of the chain at `revision` in `dir`: one `git read-tree -u` with an index of its
   * own (`<dir>.index`), reading the chain's objects and writing nothing in its repository.
   * So the trees of a round are written side by side (two `git worktree add` at once in one
   * repository read each other's half-written `.git/worktrees/<name>`). Like a worktree's copy
   * in a container, the tree has no usable `.git`.
   */
  async #checkout(dir: string, revision: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const work = resolve(dir);
    await runCommand(['git', `--git-dir=${resolve(this.#build, '.git')}`, `--work-tree=${work}`, 'read-tree', '--reset', '-u', revision], {
      cwd: work,
      env: { ...GIT_ENV, GIT_INDEX_FILE: `${work}.index` },
    });
  }

  async #settle(settled: Settled): Promise<void> {
    const { store, run, log } = this.#c;
    const { probe } = settled;
    if (probe.discarded) return;
    this.#running.delete(probe.key);
    if (run.signal.aborted) throw new Interrupted('test');
    if (settled.error !== undefined || !settled.test) throw settled.error ?? new Error('the test gave no result');
    const test = settled.test;
    store.updateRun(probe.runRow.id, { testMs: test.durationMs });
    faultPoint('batch-after-test');
    const failed = this.#c.testRejection(test, probe.members[0]!.c.project.test);
    const where = { run: probe.runRow.id, size: probe.members.length };
    if (failed) {
      store.updateRun(probe.runRow.id, { state: 'rejected', detail: `tests failed: ${failed.reason}` });
      log.info('red', where);
    } else {
      store.updateRun(probe.runRow.id, { detail: 'passed; lands when the runs ahead of it allow' });
      log.info('green', where);
    }
    this.#known.set(probe.key, { green: !failed, probe, test, ...(failed ? { failed } : {}) });
  }
}
