import type { Command } from 'commander';
import { ConfigError, formatProblem } from '../../core/errors.js';
import { QueueStore, freezeTarget, openQueueStore, queueSnapshot, syncConfigFreezes, unfreezeTarget } from '../../core/queue/index.js';
import { action, withBot, type Runtime } from '../context.js';
import { formatSnapshot } from '../queue-format.js';

function withStore<T>(rt: Runtime, fn: (store: QueueStore) => T): T {
  const { db } = openQueueStore(rt.config);
  try {
    const store = new QueueStore(db);
    syncConfigFreezes(store, rt.config.settings.queue);
    return fn(store);
  } finally {
    db.close();
  }
}

function parseHistory(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError([{ file: '--history', message: `not a count: ${JSON.stringify(value)}` }]);
  return n;
}

export function register(program: Command): void {
  const queue = program
    .command('queue')
    .description("each target's landing queue in order: position, proposal, forge, state, attempts, priority, freeze; runs and batches under way and their containers; the last landings and runs")
    .argument('[target]', 'a target key as shown here, or a project name (default: every target)')
    .option('--history <n>', 'how many landings and taken-out entries to show per target (default: queue.history)')
    .option('--refresh', 'read the forges first and bring the queue up to date (lands nothing)')
    .addHelpText(
      'after',
      '\nThe queue is kept in the slave\'s store (store.path, default <workdir>/byoci.db) and filled by\n' +
        'byoci land. States: queued (waiting for what is said), testing (under test since), pushed\n' +
        '(on the target, being reported), and for past entries landed / out (taken out, with why).\n' +
        'Runs: "running" lists the runs under way (a batch shows its proposals; since when, step,\n' +
        'trunk tip, tested tree, and the container or sandbox its tests run in); "recent runs" the\n' +
        'last finished ones, newest first (a bisection reads as the red batch, then its halves).\n' +
        'With --json it prints the same data as the status page reads (queueSnapshot).\n' +
        '\n  byoci queue freeze <target> --reason "release 3.3" [--below urgent]\n  byoci queue unfreeze <target>',
    )
    .action(
      action(async (rt: Runtime, target: string | undefined, opts: { history?: string; refresh?: boolean }) => {
        if (opts.refresh) {
          const code = await withBot(rt, async (bot) => {
            await bot.verifyOrThrow();
            await bot.refreshQueue();
            return 0;
          });
          if (code !== 0) return code;
        }
        const history = opts.history !== undefined ? parseHistory(opts.history) : rt.config.settings.queue.history;
        const snapshot = withStore(rt, (store) => queueSnapshot(store.db, { ...(target ? { target } : {}), history }));
        if (rt.globals.json) rt.printJson(snapshot);
        else for (const line of formatSnapshot(snapshot)) rt.print(line);
        return 0;
      }),
    );

  queue
    .command('freeze')
    .description('freeze a target: nothing lands on it (or nothing below --below) until unfrozen')
    .argument('<target>', 'a target key as shown by byoci queue, or a project name (all its targets)')
    .requiredOption('--reason <text>', 'why (shown by byoci list and byoci queue)')
    .option('--below <priority>', 'still land proposals of this priority and above (a name of queue.priorities)')
    .action(
      action(async (rt: Runtime, target: string, opts: { reason: string; below?: string }) => {
        withStore(rt, (store) => freezeTarget(store, rt.config.settings.queue, target, opts));
        rt.print(`frozen ${target}${opts.below ? ` below ${opts.below}` : ''}: ${opts.reason}`);
        return 0;
      }),
    );

  queue
    .command('unfreeze')
    .description('unfreeze a target frozen with byoci queue freeze')
    .argument('<target>', 'the target key or project name it was frozen with')
    .action(
      action(async (rt: Runtime, target: string) => {
        const where = rt.config.locate(['queue', 'freeze', target]);
        const removed = withStore(rt, (store) =>
          unfreezeTarget(store, rt.config.settings.queue, target, where?.file ? formatProblem({ ...where, message: '' }).replace(/: $/, '') : undefined),
        );
        rt.print(removed ? `unfrozen ${target}` : `${target} was not frozen`);
        return 0;
      }),
    );
}
