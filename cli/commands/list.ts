import type { Command } from 'commander';
import { action, withBot, type Runtime } from '../context.js';

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
              })),
            );
            return 0;
          }
          if (candidates.length === 0) rt.print('no proposals');
          for (const { project, proposal } of candidates) {
            const r = proposal.readiness;
            const why = r.state === 'ready' ? (r.waitsFor?.length ? `will land once green: ${r.waitsFor.join('; ')}` : 'will land') : r.state === 'waiting' ? `waiting: ${r.reason}` : `will be rejected: ${r.reason}`;
            rt.print(`${r.state.padEnd(8)} ${project.name}  ${proposal.id}  ${proposal.title}  (${why})`);
          }
          return 0;
        }),
      ),
    );
}
