/**
 * The intake thread's side of the journal thread (journal-thread.ts): starts the worker,
 * hands it parsed deliveries (every delivery of one turn of the event loop in one message),
 * and resolves each `accept` with the journal's answer, which the thread sends only once
 * the delivery is on disk. If the thread dies, every waiting and later `accept` is refused
 * (the server answers 503 and the forge retries) and `failure` says why: restart the brain.
 */
import type { Logger } from '../core/index.js';
import type { BrainEvent } from './events.js';
import type { AcceptResult } from './journal.js';
import type { FromJournal, JournalHealth, JournalThreadData, ToJournal } from './journal-thread.js';
import { brainWorker } from './module-worker.js';

export type { JournalHealth } from './journal-thread.js';

export interface JournalThread {
  /** Journals a delivery and its decisions; resolves once on disk, with its triggers. */
  accept(event: BrainEvent, bodyBytes: number): Promise<AcceptResult>;
  health(): Promise<JournalHealth>;
  /** Resolves when no trigger is pending or in flight. */
  idle(): Promise<void>;
  /** Stops the dispatcher, commits and syncs what is queued, closes the thread's store. */
  close(): Promise<void>;
  /** Why the thread stopped, when it did. */
  readonly failure: Error | undefined;
  /** performance.now() on this thread of the last delivery handed to accept (the thread's journal keeps its own, on its clock). */
  readonly lastDeliveryAt: number;
}

export interface JournalThreadOptions extends JournalThreadData {
  log: Logger;
  onOutcome?: (job: string, outcome: 'queued' | 'found' | 'failed') => void;
}


export async function startJournalThread(options: JournalThreadOptions): Promise<JournalThread> {
  const { log } = options;
  const worker = brainWorker(import.meta.url, 'journal-thread', { storePath: options.storePath, config: options.config, jenkinsToken: options.jenkinsToken } satisfies JournalThreadData);
  const loggers = new Map<string, Logger>();
  const loggerOf = (scope: string[]) => {
    const key = scope.join('/');
    let l = loggers.get(key);
    if (!l) loggers.set(key, (l = scope.reduce((parent, s) => parent.child(s), log)));
    return l;
  };
  let nextId = 1;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let failure: Error | undefined;
  let lastDeliveryAt = -Infinity;
  let closing = false;
  let ready: { resolve(): void; reject(error: Error): void } | undefined;
  const started = new Promise<void>((resolve, reject) => (ready = { resolve, reject }));

  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    ready?.reject(error);
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  const handle = (m: FromJournal): void => {
    switch (m.t) {
      case 'batch':
        for (const item of m.items) handle(item);
        return;
      case 'reply': {
        const w = waiting.get(m.id);
        if (!w) return;
        waiting.delete(m.id);
        if (m.ok) w.resolve(m.value);
        else w.reject(new Error(m.error));
        return;
      }
      case 'log':
        loggerOf(m.scope)[m.level](m.msg, m.fields);
        return;
      case 'outcome':
        options.onOutcome?.(m.job, m.outcome);
        return;
      case 'ready':
        ready?.resolve();
        return;
      case 'failed':
        fail(new Error(`the journal thread could not start: ${m.error}`));
        return;
    }
  };
  worker.on('message', handle);
  worker.on('error', (error) => {
    log.error('the journal thread failed: deliveries are refused (503) until the brain is restarted', { error: error.message });
    fail(new Error(`the journal thread failed (${error.message}): restart the brain`));
  });
  worker.on('exit', (code) => {
    if (!closing) log.error('the journal thread exited: deliveries are refused (503) until the brain is restarted', { code });
    fail(new Error(`the journal thread exited (code ${code})${closing ? '' : ': restart the brain'}`));
  });

  const call = <T>(message: (id: number) => ToJournal): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage(message(id));
    });

  // Deliveries of one turn in one message.
  let batch: Extract<ToJournal, { t: 'accept' }>['items'] = [];
  const post = () => {
    const items = batch;
    batch = [];
    if (!failure) worker.postMessage({ t: 'accept', items } satisfies ToJournal);
  };

  try {
    await started;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    get failure() {
      return failure;
    },
    get lastDeliveryAt() {
      return lastDeliveryAt;
    },
    accept(event, bodyBytes) {
      lastDeliveryAt = performance.now();
      return new Promise<AcceptResult>((resolve, reject) => {
        if (failure) return reject(failure);
        const id = nextId++;
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        if (!batch.length) setImmediate(post);
        batch.push({ id, event, bodyBytes });
      });
    },
    health: () => call<JournalHealth>((id) => ({ t: 'health', id })),
    idle: () => call<void>((id) => ({ t: 'idle', id })),
    async close() {
      if (failure) return;
      if (batch.length) post();
      closing = true;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      try {
        await call<void>((id) => ({ t: 'close', id }));
      } finally {
        await worker.terminate();
        await exited;
      }
    },
  };
}
