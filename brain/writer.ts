/**
 * The brain's writer: the Journal, the Jenkins client and the Dispatcher wired together, and
 * their health for /healthz. One piece for both places that run it: the intake thread by
 * default (index.ts localEngine) and the journal thread with BYOCI_BRAIN_THREADS=1
 * (journal-thread.ts).
 */
import type { Logger } from '../core/index.js';
import type { Db } from '../store/index.js';
import type { BrainConfig } from './config.js';
import { Dispatcher } from './dispatcher.js';
import { JenkinsClient } from './jenkins.js';
import { Journal } from './journal.js';
import { decide } from './rules.js';
import type { BrainStats } from './stats.js';

export interface JournalHealth {
  inFlight: number;
  nextDue: number | null;
  failure?: string;
  groupCommits: { count: number; ops: number; ms: number; maxMs: number; syncs: number; syncMs: number; syncMaxMs: number };
}

export interface Writer {
  journal: Journal;
  jenkins: JenkinsClient;
  dispatcher: Dispatcher;
}

export function createWriter(options: {
  db: Db;
  config: Pick<BrainConfig, 'rules' | 'coalesce' | 'jenkins'>;
  jenkinsToken: string;
  /** The logger of a part (`journal`, `jenkins`). */
  log: (part: string) => Logger;
  onOutcome: (job: string, outcome: 'queued' | 'found' | 'failed') => void;
  stats: BrainStats | undefined;
}): Writer {
  const { config, stats } = options;
  let dispatcher: Dispatcher | undefined;
  const journal = new Journal({
    db: options.db,
    log: options.log('journal'),
    decide: (event) => decide(config.rules, event),
    coalesceMs: config.coalesce,
    onTriggers: () => dispatcher?.poke(),
    ...(stats ? { onSync: (ms: number) => stats.synced(ms) } : {}),
  });
  const jenkins = new JenkinsClient({ url: config.jenkins.url, user: config.jenkins.user, token: options.jenkinsToken, timeoutMs: config.jenkins.timeout });
  dispatcher = new Dispatcher({
    journal,
    jenkins,
    log: options.log('jenkins'),
    concurrency: config.jenkins.concurrency,
    retryMinMs: config.jenkins.retryMin,
    retryMaxMs: config.jenkins.retryMax,
    timeoutMs: config.jenkins.timeout,
    lookback: config.jenkins.lookback,
    clockSkewMs: config.jenkins.clockSkew,
    onOutcome: options.onOutcome,
    ...(stats ? { onAttempt: (ended: boolean) => stats.attempt(ended) } : {}),
  });
  return { journal, jenkins, dispatcher };
}

/** What /healthz says of the writer. */
export function writerHealth({ journal, dispatcher }: Writer): JournalHealth {
  const c = journal.commits;
  return {
    inFlight: dispatcher.busy,
    nextDue: journal.nextDue() ?? null,
    ...(journal.failure ? { failure: journal.failure.message } : {}),
    groupCommits: {
      count: c.count,
      ops: c.ops,
      ms: Math.round(c.ms),
      maxMs: Math.round(c.maxMs * 10) / 10,
      syncs: c.syncs,
      syncMs: Math.round(c.syncMs),
      syncMaxMs: Math.round(c.syncMaxMs * 10) / 10,
    },
  };
}
