/**
 * The journal thread (a worker_threads Worker started by brain/journal-client.ts): the
 * brain's only writer to the store, and its dispatcher. It owns the Journal (group commit,
 * fdatasync), the Dispatcher and the Jenkins client, on a connection of its own to the
 * same WAL store; the intake thread (HTTP, signatures, parsing, the pages) hands it each
 * parsed delivery and answers the forge once this thread replies, which it does only after
 * the delivery's commit is on disk (Journal.accept: the same code and the same guarantees
 * as when both ran on one thread; see journal.ts and dispatcher.ts). Only one thread
 * writes, so the two never wait for each other's locks.
 *
 * Messages, intake → journal: `accept` (batched: every delivery of one turn in one message),
 * `health`, `idle`, `close`. Journal → intake, everything of one turn in one `batch`:
 * `ready` / `failed` (start), `reply`, `log` (records for the intake thread's logger),
 * `outcome` (for /metrics).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Fields, Logger } from '../core/index.js';
import { openStore } from '../store/index.js';
import type { BrainConfig } from './config.js';
import { Dispatcher } from './dispatcher.js';
import type { BrainEvent } from './events.js';
import { JenkinsClient } from './jenkins.js';
import { Journal } from './journal.js';
import { startCheckpointer } from './checkpoint.js';
import { decide } from './rules.js';
import { brainStatsFromEnv } from './stats.js';

export interface JournalThreadData {
  storePath: string;
  config: Pick<BrainConfig, 'rules' | 'coalesce' | 'jenkins'>;
  jenkinsToken: string;
}

export type ToJournal =
  | { t: 'accept'; items: { id: number; event: BrainEvent; bodyBytes: number }[] }
  | { t: 'health'; id: number }
  | { t: 'idle'; id: number }
  | { t: 'close'; id: number };

export interface JournalHealth {
  inFlight: number;
  nextDue: number | null;
  failure?: string;
  groupCommits: { count: number; ops: number; ms: number; maxMs: number; syncs: number; syncMs: number; syncMaxMs: number };
}

export type FromJournal =
  | { t: 'ready' }
  | { t: 'failed'; error: string }
  | ({ t: 'reply'; id: number } & ({ ok: true; value: unknown } | { ok: false; error: string }))
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; scope: string[]; msg: string; fields?: Fields }
  | { t: 'outcome'; job: string; outcome: 'queued' | 'found' | 'failed' }
  | { t: 'batch'; items: Exclude<FromJournal, { t: 'batch' }>[] };

const port = parentPort;
if (!port) throw new Error('brain/journal-thread.ts runs as a worker thread (see journal-client.ts)');

/** What one turn of this thread's event loop has for the intake thread goes in one message. */
let outbox: Exclude<FromJournal, { t: 'batch' }>[] = [];
function send(m: Exclude<FromJournal, { t: 'batch' }>): void {
  if (!outbox.length) {
    setImmediate(() => {
      const items = outbox;
      outbox = [];
      port?.postMessage({ t: 'batch', items } satisfies FromJournal);
    });
  }
  outbox.push(m);
}

/** A logger whose records go to the intake thread's logger (one writer of stderr). */
function forwardingLogger(scope: string[]): Logger {
  const emit = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: Fields) => {
    let plain: Fields | undefined;
    if (fields) {
      plain = {};
      for (const [k, v] of Object.entries(fields)) plain[k] = v instanceof Error ? v.message : v;
    }
    send({ t: 'log', level, scope, msg, ...(plain ? { fields: plain } : {}) });
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (s: string) => forwardingLogger([...scope, s]) };
}

function reply(item: { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string }): void {
  send({ t: 'reply', ...item });
}

const data = workerData as JournalThreadData;
const { config } = data;
try {
  const db = openStore(data.storePath, { migrations: [] }); // the intake thread migrated it
  const checkpointer = data.storePath === ':memory:' ? undefined : startCheckpointer(db, data.storePath, { log: forwardingLogger(['store']) });
  const stats = brainStatsFromEnv(process.env, '-journal');
  let dispatcher: Dispatcher | undefined;
  const journal = new Journal({
    db,
    log: forwardingLogger(['journal']),
    decide: (event) => decide(config.rules, event),
    coalesceMs: config.coalesce,
    onTriggers: () => dispatcher?.poke(),
    ...(stats ? { onSync: (ms: number) => stats.synced(ms) } : {}),
  });
  const jenkins = new JenkinsClient({ url: config.jenkins.url, user: config.jenkins.user, token: data.jenkinsToken, timeoutMs: config.jenkins.timeout });
  dispatcher = new Dispatcher({
    journal,
    jenkins,
    log: forwardingLogger(['jenkins']),
    concurrency: config.jenkins.concurrency,
    retryMinMs: config.jenkins.retryMin,
    retryMaxMs: config.jenkins.retryMax,
    timeoutMs: config.jenkins.timeout,
    lookback: config.jenkins.lookback,
    clockSkewMs: config.jenkins.clockSkew,
    onOutcome: (job, outcome) => send({ t: 'outcome', job, outcome }),
    ...(stats ? { onAttempt: (ended: boolean) => stats.attempt(ended) } : {}),
  });
  const d = dispatcher;
  let closing = false;
  port.on('message', (m: ToJournal) => {
    switch (m.t) {
      case 'accept':
        for (const item of m.items) {
          if (closing) {
            reply({ id: item.id, ok: false, error: 'the brain is stopping' });
            continue;
          }
          journal.accept(item.event, item.bodyBytes).then(
            (value) => reply({ id: item.id, ok: true, value }),
            (error: unknown) => reply({ id: item.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
          );
        }
        return;
      case 'health': {
        const c = journal.commits;
        const health: JournalHealth = {
          inFlight: d.busy,
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
        reply({ id: m.id, ok: true, value: health });
        return;
      }
      case 'idle':
        void d.idle().then(() => reply({ id: m.id, ok: true, value: null }));
        return;
      case 'close':
        closing = true;
        void (async () => {
          d.stop();
          await d.drain();
          jenkins.close();
          await journal.close();
          await checkpointer?.stop();
          db.close();
          stats?.stop();
          reply({ id: m.id, ok: true, value: null });
        })().catch((error: unknown) => reply({ id: m.id, ok: false, error: error instanceof Error ? error.message : String(error) }));
        return;
    }
  });
  journal.pruneRoutes();
  dispatcher.start();
  send({ t: 'ready' });
} catch (error) {
  send({ t: 'failed', error: error instanceof Error ? error.message : String(error) });
}
