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
import type { BrainEvent } from './events.js';
import { startCheckpointer } from './checkpoint.js';
import { brainStatsFromEnv } from './stats.js';
import { createWriter, writerHealth } from './writer.js';

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

export type { JournalHealth } from './writer.js';

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
  const writer = createWriter({
    db,
    config,
    jenkinsToken: data.jenkinsToken,
    log: (part) => forwardingLogger([part]),
    onOutcome: (job, outcome) => send({ t: 'outcome', job, outcome }),
    stats,
  });
  const { journal, jenkins, dispatcher: d } = writer;
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
      case 'health':
        reply({ id: m.id, ok: true, value: writerHealth(writer) });
        return;
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
  d.start();
  send({ t: 'ready' });
} catch (error) {
  send({ t: 'failed', error: error instanceof Error ? error.message : String(error) });
}
