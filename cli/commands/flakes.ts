import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { storePath } from '../../core/queue/config.js';
import { TESTS_MIGRATIONS, flakiest } from '../../core/test-report/index.js';
import { openStore } from '../../store/db.js';
import { action, type Runtime } from '../context.js';

export function register(program: Command): void {
  program
    .command('flakes')
    .description('list the flakiest tests: those that passed and failed on the same tested tree, with the evidence')
    .option('-p, --project <name>', 'only this project')
    .option('--limit <count>', 'at most this many tests (no short form: -n is the global --namespace)', '20')
    .addHelpText(
      'after',
      '\nThe flake ledger is in the slave store (store.path, default <workdir>/byoci.db).\n' +
        'Every landing records each test id it ran, per tested revision; a rerun of failed\n' +
        'ids (test.retry) that passes is the usual evidence. Exit code 0, also when there are none.',
    )
    .action(
      action(async (rt: Runtime, opts: { project?: string; limit: string }) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: not a positive whole number: ${JSON.stringify(opts.limit)}`);
        const path = storePath(rt.config.settings, rt.config.configDir);
        if (!existsSync(path)) {
          if (rt.globals.json) rt.printJson({ store: path, flakes: [] });
          else rt.print(`no flakes recorded (no store yet at ${path})`);
          return 0;
        }
        const db = openStore(path, { migrations: TESTS_MIGRATIONS });
        try {
          const flakes = flakiest(db, { ...(opts.project ? { project: opts.project } : {}), limit });
          if (rt.globals.json) {
            rt.printJson({ store: path, flakes });
            return 0;
          }
          if (flakes.length === 0) rt.print('no flakes recorded');
          for (const f of flakes) {
            rt.print(
              `${f.project}  ${f.testId}  flaky on ${f.flakyTrees} of ${f.trees} tree${f.trees === 1 ? '' : 's'} ` +
                `(${f.passes} passed, ${f.failures} failed; last ${f.lastAt})`,
            );
            for (const e of f.evidence) {
              rt.print(`    ${e.revision.slice(0, 12)}: passed ${e.passes}, failed ${e.failures}${e.proposal ? ` (${e.proposal})` : ''}`);
            }
          }
          return 0;
        } finally {
          db.close();
        }
      }),
    );
}
