/**
 * Drains the journal's due triggers into Jenkins, exactly once per decision:
 *
 * 1. `beginAttempt` journals the attempt (state `sending`, attempts + 1) and waits until
 *    it is on disk (the fdatasync deliveries wait for: no extra one while webhooks arrive)
 *    before any request.
 * 2. The first attempt of a decision is sent unchecked: no attempt on record means none
 *    was ever sent. Later ones too when every earlier attempt was made by this very process
 *    and refused outright by Jenkins (an HTTP 4xx or 503 answer). Otherwise Jenkins is
 *    asked first whether a queue item or a recent build carries the decision id
 *    (`BYOCI_DECISION`): an earlier attempt may have reached it (a kill -9 after the POST,
 *    an answer lost, a timeout, a 502/504 from a proxy). If one does, that is recorded and
 *    nothing is sent. The records of outcomes need no fsync: a power loss can only lose
 *    records of attempts that are then checked.
 * 3. Else `buildWithParameters`; a 201 with its `Location` is recorded (`queued`); when no
 *    other trigger waits for the slot, the queue item is followed once to record the build
 *    if it already started (best effort).
 * 4. A failure puts the trigger back to `pending`, due after an exponential backoff with
 *    jitter (retryMin doubling up to retryMax); after an answer-less POST the wait is at
 *    least twice the request timeout, so the lost request is over before the check looks
 *    for it.
 */
import type { Logger } from '../core/index.js';
import { JenkinsError, type JenkinsClient } from './jenkins.js';
import type { Journal, TriggerRow } from './journal.js';
import { DECISION_PARAM } from './rules.js';

/** Webhooks closer together than this are a burst (see Dispatcher.pump). */
const BURST_GAP_MS = 50;
/**
 * During a burst, one trigger in flight, and one started at most this often (25/s). An
 * attempt costs the event loop ~1 ms (its two journal writes, the Jenkins exchange, a check's
 * JSON after a restart); at 10 ms the dispatcher took ~9 % of the loop during a burst, and
 * bench:brain's restarted brain answered with p99 22.8/23.0 ms against 19.0/19.0 at 40 ms
 * (two alternate pairs, quiet machine), the backlog draining no later after the burst.
 */
const BURST_PACE_MS = 40;

export interface DispatcherOptions {
  journal: Journal;
  jenkins: JenkinsClient;
  log: Logger;
  concurrency: number;
  retryMinMs: number;
  retryMaxMs: number;
  timeoutMs: number;
  lookback: number;
  /** How far Jenkins' clock may be behind ours (build timestamps vs decision times). */
  clockSkewMs: number;
  now?: () => number;
  /** Counters for /metrics. */
  onOutcome?: (job: string, outcome: 'queued' | 'found' | 'failed') => void;
  onAttempt?: (ended: boolean) => void;
}

export class Dispatcher {
  private inFlight = 0;
  private readonly claimed = new Set<string>();
  /** Triggers of this process whose last attempt may have reached Jenkins: checked before the next. */
  private readonly uncertain = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() at which `timer` fires. */
  private timerAt = Infinity;
  private pokeScheduled = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly now: () => number;
  /** Decisions made before this moment were made by an earlier process: always checked. */
  private readonly startedAt: number;

