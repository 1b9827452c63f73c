/**
 * Builds the StatusView from the shared store: the landing queue's part through a
 * `QueueReader` (the queue's own read function; never a second queue), the brain's part
 * from its journal tables.
 */
import type { Db } from '../../store/index.js';
import type { StatusView, QueueView, TriggerView } from './view.js';

/** Reads the landing queue's targets from the store. */
export type QueueReader = (db: Db) => QueueView;

/** Until the landing queue is in the store: says so rather than showing an invented one. */
export const noQueue: QueueReader = () => ({ available: false, targets: [] });

interface RawTrigger {
  id: string;
  rule: string;
  job: string;
  state: string;
  events: number;
  attempts: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
  queue_url: string | null;
  build_url: string | null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function brainTriggers(db: Db, limit = 30): TriggerView[] {
  const rows = db
    .prepare(
      `SELECT id, rule, job, state, events, attempts, created_at, sent_at, last_error, queue_url, build_url
       FROM brain_triggers ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    )
    .all(limit) as RawTrigger[];
  return rows.map((r) => ({
    id: r.id,
    rule: r.rule,
    job: r.job,
    state: r.state,
    events: r.events,
    attempts: r.attempts,
    createdAt: iso(r.created_at),
    ...(r.sent_at !== null ? { sentAt: iso(r.sent_at) } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    ...(r.queue_url !== null ? { queueUrl: r.queue_url } : {}),
    ...(r.build_url !== null ? { buildUrl: r.build_url } : {}),
  }));
}

export function statusView(db: Db, readQueue: QueueReader, now = new Date()): StatusView {
  const queue = readQueue(db);
  const deliveries = (db.prepare('SELECT COUNT(*) AS n FROM brain_deliveries').get() as { n: number }).n;
  return {
    generatedAt: now.toISOString(),
    queueAvailable: queue.available,
    targets: queue.targets,
    triggers: brainTriggers(db),
    deliveries,
  };
}
