/**
 * TEST-ONLY fault injection for the crash-safety tests (test/e2e/queue-faults.test.ts):
 * with `BYOCI_FAULT=<point>` in its environment, the bot SIGKILLs itself when it reaches
 * that point, exactly as `kill -9` would, so that the rerun can be checked. Points:
 * `after-fetch`, `after-merge`, `after-test`, `after-push` (the push's result is journalled,
 * the proposal's status not yet changed). Batches (core/queue/batch.ts): `batch-after-test`
 * (a batch or a part of one tested, nothing pushed or reported for it), `batch-after-push`
 * (a batch's push journalled, its proposals marked pushed, none reported yet): the first
 * time the point is reached, so in a bisection the first green part's push. Nothing else
 * reads the variable; operators never set it (the README says so).
 */
export const FAULT_POINTS = ['after-fetch', 'after-merge', 'after-test', 'after-push', 'batch-after-test', 'batch-after-push'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export function faultPoint(point: FaultPoint): void {
  if (process.env.BYOCI_FAULT !== point) return;
  process.stderr.write(`BYOCI_FAULT=${point}: killing myself with SIGKILL (test-only fault injection)\n`);
  process.kill(process.pid, 'SIGKILL');
}
