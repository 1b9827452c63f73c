import type { Command } from 'commander';
import type { LandingResult } from '../../core/bot.js';
import type { TestSummary } from '../../hooks/types.js';
import { action, withBot, type Runtime } from '../context.js';
import { UsageError } from '../../core/errors.js';
import { timeSpan } from '../../core/timings.js';

function line(result: LandingResult): string {
  const p = result.proposal;
  const prefix = result.dryRun ? '(dry-run) ' : '';
  switch (result.kind) {
    case 'landed':
      return `${prefix}landed    ${p.id}  ${p.title}  -> ${result.revision}`;
    case 'rejected':
      return `${prefix}rejected  ${p.id}  ${p.title}: ${result.rejection.reason}`;
    case 'error':
      return `${prefix}error     ${p.id}  ${p.title}: ${result.message}`;
    default:
      return `${prefix}${result.kind}  ${p.id}`;
  }
}

/** The test summary in --json: counts, the failed ids (first 100), reruns, quarantine. */
function testsJson(t: TestSummary) {
  return {
    total: t.total,
    failed: t.failed,
    skipped: t.skipped,
    failures: t.failures.slice(0, 100),
    ...(t.quarantined.length ? { quarantined: t.quarantined } : {}),
    ...(t.retry ? { retry: { passed: t.retry.passed, failedAgain: t.retry.failedAgain } } : {}),
  };
}

export function register(program: Command): void {
  program
    .command('land')
    .description('land every approved proposal of the configured targets (or one with --proposal)')
    .option('-p, --project <name>', 'only this project')
    .option('--proposal <id>', 'only this proposal (ids as shown by byoci list)')
    .option('--batch <n>', 'git targets: merge the first N ready proposals together and test them once (bisected when red); overrides queue.batch')
    .option('--window <k>', 'git targets: up to K trees under test at once, each on trunk plus what is ahead of it (at most queue.slots); overrides queue.window')
    .addHelpText(
      'after',
      '\nExit codes: 0 landed or nothing to do, 1 a proposal was rejected, 2 usage or config error,\n' +
        '3 internal error. With --dry-run nothing is pushed, no status changes, no comment is posted.\n' +
        'Proposals land in queue order (priority, then first approved, first landed); see byoci queue.\n' +
        'A target another bot is landing on is left alone (printed as busy, naming the holder).\n' +
        'With --batch N (or queue.batch) a green batch lands with one push of the tested tree; a red one is\n' +
        'bisected, each part landing once proven green; a proposal red alone is rejected with its own output.\n' +
        'With --window K (or queue.window) up to K trees are tested at once: trunk plus the proposals ahead,\n' +
        'and, once a batch is red, several of its prefixes side by side (a green prefix lands at once). K may\n' +
        'not exceed queue.slots (and, with queue.memory, K x test.limits.memory must fit). queue.optimistic:\n' +
        'a green tree lands the proposals ahead of it that it contains without waiting for their own runs.',
    )
    .action(
      action(async (rt: Runtime, opts: { project?: string; proposal?: string; batch?: string; window?: string }) =>
        withBot(rt, async (bot) => {
          const batch = opts.batch === undefined ? undefined : Number(opts.batch);
          if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1 && batch <= 64)) {
            throw new UsageError(`--batch: not a whole number from 1 to 64: ${JSON.stringify(opts.batch)}`);
          }
          const window = opts.window === undefined ? undefined : Number(opts.window);
          if (window !== undefined && !(Number.isInteger(window) && window >= 1 && window <= 64)) {
            throw new UsageError(`--window: not a whole number from 1 to 64: ${JSON.stringify(opts.window)}`);
          }
          await timeSpan('step', 'verify', () => bot.verifyOrThrow());
          const summary = await bot.landAll({
            ...(batch !== undefined ? { batch } : {}),
            ...(window !== undefined ? { window } : {}),
            ...(opts.project ? { project: opts.project } : {}),
            ...(opts.proposal ? { proposal: opts.proposal } : {}),
          });
          if (rt.globals.json) {
            rt.printJson({
              results: summary.results.map((r) => ({
                kind: r.kind,
                dryRun: r.dryRun,
                proposal: r.proposal.id,
                title: r.proposal.title,
                ...(r.kind === 'landed' ? { revision: r.revision } : {}),
                ...(r.kind === 'rejected' ? { code: r.rejection.code, reason: r.rejection.reason } : {}),
                ...((r.kind === 'landed' || r.kind === 'rejected') && r.test?.tests ? { tests: testsJson(r.test.tests) } : {}),
                ...(r.kind === 'error' ? { error: r.message } : {}),
              })),
              waiting: summary.waiting.map((c) => ({
                proposal: c.proposal.id,
                reason: c.proposal.readiness.state === 'waiting' ? c.proposal.readiness.reason : '',
              })),
              busy: summary.busy ?? [],
              exitCode: summary.exitCode,
            });
          } else {
            for (const result of summary.results) rt.print(line(result));
            for (const b of summary.busy ?? []) {
              rt.print(`busy      ${b.target}: another bot is landing on it (run ${b.holder}, pid ${b.pid} on ${b.host}, since ${b.since})`);
            }
            if (summary.results.length === 0 && !summary.busy?.length) rt.print('nothing to land');
          }
          return summary.exitCode;
        }),
      ),
    );
}
