/**
 * TEST-ONLY fault injection for the crash-safety tests (test/e2e/queue-faults.test.ts):
 * with `BYOCI_FAULT=<point>` in its environment, the bot SIGKILLs itself when it reaches
 * that point, exactly as `kill -9` would, so that the rerun can be checked. Points:
 * `after-fetch`, `after-merge`, `after-test`, `after-push` (the push's result is journalled,
 * the proposal's status not yet changed). Batches (core/queue/batch.ts): `batch-after-test`
 * (a batch or a part of one tested, nothing pushed or reported for it), `batch-after-push`
 * (a batch's push journalled, its proposals marked pushed, none reported yet): the first
 * time the point is reached, so in a bisection the first green part's push; `<point>:<n>`
 * the n-th time (`batch-after-test:3`: the third tested set). Nothing else
 * reads the variable; operators never set it (the README says so).
 */
export const FAULT_POINTS = ['after-fetch', 'after-merge', 'after-test', 'after-push', 'batch-after-test', 'batch-after-push'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

const reached = new Map<FaultPoint, number>();

/** `BYOCI_FAULT=<point>` fires the first time the point is reached, `<point>:<n>` the n-th time. */
export function faultPoint(point: FaultPoint): void {
  const wanted = process.env.BYOCI_FAULT;
  if (!wanted || !(wanted === point || wanted.startsWith(`${point}:`))) return;
  const times = (reached.get(point) ?? 0) + 1;
  reached.set(point, times);
  if (wanted !== point && times !== Number(wanted.slice(point.length + 1))) return;
  process.stderr.write(`BYOCI_FAULT=${wanted}: killing myself with SIGKILL (test-only fault injection)\n`);
  process.kill(process.pid, 'SIGKILL');
}
