/**
 * A test run with its reports read, and the failed ids rerun (`test.retry`): each rerun
 * starts from a pristine copy of the tested tree, taken before the first run, in a fresh
 * container. An id that passes on a rerun is a flake; one that fails every time is a
 * regression. Every run's cases go to the ledger through `record`.
 */
import { cp, rm } from 'node:fs/promises';
import type { TestResult, TestSpec, TestSummary } from '../../hooks/types.js';
import type { Logger } from '../logger.js';
import type { TestCase } from './cases.js';
import { lastStatusById } from './cases.js';
import { readReports, summarise } from './summary.js';

export interface RetryOptions {
  spec: TestSpec;
  /** The merged tree. */
  dir: string;
  /** Runs `spec` on `dir` in a fresh container; artefacts are copied back per attempt. */
  runOnce(spec: TestSpec, dir: string, attempt: number): Promise<TestResult>;
  /** Hears every attempt's cases (0 = the full run). Failures here are the caller's to log. */
  record?(attempt: number, result: TestResult, cases: TestCase[]): void;
  log: Logger;
}

/** An id that may be handed to a rerun command: no option look-alike, no NUL or newline. */
export function rerunnable(id: string): boolean {
  return id.length > 0 && !id.startsWith('-') && !/[\0\n\r]/.test(id);
}

/** The rerun command: the `ids` argument replaced by the ids, or `"$@"` for `sh -c`. */
export function retryCommand(retry: NonNullable<TestSpec['retry']>, ids: readonly string[]): string[] {
  const c = retry.command;
  if (c.length === 3 && c[0] === 'sh' && c[1] === '-c') return [...c, 'sh', ...ids];
  return c.flatMap((arg) => (arg === retry.ids ? [...ids] : [arg]));
}

function failedRun(result: TestResult): boolean {
  return result.exitCode !== 0 || result.timedOut !== undefined || result.oomKilled === true;
}

async function cases(result: TestResult, log: Logger): Promise<{ all: TestCase[]; reports: Awaited<ReturnType<typeof readReports>> }> {
  const reports = await readReports(result.artefacts, (message, file) => log.warn(message, { file }));
  return { all: reports.flatMap((r) => r.cases), reports };
}

/** Runs the tests, reads the reports, reruns failed ids when configured; never throws for a failing test. */
export async function runTests(options: RetryOptions): Promise<TestResult> {
  const { spec, dir, log } = options;
  const retry = spec.retry;
  const pristine = retry ? `${dir}.pristine` : undefined;
  if (pristine) {
    await rm(pristine, { recursive: true, force: true });
    await cp(dir, pristine, { recursive: true, verbatimSymlinks: true });
  }
  try {
    const first = await options.runOnce(spec, dir, 0);
    const read = await cases(first, log);
    options.record?.(0, first, read.all);
    const summary = summarise(read.reports, spec.quarantine ?? []);
    if (!summary) return first;
    const result: TestResult = { ...first, tests: summary };
    if (!retry || !pristine || !failedRun(first) || first.timedOut || first.oomKilled || first.phase !== 'test') return result;

    const quarantined = new Set(summary.quarantined);
    const ids = summary.failures.filter((id) => !quarantined.has(id));
    if (ids.length === 0) return result;
    if (summary.failures.length < summary.failed || ids.length > retry.maxIds) {
      log.info('too many failed tests to rerun', { failed: summary.failed, maxIds: retry.maxIds });
      return result;
    }
    if (!ids.every(rerunnable)) {
      log.warn('a failed test id cannot be passed to a command; not rerunning', { ids: ids.filter((id) => !rerunnable(id)).length });
      return result;
    }
    return { ...result, tests: await rerun(options, pristine, summary, ids) };
  } finally {
    if (pristine) await rm(pristine, { recursive: true, force: true });
  }
}

async function rerun(options: RetryOptions, pristine: string, summary: TestSummary, ids: string[]): Promise<TestSummary> {
  const { spec, log } = options;
  const retry = spec.retry!;
  let remaining = ids;
  let exitCode = 0;
  for (let attempt = 1; attempt <= retry.attempts && remaining.length > 0; attempt++) {
    const fresh = `${options.dir}.retry-${attempt}`;
    await rm(fresh, { recursive: true, force: true });
    await cp(pristine, fresh, { recursive: true, verbatimSymlinks: true });
    try {
      log.info('rerunning the failed tests in a fresh container', { attempt, ids: remaining.length });
      const again = await options.runOnce({ ...spec, command: retryCommand(retry, remaining) }, fresh, attempt);
      exitCode = again.exitCode;
      const read = await cases(again, log);
      options.record?.(attempt, again, read.all);
      const statuses = lastStatusById(read.all);
      const broken = again.timedOut !== undefined || again.oomKilled === true || again.phase !== 'test';
      remaining = remaining.filter((id) => {
        const status = statuses.get(id);
        if (broken || status === 'fail') return true;
        // Not reported by the rerun: its exit code speaks for it.
        return status === undefined && again.exitCode !== 0;
      });
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  }
  const failedAgain = new Set(remaining);
  const passed = ids.filter((id) => !failedAgain.has(id));
  if (passed.length) log.warn('flaky tests: failed, then passed on the same tree', { tests: passed.join(', ') });
  if (remaining.length) log.info('failed again on rerun: a regression', { tests: remaining.join(', ') });
  return { ...summary, retry: { ids, passed, failedAgain: remaining, exitCode } };
}