  constructor(private readonly options: DispatcherOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  start(): void {
    this.startedPerf = performance.now();
    const recovered = this.options.journal.recoverInterrupted();
    if (recovered) this.options.log.warn('attempts interrupted by the last stop: checking Jenkins before re-sending', { triggers: recovered });
    this.poke();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  get busy(): number {
    return this.inFlight;
  }

  /**
   * New triggers were journaled, or an attempt ended: look for due work, once per turn of
   * the event loop however many pokes came in it (a query, not one per answered webhook).
   */
  poke(): void {
    if (this.stopped || this.pokeScheduled) return;
    // During a burst, with an attempt in flight, nothing can start (one slot) before that
    // attempt ends, which pokes; and the timer looks again within BURST_GAP_MS (in case the
    // burst ends first). So a delivery's poke would only run the queries again: skipped.
    if (this.inFlight > 0 && this.timer !== undefined && this.timerAt - performance.now() <= BURST_GAP_MS && this.inBurst()) return;
    this.pokeScheduled = true;
    setImmediate(() => {
      this.pokeScheduled = false;
      this.pump();
    });
  }

  /**
   * Intake first. Triggers in flight at once: `concurrency`; but while webhooks keep
   * arriving (less than BURST_GAP_MS apart) one, and one started every BURST_PACE_MS at
   * most: answering the forge comes first (it waits, and p99 matters), the dispatcher takes
   * a small bounded share of the event loop meanwhile (never none: a flood cannot starve
   * Jenkins) and the backlog drains after the burst, at full concurrency.
   */
  private inBurst(): boolean {
    return performance.now() - Math.max(this.options.journal.lastDeliveryAt, this.startedPerf) < BURST_GAP_MS;
  }

  /**
   * performance.now() of start(), which counts as a delivery for inBurst: a brain that just
   * started (after a crash, an outage) meets the deliveries the forges send again first,
   * with the whole backlog due at once. Sent at full concurrency then, the backlog's attempts
   * took the event loop from them: in three alternate pairs of bench:brain, the restarted
   * brain's slowest first answer (one per connection) came after 144-184 ms, against 122-150 ms
   * with this. With no delivery in the first BURST_GAP_MS, the backlog drains at full
   * concurrency. Test: test/brain/dispatcher-start.test.ts.
   */
  private startedPerf = -Infinity;

  private slots(): number {
    return this.inBurst() ? 1 : this.options.concurrency;
  }

  /** performance.now() of the last attempt started. */
  private lastStart = -Infinity;

  private pump(): void {
    if (this.stopped) return;
    const burst = this.inBurst();
    let free = (burst ? 1 : this.options.concurrency) - this.inFlight;
    const paced = burst && free > 0 && performance.now() - this.lastStart < BURST_PACE_MS;
    if (paced) free = 0;
    let started = 0;
    const now = this.now();
    if (free > 0) {
      for (const id of this.options.journal.due(free, now, this.claimed)) {
        started++;
        this.claimed.add(id);
        this.inFlight++;
        this.lastStart = performance.now();
        this.options.onAttempt?.(false);
        void this.run(id).finally(() => {
          this.options.onAttempt?.(true);
          this.claimed.delete(id);
          this.inFlight--;
          this.poke();
        });
      }
    }
    this.schedule(now, paced, free > started);
    if (this.inFlight === 0 && this.options.journal.nextDue() === undefined) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async run(id: string): Promise<void> {
    let taken: TriggerRow | undefined;
    try {
      taken = await this.options.journal.beginAttempt(id);
    } catch (error) {
      this.options.log.error('cannot journal an attempt: not sending', { trigger: id, error: (error as Error).message });
      return;
    }
    if (taken) await this.attempt(taken);
  }

  /** Resolves when no attempt is in flight (after stop(): for a clean shutdown). */
  async drain(timeoutMs = 5_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  }

  /** Resolves when nothing is pending or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.options.journal.nextDue() === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * The next look for due work. `paced`: held back by the burst pace; `spare`: slots were
   * free but nothing due could start (what is due is in flight, or its commit is not on
   * disk yet: the end of that attempt, or that sync, pokes again).
   */
  private schedule(now: number, paced: boolean, spare: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const next = this.options.journal.nextDue();
    if (next === undefined) return;
    // The `now` due() was asked with: a timer may fire a little early.
    let wait = next - now;
    if (wait <= 0) {
      if (paced) wait = Math.max(1, BURST_PACE_MS - (performance.now() - this.lastStart));
      // Held back by a burst (or all slots busy): look again once it may be over.
      else if (this.inFlight >= this.slots()) wait = BURST_GAP_MS;
      // Due but skipped: in flight, or its commit not on disk yet; what ends that pokes.
      else if (spare && (this.inFlight > 0 || this.options.journal.syncPending)) return;
      else wait = BURST_PACE_MS;
    }
    const ms = Math.max(0, Math.min(wait, 60_000));
    this.timerAt = performance.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.poke();
    }, ms);
  }

  private backoff(attempts: number, ambiguous: boolean): number {
    const { retryMinMs, retryMaxMs, timeoutMs } = this.options;
    const exp = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(30, attempts - 1));
    const wait = exp / 2 + Math.random() * (exp / 2);
    return Math.round(ambiguous ? Math.max(wait, 2 * timeoutMs) : wait);
  }

