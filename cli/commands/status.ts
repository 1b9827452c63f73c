import { writeFileSync, renameSync } from 'node:fs';
import type { Command } from 'commander';
import { BRAIN_MIGRATIONS, noQueue, renderStatusPage, statusView } from '../../brain/index.js';
import { openStore } from '../../store/index.js';
import { action, type Runtime } from '../context.js';
import { brainSettings } from './brain.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('the status page from the store: per target the queue, runs, landings, failures, flakes; and the brain\'s triggers')
    .option('--html <file>', 'write the page as a static HTML file (e.g. for a Jenkins job to publish)')
    .addHelpText('after', '\nWith --json, prints the page\'s JSON twin on stdout. Reads the store named by brain.store.')
    .action(
      action(async (rt: Runtime, opts: { html?: string }) => {
        const { storePath } = brainSettings(rt);
        const db = openStore(storePath, { migrations: BRAIN_MIGRATIONS });
        try {
          const view = statusView(db, noQueue);
          if (opts.html) {
            const tmp = `${opts.html}.tmp-${process.pid}`;
            writeFileSync(tmp, renderStatusPage(view));
            renameSync(tmp, opts.html);
            if (!rt.globals.json) rt.print(`wrote ${opts.html}`);
          }
          if (rt.globals.json) rt.printJson(view);
          else if (!opts.html) {
            for (const t of view.targets) rt.print(`${t.name}: ${t.queue.length} queued${t.frozen ? ' (frozen)' : ''}`);
            rt.print(`${view.deliveries} deliveries journaled; ${view.triggers.filter((t) => t.state === 'pending').length} recent triggers pending`);
          }
          return 0;
        } finally {
          db.close();
        }
      }),
    );
}
