/**
 * Builds the StatusView from the shared store: the landing queue's part through its own
 * read function (status/queue.ts), the brain's part from its journal tables.
 */
import type { Db } from '../../store/index.js';
import { readQueue, type QueueViewOptions } from './queue.js';
import type { StatusView, TriggerView } from './view.js';

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

/**
 * The newest decisions, newest first. By rowid (the order they were written in, which is the
 * order of their created_at, the time of writing) and not by created_at: that column has no
 * index (one more b-tree in every delivery's commit), and sorting the whole table took
 * ~65 ms per page view at 150,000 decisions, on the thread that takes webhooks.
 */
export const RECENT_TRIGGERS_SQL = `SELECT id, rule, job, state, events, attempts, created_at, sent_at, last_error, queue_url, build_url
       FROM brain_triggers ORDER BY rowid DESC LIMIT ?`;

export function brainTriggers(db: Db, limit = 30): TriggerView[] {
  const rows = db.prepare(RECENT_TRIGGERS_SQL).all(limit) as RawTrigger[];
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

export function statusView(db: Db, options: QueueViewOptions = {}, now = new Date()): StatusView {
  const queue = readQueue(db, options);
  const deliveries = (db.prepare('SELECT COUNT(*) AS n FROM brain_deliveries').get() as { n: number }).n;
  return {
    generatedAt: now.toISOString(),
    targets: queue.targets,
    freezes: queue.freezes,
    triggers: brainTriggers(db),
    deliveries,
  };
}
