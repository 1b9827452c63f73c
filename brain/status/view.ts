/**
 * What the status page shows, as data: the page (status/html.ts) and its JSON twin are both
 * rendered from one `StatusView`. The landing queue's part is read with the queue's own
 * read function, `queueSnapshot()` (core/queue), and mapped here (status/queue.ts); flaky
 * tests come from the test-results ledger when the store has it; the brain adds its
 * triggers. Every string here may be untrusted (titles, branch names, reasons, test names).
 */
export interface QueueEntryView {
  position: number;
  proposal: string;
  title: string;
  url?: string;
  /** queued | testing | pushed */
  state: string;
  /** What it waits for (queued), or the queue's reason. */
  reason?: string;
  since: string;
  underTestSince?: string;
  priority: string;
  attempts: number;
}

export interface RunView {
  id: number;
  attempt: number;
  /** Proposals tested together in this run, in queue order (more than one: a batch or a part of one). */
  proposals: string[];
  state: string;
  /** The last step reached. */
  step?: string;
  since: string;
  /** When it ended (recent runs). */
  finishedAt?: string;
  trunkRevision?: string;
  treeRevision?: string;
  testSeconds?: number;
  /** The containers/sandboxes its tests ran in, as the backend named them; the last is the current one. */
  sandboxes: { backend: string; name: string; since: string }[];
  /** A run still marked under way whose bot is dead (killed): the next run buries it. */
  dead?: boolean;
  /** What it came to, in words. */
  detail?: string;
}

export interface LandingView {
  proposal: string;
  title: string;
  landedAt: string;
  revision?: string;
  /** From approval to landing. */
  waitedSeconds: number;
  /** From the first attempt's start to landing. */
  landingSeconds?: number;
  testSeconds?: number;
  attempts: number;
}

export interface FailureView {
  proposal: string;
  title: string;
  url?: string;
  at: string;
  /** Why it was taken out of the queue. */
  reason: string;
  /** Runs (tested trees) this approval was in, oldest first. */
  runs: number[];
  failingTests: string[];
  /** Links for the author: the proposal, the build. */
  links: { text: string; url: string }[];
}

export interface FlakeView {
  test: string;
  flakes: number;
  runs: number;
  lastSeen?: string;
}

export interface TargetView {
  /** The queue's target key, e.g. `git:github.com/octo/calc#main`. */
  key: string;
  project: string;
  branch: string;
  url: string;
  freeze: { reason: string; below: string | null; by: string; since: string } | null;
  /** Who lands on the target now. */
  lease: { holder: string; host: string; pid: number; since: string; alive: boolean } | null;
  queue: QueueEntryView[];
  /** Runs under way (several when tested side by side). */
  runs: RunView[];
  /** The last finished runs, newest first: batches and their bisection parts. */
  recentRuns: RunView[];
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
  targets: TargetView[];
  /** Freezes in force, also on targets no run has seen yet. */
  freezes: { target: string; reason: string; below: string | null; by: string; since: string }[];
  triggers: TriggerView[];
  deliveries: number;
}

/** The queue's part of the page. */
export interface QueueView {
  targets: TargetView[];
  freezes: StatusView['freezes'];
}
