import type { Command } from 'commander';
import { EXIT, UsageError } from '../../core/errors.js';
import { JobsRenderError, JOBS_DIR, renderJobs } from '../../jobs/render.js';
import { parseJob } from '../../jobs/model.js';
import { parseParams, runJob, selfCommand } from '../../jobs/run.js';
import { createOutput, globalOptions, reportError } from '../context.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

interface RunOptions {
  param?: string[];
  workspace?: string;
  buildNumber: string;
  jobsDir: string;
  node: string;
}

export function register(program: Command): void {
  const job = program
    .command('job')
    .description('the Jenkins jobs of jobs/ (Jenkins Job Builder): list them, replay one locally');

  job
    .command('list')
    .description('list the jobs the definitions generate, with their node label and parameters')
    .option('--jobs-dir <dir>', 'directory of the Jenkins Job Builder definitions', JOBS_DIR)
    .action(async (opts: { jobsDir: string }, command: Command) => {
      const output = createOutput(globalOptions(command));
      try {
        const jobs = [...(await renderJobs(opts.jobsDir))].map(([name, xml]) => parseJob(name, xml));
        if (globalOptions(command).json) {
          output.printJson(jobs.map((j) => ({ name: j.name, node: j.node, timers: j.timers, parameters: j.parameters.map((p) => p.name) })));
        } else {
          for (const j of jobs) {
            const extra = [j.timers.length ? `timer "${j.timers.join(', ')}"` : '', j.parameters.length ? `parameters ${j.parameters.map((p) => p.name).join(', ')}` : '']
              .filter(Boolean)
              .join('; ');
            output.print(`${j.name.padEnd(24)} node ${j.node ?? '(any)'}${extra ? `; ${extra}` : ''}`);
          }
        }
        process.exitCode = EXIT.ok;
      } catch (error) {
        process.exitCode = jobError(error, output.log);
      }
    });

  job
    .command('run')
    .description("replay a job's shell builders here, with the environment Jenkins gives them, in a temporary workspace")
    .argument('<job>', 'job name, e.g. byoci-land (see byoci job list)')
    .option('-p, --param <NAME=VALUE>', 'build parameter (repeatable); the job\'s defaults fill the others', collect)
    .option('-w, --workspace <dir>', 'run in this directory and keep it (default: a temporary one, kept with --keep)')
    .option('--build-number <n>', 'BUILD_NUMBER (and BUILD_ID) of the replayed build', '1')
    .option('--node <name>', 'NODE_NAME of the replayed build', 'local')
    .option('--jobs-dir <dir>', 'directory of the Jenkins Job Builder definitions', JOBS_DIR)
    .addHelpText(
      'after',
      '\nThe job runs the byoci of this installation (a `byoci` wrapper goes first on PATH).\n' +
        'Exit code: the failing build step\'s, 0 when every step passed; 2 for an unknown job or parameter.',
    )
    .action(async (name: string, opts: RunOptions, command: Command) => {
      const globals = globalOptions(command);
      const output = createOutput(globals);
      try {
        const buildNumber = Number(opts.buildNumber);
        if (!Number.isInteger(buildNumber) || buildNumber < 1) {
          throw new UsageError(`--build-number must be a positive integer, not ${opts.buildNumber}`);
        }
        const result = await runJob({
          job: name,
          jobsDir: opts.jobsDir,
          params: parseParams(opts.param ?? []),
          ...(opts.workspace ? { workspace: opts.workspace } : {}),
          keep: globals.keep,
          buildNumber,
          nodeName: opts.node,
          byoci: selfCommand(),
        });
        if (globals.keep && !opts.workspace) output.print(`workspace kept: ${result.workspace}`);
        process.exitCode = result.exitCode;
      } catch (error) {
        process.exitCode = jobError(error, output.log);
      }
    });
}

function jobError(error: unknown, log: ReturnType<typeof createOutput>['log']): number {
  if (error instanceof JobsRenderError) {
    process.stderr.write(`byoci: ${error.message}\n`);
    return EXIT.usage;
  }
  return reportError(error, log);
}
