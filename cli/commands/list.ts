import type { Command } from 'commander';
import type { FreezeRow } from '../../core/queue/index.js';
import { QueueStore, freezeHolding, openQueueStore, syncConfigFreezes } from '../../core/queue/index.js';
import type { Proposal } from '../../hooks/types.js';
import { action, withBot, type Runtime } from '../context.js';

/** For each proposal, the freeze holding it back (from the store and the config), if any. */
function freezes(rt: Runtime): (proposal: Proposal, project: string) => FreezeRow | undefined {
  const { db } = openQueueStore(rt.config);
  const store = new QueueStore(db);
  syncConfigFreezes(store, rt.config.settings.queue);
  const rows = new Map<string, FreezeRow | undefined>();
  return (proposal, project) => {
    const key = `${proposal.id}\0${project}`;
    if (!rows.has(key)) rows.set(key, freezeHolding(db, rt.config.settings.queue, proposal, project));
    return rows.get(key);
  };
}

export function register(program: Command): void {
  program
    .command('list')
    .description('list the proposals of the configured targets: landable ones, and why each other one is not')
    .option('-p, --project <name>', 'only this project')
    .action(
      action(async (rt: Runtime, opts: { project?: string }) =>
        withBot(rt, async (bot) => {
          await bot.verifyOrThrow();
          const candidates = await bot.discover(opts.project ? { project: opts.project } : {});
          const frozen = freezes(rt);
          if (rt.globals.json) {
            rt.printJson(
              candidates.map(({ project, proposal }) => ({
                project: project.name,
                id: proposal.id,
                title: proposal.title,
                url: proposal.url,
                state: proposal.readiness.state,
                ...(proposal.readiness.state !== 'ready' ? { reason: proposal.readiness.reason } : {}),
                ...(proposal.readiness.state === 'ready' && proposal.readiness.waitsFor ? { waitsFor: proposal.readiness.waitsFor } : {}),
                approvedRevision: proposal.approvedRevision,
                ...(() => {
                  const f = frozen(proposal, project.name);
                  return f ? { frozen: { reason: f.reason, below: f.below_name, by: f.frozen_by, since: f.frozen_at } } : {};
                })(),
              })),
            );
            return 0;
          }
          if (candidates.length === 0) rt.print('no proposals');
          for (const { project, proposal } of candidates) {
            const r = proposal.readiness;
            const why = r.state === 'ready' ? (r.waitsFor?.length ? `will land once green: ${r.waitsFor.join('; ')}` : 'will land') : r.state === 'waiting' ? `waiting: ${r.reason}` : `will be rejected: ${r.reason}`;
            const f = r.state === 'waiting' ? undefined : frozen(proposal, project.name);
            const held = f ? `; frozen${f.below_name ? ` below ${f.below_name}` : ''}: ${f.reason}` : '';
            rt.print(`${r.state.padEnd(8)} ${project.name}  ${proposal.id}  ${proposal.title}  (${why}${held})`);
          }
          return 0;
        }),
      ),
    );
}
