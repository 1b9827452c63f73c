/**
 * What a finished test run says about a proposal, in words for its author: which tests
 * failed (first ten by name, with counts), which of them passed on a rerun (flakes, not
 * blocking), which are quarantined (not blocking, said), and which failed again.
 */
import type { TestResult, TestSummary } from '../../hooks/types.js';

/** Failed ids that block a landing: neither quarantined nor passed on a rerun. */
export function blockingFailures(tests: TestSummary): string[] {
  const pass = new Set([...tests.quarantined, ...(tests.retry?.passed ?? [])]);
  return tests.failures.filter((id) => !pass.has(id));
}

/** True when every failure of a failing run is known and none blocks (flakes, quarantine). */
export function failuresForgiven(result: TestResult): boolean {
  const tests = result.tests;
  if (!tests || tests.failed === 0 || tests.failures.length < tests.failed) return false;
  return blockingFailures(tests).length === 0;
}

function names(ids: readonly string[], max: number): string {
  const shown = ids.slice(0, max);
  return `${shown.join(', ')}${ids.length > shown.length ? ` (and ${ids.length - shown.length} more)` : ''}`;
}

/**
 * The text after "The tests failed (exit code N)": `: 3 of 920 failed: a, b, c`, plus what
 * the rerun and the quarantine changed. Empty when there is no report.
 */
export function failureWords(tests: TestSummary | undefined, max = 10): string {
  if (!tests) return '';
  if (tests.failed === 0) return `: the test reports name no failing test (${tests.total} run)`;
  const blocking = blockingFailures(tests);
  const parts = [`: ${tests.failed} of ${tests.total} failed: ${names(tests.retry ? blocking : tests.failures, max)}`];
  if (tests.retry && tests.retry.failedAgain.length) {
    parts.push(`; rerun in a fresh container on the same tree, ${tests.retry.failedAgain.length} failed again (a regression, not a flake)`);
  }
  if (tests.retry?.passed.length) parts.push(`; passed on rerun (flaky, not blocking): ${names(tests.retry.passed, max)}`);
  if (tests.quarantined.length) parts.push(`; quarantined (not blocking): ${names(tests.quarantined, max)}`);
  return parts.join('');
}

/** One line for a landed run whose failures were forgiven, or undefined. */
export function forgivenWords(result: TestResult, max = 10): string | undefined {
  const tests = result.tests;
  if (!tests || !failuresForgiven(result)) return undefined;
  const parts: string[] = [];
  if (tests.retry?.passed.length) parts.push(`flaky (failed, then passed on rerun): ${names(tests.retry.passed, max)}`);
  if (tests.quarantined.length) parts.push(`quarantined failures: ${names(tests.quarantined, max)}`);
  return parts.join('; ');
}
