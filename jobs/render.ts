/**
 * Renders the Jenkins Job Builder definitions with the real renderer, offline:
 * `jenkins-jobs --conf /dev/null test --config-xml <dir> -o <out>`, one
 * `<out>/<job>/config.xml` per job. A definition JJB refuses is a `JobsRenderError`
 * carrying the renderer's own message.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../core/index.js';

/** The job definitions: beside this file in the source tree, `<package>/jobs` from dist/. */
function jobsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, '');
  const candidates = [here, resolve(here, '..', '..', 'jobs')];
  return candidates.find((dir) => existsSync(join(dir, 'projects.yaml'))) ?? here;
}

export const JOBS_DIR = jobsDir();

/** The renderer's executable; `JENKINS_JOBS` overrides it (e.g. a virtualenv's). */
export function jenkinsJobsCommand(): string {
  return process.env.JENKINS_JOBS ?? 'jenkins-jobs';
}

/** JJB refused the definitions; `message` is what the renderer said. */
export class JobsRenderError extends Error {
  override readonly name = 'JobsRenderError';
  constructor(
    readonly dir: string,
    readonly exitCode: number,
    readonly rendererMessage: string,
  ) {
    super(`jenkins-jobs could not render ${dir} (exit ${exitCode}):\n${rendererMessage}`);
  }
}

/** The rendered XML of each job, by job name. */
export type RenderedJobs = Map<string, string>;

/**
 * The renderer's message without its noise: JJB's INFO lines and the /dev/null config
 * warning go; of a Python traceback, the last frame (where) and the exception (what) stay.
 */
export function rendererMessage(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  const useful = lines.filter(
    (l) => !/^INFO:/.test(l) && !/^WARNING:jenkins_jobs\.config:Config file/.test(l),
  );
  const start = useful.findIndex((l) => l.startsWith('Traceback (most recent call last):'));
  if (start === -1) return (useful.length ? useful : lines).slice(-30).join('\n');
  let lastFrame = -1;
  useful.forEach((l, i) => {
    if (i > start && /^  File "/.test(l)) lastFrame = i;
  });
  if (lastFrame === -1) return useful.slice(-30).join('\n');
  let end = lastFrame + 1;
  while (end < useful.length && /^    /.test(useful[end]!)) end += 1;
  return [...useful.slice(0, start), useful[lastFrame]!.trim(), ...useful.slice(end)].join('\n');
}

export async function renderJobs(dir: string = JOBS_DIR): Promise<RenderedJobs> {
  const out = await mkdtemp(join(tmpdir(), 'byoci-jjb-'));
  try {
    const result = await run(
      [jenkinsJobsCommand(), '--conf', '/dev/null', 'test', '--config-xml', dir, '-o', out],
      { reject: false },
    );
    if (result.exitCode !== 0) throw new JobsRenderError(dir, result.exitCode, rendererMessage(result.stderr));
    const jobs: RenderedJobs = new Map();
    for (const entry of (await readdir(out, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory()) continue;
      jobs.set(entry.name, await readFile(join(out, entry.name, 'config.xml'), 'utf8'));
    }
    if (jobs.size === 0) {
      throw new JobsRenderError(dir, 0, rendererMessage(result.stderr) || 'no job was generated');
    }
    return jobs;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