  private async attempt(row: TriggerRow): Promise<void> {
    const { journal, jenkins, log, lookback } = this.options;
    const scope = { trigger: row.id, job: row.job, attempt: row.attempts };
    try {
      // Sent unchecked when it is the first attempt (its record is on disk: none was made
      // before), or when every earlier attempt was made by this process and refused outright
      // (HTTP 4xx/503): any other attempt may follow one that reached Jenkins (an answer lost,
      // a kill -9 after the POST). Decisions from before attempts were journaled durably
      // (migration brain-4) are always checked.
      const earlierProcess = row.createdAt < this.startedAt && (row.attempts > 1 || row.createdAt < journal.durableAttemptsSince);
      if (earlierProcess || this.uncertain.has(row.id)) {
        const found = await jenkins.find(row.job, DECISION_PARAM, row.id, { since: row.createdAt, lookback, skewMs: this.options.clockSkewMs });
        if (found) {
          this.uncertain.delete(row.id);
          await journal.recordQueued(row.id, row.attempts, found.queueUrl, found.where, found.buildUrl);
          this.options.onOutcome?.(row.job, 'found');
          log.info('Jenkins already had this decision: not sent again', Object.assign({}, scope, { where: found.where }));
          return;
        }
      }
      // Object.assign, not `{ ...row.params, [DECISION_PARAM]: id }` (in Node 20's V8 each property after a spread costs ~1 us).
      const queueUrl = await jenkins.buildWithParameters(row.job, Object.assign({}, row.params, { [DECISION_PARAM]: row.id }));
      await journal.recordQueued(row.id, row.attempts, queueUrl, 'sent');
      this.options.onOutcome?.(row.job, 'queued');
      log.info('build queued', Object.assign({}, scope, { queue: queueUrl }));
    } catch (error) {
      const ambiguous = error instanceof JenkinsError && error.ambiguous;
      // Anything but a refusal Jenkins answered (network errors of the check included) makes
      // the next attempt check first.
      if (!(error instanceof JenkinsError) || error.mayHaveActed) this.uncertain.add(row.id);
      const message = error instanceof Error ? error.message : String(error);
      const wait = this.backoff(row.attempts, ambiguous);
      this.options.onOutcome?.(row.job, 'failed');
      log.warn('trigger failed: will retry', Object.assign({}, scope, { error: message, retryInMs: wait }));
      try {
        await journal.recordFailure(row.id, row.attempts, message, this.now() + wait);
      } catch (e) {
        // Left `sending`: the next start puts it back to pending, and checks before re-sending.
        log.error('cannot journal a failed attempt', Object.assign({}, scope, { error: (e as Error).message }));
      }
      return;
    }
    this.uncertain.delete(row.id);
    // Best effort, and only when no other trigger waits for the slot (under a burst the
    // queue item is left alone: the status page then links the queue item, not the build).
    if (this.idleSoon()) this.follow(row).catch(() => undefined);
  }

  /** No due trigger waits for a free slot. */
  private idleSoon(): boolean {
    const next = this.options.journal.nextDue();
    return next === undefined || next > this.now();
  }

  /** Follows the queue item once, to record the build when it already started (best effort). */
  private async follow(row: TriggerRow): Promise<void> {
    const current = this.options.journal.trigger(row.id);
    if (!current?.queueUrl || current.buildUrl) return;
    try {
      const item = await this.options.jenkins.queueItem(current.queueUrl);
      if (item.build) await this.options.journal.recordBuild(row.id, item.build.url);
    } catch (error) {
      this.options.log.debug('queue item not readable', { trigger: row.id, error: (error as Error).message });
    }
  }
}
