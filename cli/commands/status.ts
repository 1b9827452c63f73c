import { writeFileSync, renameSync } from 'node:fs';
import type { Command } from 'commander';
import { renderStatusPage, statusView } from '../../brain/index.js';
import { action, type Runtime } from '../context.js';
import { openBrainStore } from './brain.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('the status page from the store: per target the queue, runs, landings, failures, flakes; and the brain\'s triggers')
    .option('--html <file>', 'write the page as a static HTML file (e.g. for a Jenkins job to publish)')
    .addHelpText('after', '\nWith --json, prints the page\'s JSON twin on stdout. Reads the shared store (store.path, default <workdir>/byoci.db);\nneeds no brain section and no secret.')
    .action(
      action(async (rt: Runtime, opts: { html?: string }) => {
        const { db } = openBrainStore(rt);
        try {
          const view = statusView(db, { history: rt.config.settings.queue.history });
          if (opts.html) {
            const tmp = `${opts.html}.tmp-${process.pid}`;
            writeFileSync(tmp, renderStatusPage(view));
            renameSync(tmp, opts.html);
            if (!rt.globals.json) rt.print(`wrote ${opts.html}`);
          }
          if (rt.globals.json) rt.printJson(view);
          else if (!opts.html) {
            for (const t of view.targets) rt.print(`${t.key}: ${t.queue.length} in the queue${t.freeze ? ` (frozen: ${t.freeze.reason})` : ''}`);
            rt.print(`${view.deliveries} deliveries journaled; ${view.triggers.filter((t) => t.state === 'pending').length} recent triggers pending`);
          }
          return 0;
        } finally {
          db.close();
        }
      }),
    );
}
