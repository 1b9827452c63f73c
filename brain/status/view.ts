/**
 * What the status page shows, as data: the page (status/html.ts) and its JSON twin are both
 * rendered from one `StatusView`. The landing queue's part comes from the queue's own read
 * function over the shared store (status/source.ts); the brain adds its triggers.
 * Every string here may be untrusted (titles, branch names, reasons, test names).
 */
export interface QueueEntryView {
  position: number;
  id: string;
  title: string;
  url?: string;
  author?: string;
  /** The queue's state word, e.g. queued, testing, waiting, rejected. */
  state: string;
  /** Why it is in that state (what it waits for, why it was taken out). */
  reason?: string;
  /** ISO time it entered that state. */
  since?: string;
}

export interface RunView {
  id: string;
  /** Proposals tested together in this run (a batch), in queue order. */
  proposals: string[];
  containers: string[];
  since: string;
  buildUrl?: string;
}

export interface LandingView {
  proposal: string;
  title: string;
  url?: string;
  landedAt: string;
  durationSeconds?: number;
  revision?: string;
  buildUrl?: string;
}

export interface FailureView {
  proposal: string;
  title: string;
  url?: string;
  at: string;
  reason: string;
  failingTests: string[];
  buildUrl?: string;
}

export interface FlakeView {
  test: string;
  flakes: number;
  runs: number;
  lastSeen?: string;
}

export interface TargetView {
  name: string;
  frozen: boolean;
  freezeReason?: string;
  queue: QueueEntryView[];
  runs: RunView[];
  landings: LandingView[];
  failures: FailureView[];
  flakes: FlakeView[];
}

export interface TriggerView {
  id: string;
  rule: string;
  job: string;
  state: string;
  events: number;
  attempts: number;
  createdAt: string;
  sentAt?: string;
  lastError?: string;
  queueUrl?: string;
  buildUrl?: string;
}

export interface StatusView {
  generatedAt: string;
  /** False while the store holds no landing queue: the page says so instead of inventing one. */
  queueAvailable: boolean;
  targets: TargetView[];
  triggers: TriggerView[];
  deliveries: number;
}

/** The landing queue's part of the page, read from the store. */
export interface QueueView {
  available: boolean;
  targets: TargetView[];
}
