/**
 * Where the brain's time goes, for bench:brain (and an operator chasing latency): with
 * BYOCI_BRAIN_STATS=<file> set, the brain appends one JSON line per second to that file
 * (appended synchronously, so a kill -9 loses at most the last second): the event loop's
 * delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution), how long the deliveries
 * answered in that second took inside the brain, by part (body read, signature + parse,
 * waiting for the group commit and its fdatasync), the fdatasyncs' durations, and how many
 * trigger attempts the dispatcher started and ended. Off (no histogram, no timer) unless
 * the variable is set.
 */
import { appendFileSync } from 'node:fs';
import { createHistogram, monitorEventLoopDelay, type IntervalHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of a histogram in ms; `perMs`: its unit per ms (1e3: microseconds; 1e6: nanoseconds, monitorEventLoopDelay's). */
function summary(h: RecordableHistogram | IntervalHistogram, perMs = 1e3): { n: number; p50: number; p99: number; max: number } {
  const ms = (v: number) => Math.round((v / perMs) * 100) / 100;
  return h.count ? { n: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) } : { n: 0, p50: 0, p99: 0, max: 0 };
}

export class BrainStats {
  private readonly eld: IntervalHistogram;
  private readonly parts = {
    total: createHistogram(),
    body: createHistogram(),
    parse: createHistogram(),
    commit: createHistogram(),
    sync: createHistogram(),
  };
  private attemptsStarted = 0;
  private attemptsEnded = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly file: string) {
    this.eld = monitorEventLoopDelay({ resolution: 1 });
    this.eld.enable();
    this.timer = setInterval(() => this.write(), 1_000);
    this.timer.unref();
  }

  /** One delivery answered: times in ms (performance.now()) of its start, body read, parsed, committed and answered. */
  delivery(t0: number, body: number, parsed: number, answered: number): void {
    const us = (ms: number) => Math.max(1, Math.round(ms * 1000));
    this.parts.total.record(us(answered - t0));
    this.parts.body.record(us(body - t0));
    this.parts.parse.record(us(parsed - body));
    this.parts.commit.record(us(answered - parsed));
  }

  synced(ms: number): void {
    this.parts.sync.record(Math.max(1, Math.round(ms * 1000)));
  }

  attempt(ended: boolean): void {
    if (ended) this.attemptsEnded++;
    else this.attemptsStarted++;
  }

  private write(): void {
    const line = {
      at: Date.now(),
      eld: summary(this.eld, 1e6),
      total: summary(this.parts.total),
      body: summary(this.parts.body),
      parse: summary(this.parts.parse),
      commit: summary(this.parts.commit),
      sync: summary(this.parts.sync),
      attempts: { started: this.attemptsStarted, ended: this.attemptsEnded },
      cpu: process.cpuUsage(),
    };
    this.eld.reset();
    for (const h of Object.values(this.parts)) h.reset();
    this.attemptsStarted = this.attemptsEnded = 0;
    try {
      appendFileSync(this.file, JSON.stringify(line) + '\n');
    } catch {
      // best effort: a debugging aid
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.write();
    this.eld.disable();
  }
}

/**
 * The stats of this thread when BYOCI_BRAIN_STATS names a file, else undefined. The journal
 * thread writes its own (its event loop, the fdatasyncs, the attempts) to `<file><suffix>`.
 */
export function brainStatsFromEnv(env: NodeJS.ProcessEnv = process.env, suffix = ''): BrainStats | undefined {
  const file = env.BYOCI_BRAIN_STATS;
  return file ? new BrainStats(file + suffix) : undefined;
}
