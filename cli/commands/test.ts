import type { Command } from 'commander';
import type { BranchRef, Vcs } from '../../hooks/types.js';
import { UsageError, asRejection } from '../../core/errors.js';
import { testRejection } from '../../core/bot.js';
import { action, withBot, type Runtime } from '../context.js';

interface TestOptions {
  project?: string;
  source: string;
  branch: string;
  target?: string;
  targetBranch?: string;
  vcs: string;
}

export function register(program: Command): void {
  program
    .command('test')
    .description('try a branch: merge it into the target and run the project tests, without landing')
    .requiredOption('-s, --source <url>', 'repository (URL or path) of the branch to try')
    .requiredOption('-b, --branch <name>', 'branch to try')
    .option('-p, --project <name>', 'project whose tests to run (default: the only one)')
    .option('--target <url>', "target repository (default: the project's first target repo)")
    .option('--target-branch <name>', "target branch (default: the project's first target branch)")
    .option('--vcs <git|bzr>', 'version control system', 'git')
    .addHelpText('after', '\nExit codes: 0 tests passed, 1 tests failed, 2 usage or config error, 3 internal error.')
    .action(
      action(async (rt: Runtime, opts: TestOptions) =>
        withBot(rt, async (bot) => {
          const projects = bot.projects.filter((p) => !opts.project || p.name === opts.project);
          const project = projects[0];
          if (!project || (projects.length > 1 && !opts.project)) {
            throw new UsageError(
              project ? `several projects: choose one with --project (${projects.map((p) => p.name).join(', ')})` : `no project ${opts.project ?? ''} in the config`,
            );
          }
          if (opts.vcs !== 'git' && opts.vcs !== 'bzr') throw new UsageError(`--vcs must be git or bzr, not ${opts.vcs}`);
          // The branch the first target names, as its forge states it.
          const first = project.targets[0]?.branch;
          const targetUrl = opts.target ?? first?.url;
          const targetBranch = opts.targetBranch ?? first?.branch;
          if (!targetUrl || targetBranch === undefined) {
            throw new UsageError('the target is not known from the config: give --target and --target-branch');
          }
          const vcs = opts.vcs as Vcs;
          const source: BranchRef = { vcs, url: opts.source, branch: opts.branch };
          const target: BranchRef = { vcs, url: targetUrl, branch: targetBranch };
          let result;
          try {
            result = await bot.tryBranch(project, source, target);
          } catch (error) {
            const rejected = asRejection(error);
            if (!rejected) throw error;
            rt.print(`FAILED: ${rejected.reason}`);
            return 1;
          }
          const rejection = testRejection(result, project.test);
          rt.print(rejection ? `FAILED: ${rejection.reason}` : `passed (${result.backend}, ${result.durationMs} ms)`);
          return rejection ? 1 : 0;
        }, { vcs: [opts.vcs] }),
      ),
    );
}
