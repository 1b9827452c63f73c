/**
 * `npm run jobs:check`: renders jobs/ with the real `jenkins-jobs test` and checks the XML
 * of every job against what byoci needs from Jenkins:
 * - each project of the list has its `-trigger`, `-land` and `-test` job, nothing else;
 * - jobs run on the project's slave label (never the controller), one build at a time,
 *   under a failing timeout, with a build discarder;
 * - the trigger is timed `H/5 * * * *` and triggers the land job only when proposals are ready;
 * - land and test publish JUnit reports from the artefacts directory byoci writes;
 * - shell builders run under `#!/bin/bash -e` and call `byoci` with the right arguments;
 * - land and test jobs declare BYOCI_DECISION (the brain's trigger id);
 * - no credential appears anywhere.
 * A definition the renderer refuses fails with the renderer's own message.
 */
import { realpathSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCredentialElements, findCredentials } from './credentials.js';
import { JENKINS_VARIABLES, parseJob, type JobModel } from './model.js';
import { readProjects, type ProjectEntry } from './projects.js';
import { JOBS_DIR, JobsRenderError, renderJobs } from './render.js';
import { parseCommands } from './shell-words.js';
import { loadByociUsage, optionValue, parseByociCall, type ByociCall, type ByociUsage } from './usage.js';
import type { XmlElement } from './xml.js';

export const TRIGGER_SPEC = 'H/5 * * * *';
export const JOB_KINDS = ['trigger', 'land', 'test'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** What each kind of job must call. */
const SUBCOMMAND: Record<JobKind, string> = { trigger: 'list', land: 'land', test: 'test' };

export { JENKINS_VARIABLES } from './model.js';

const CONTROLLER_LABELS = new Set(['master', 'built-in']);

export interface JobProblem {
  job: string;
  message: string;
}

export interface CheckReport {
  jobs: JobModel[];
  projects: ProjectEntry[];
  problems: JobProblem[];
  usage: ByociUsage;
}

/** The byoci calls found in a job's shell builders. */
export interface JobCall {
  line: number;
  text: string;
  call: ByociCall;
}

export function byociCalls(job: JobModel, usage: ByociUsage): JobCall[] {
  const calls: JobCall[] = [];
  for (const builder of job.builders) {
    for (const cmd of parseCommands(builder.command ?? '')) {
      const head = cmd.words[0]!.value;
      if (head !== 'byoci' && !head.endsWith('/byoci')) continue;
      calls.push({ line: cmd.line, text: cmd.words.map((w) => w.raw).join(' '), call: parseByociCall(cmd.words.slice(1), usage) });
    }
  }
  return calls;
}

function allText(el: XmlElement, out: string[] = []): string[] {
  if (el.text.trim()) out.push(el.text);
  for (const [k, v] of Object.entries(el.attrs)) out.push(`${k}=${v}`);
  for (const c of el.children) allText(c, out);
  return out;
}

function allNames(el: XmlElement, out: string[] = []): string[] {
  out.push(el.name);
  for (const c of el.children) allNames(c, out);
  return out;
}

function kindOf(job: string, projects: ProjectEntry[]): { project: ProjectEntry; kind: JobKind } | undefined {
  for (const project of projects) {
    for (const kind of JOB_KINDS) if (job === `${project.name}-${kind}`) return { project, kind };
  }
  return undefined;
}

/** Checks one job; returns problem messages. */
export function checkJob(job: JobModel, project: ProjectEntry, kind: JobKind, usage: ByociUsage): string[] {
  const p: string[] = [];
  if (job.projectType !== 'project') p.push(`is a ${job.projectType} job; byoci jobs are freestyle (project-type: freestyle)`);
  if (job.disabled) p.push('is disabled');

  // Where and how often.
  if (!job.node) p.push('has no node label: it could run on any node, the controller included');
  else if (CONTROLLER_LABELS.has(job.node)) p.push(`runs on the controller (node: ${job.node}); byoci jobs run on slaves`);
  else if (/\{[\w-]+\}/.test(job.node)) p.push(`node label "${job.node}" holds an unexpanded template variable: set it in the project or the defaults`);
  else if (project.node !== undefined && job.node !== project.node) {
    p.push(`runs on node label "${job.node}", the project list says "${project.node}"`);
  }
  if (job.canRoam) p.push('may roam to any node (canRoam)');
  if (job.concurrent) p.push('allows concurrent builds (concurrent: true); one build at a time');
  if (!job.timeout) p.push('has no build timeout (wrappers: timeout)');
  else {
    if (!job.timeout.fail) p.push('timeout does not fail the build (timeout: fail: true)');
    if (!job.timeout.minutes || job.timeout.minutes <= 0) p.push('timeout has no duration');
  }
  const d = job.buildDiscarder;
  if (!d) p.push('has no build discarder (properties: build-discarder)');
  else if (d.numToKeep <= 0 && d.daysToKeep <= 0) p.push('build discarder keeps every build (set num-to-keep or days-to-keep)');

  if (kind === 'trigger') {
    if (job.timers.length !== 1 || job.timers[0] !== TRIGGER_SPEC) {
      p.push(`trigger must be timed "${TRIGGER_SPEC}", found ${job.timers.length ? job.timers.map((t) => `"${t}"`).join(', ') : 'no timed trigger'}`);
    }
    const land = `${project.name}-land`;
    const downstream = job.downstream.find((t) => t.projects.includes(land));
    if (!downstream) p.push(`does not trigger ${land} (publishers: trigger-parameterized-builds)`);
    else if (downstream.withoutParameters || !downstream.propertiesFile || !downstream.failOnMissing) {
      p.push(`triggers ${land} even when nothing is ready: use a property-file with fail-on-missing: true`);
    }
  } else {
    if (job.timers.length) p.push(`is timed (${job.timers.join(', ')}); only the trigger job is`);
    const t = job.throttle;
    if (!t || !t.enabled || t.maxPerNode !== 1 || t.maxTotal !== 1) {
      p.push('is not limited to one build on one slave (properties: throttle, max-per-node: 1, max-total: 1)');
    }
    if (!job.junit) p.push('has no JUnit publisher of the test artefacts (publishers: junit)');
  }
  if (job.otherTriggers.length) p.push(`has triggers byoci does not use: ${job.otherTriggers.join(', ')}`);
  if (kind === 'trigger' && job.parameters.length) p.push('trigger job takes no parameters');

  // What it runs.
  const declared = new Set([...job.parameters.map((x) => x.name), ...JENKINS_VARIABLES]);
  for (const [i, b] of job.builders.entries()) {
    if (b.type !== 'hudson.tasks.Shell') {
      p.push(`builder ${i + 1} is ${b.type}; only shell builders can be replayed with \`byoci job run\``);
      continue;
    }
    const first = (b.command ?? '').split('\n')[0] ?? '';
    if (!/^#!\/bin\/bash -e\w*\s*$/.test(first)) {
      p.push(`builder ${i + 1} must start with "#!/bin/bash -e" (found ${JSON.stringify(first)}), so Jenkins and byoci job run run it alike`);
    }
  }
  const calls = byociCalls(job, usage);
  const expected = SUBCOMMAND[kind];
  if (calls.length === 0) p.push(`calls no byoci command (expected \`byoci ${expected}\`)`);
  for (const { line, text, call } of calls) {
    const where = `line ${line} \`${text}\``;
    for (const problem of call.problems) p.push(`${where}: ${problem}`);
    if (call.command && call.command !== expected) {
      p.push(`${where}: a ${kind} job calls \`byoci ${expected}\`, not \`byoci ${call.command}\``);
    }
    const config = optionValue(call, '--config');
    if (!config) p.push(`${where}: --config is missing: the job must name the slave's config of the project`);
    else if (project.config !== undefined && config.value !== project.config) {
      p.push(`${where}: --config ${config.value} is not the project's config ${project.config}`);
    } else if (!config.value.startsWith('/')) p.push(`${where}: --config must be an absolute path on the slave`);
    if (call.options.has('--dry-run') && kind !== 'test') p.push(`${where}: --dry-run: the job would never land anything`);
    if (kind === 'trigger' && !call.options.has('--json')) p.push(`${where}: the trigger reads the list as JSON (--json)`);
    if (kind === 'test') {
      for (const [option, param] of [['--source', 'SOURCE'], ['--branch', 'BRANCH']] as const) {
        const value = optionValue(call, option);
        if (value && value.value !== `$${param}` && value.value !== `\${${param}}`) {
          p.push(`${where}: ${option} must be the job's ${param} parameter ("$${param}")`);
        }
      }
    }
    if (kind !== 'trigger' && job.junit) {
      const artefacts = (call.options.get('--option') ?? [])
        .map((v) => (v === true ? undefined : /^artefacts=(.*)$/.exec(v.value)?.[1]))
        .filter((v): v is string => v !== undefined)
        .at(-1);
      const dir = artefacts ? /^\$\{?WORKSPACE\}?\/(.+?)\/?$/.exec(artefacts)?.[1] : undefined;
      if (!dir) {
        p.push(`${where}: give -O "artefacts=$WORKSPACE/<dir>" so that the JUnit publisher finds the test reports in the workspace`);
      } else if (!job.junit.testResults.split(',').every((pattern) => pattern.trim().startsWith(`${dir}/`))) {
        p.push(`JUnit publisher reads "${job.junit.testResults}", byoci writes the artefacts to "$WORKSPACE/${dir}"`);
      }
    }
    const values = [...[...call.options.values()].flat(), ...call.positionals];
    for (const value of values) {
      if (value === true) continue;
      for (const v of value.unquotedExpansions) p.push(`${where}: $${v} is not double-quoted (word splitting on a parameter)`);
      for (const m of value.value.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
        if (!declared.has(m[1]!)) p.push(`${where}: $${m[1]} is neither a job parameter nor a Jenkins variable`);
      }
    }
  }
  if (kind !== 'trigger') {
    // The brain passes its decision id and looks for it before re-sending: Jenkins drops
    // parameters a job does not declare, so without it a lost answer could start a second build.
    const param = job.parameters.find((x) => x.name === 'BYOCI_DECISION');
    if (!param) p.push('has no BYOCI_DECISION parameter (the brain\'s trigger id, needed for exactly-once triggers)');
    else if (param.kind !== 'string') p.push(`BYOCI_DECISION parameter is a ${param.kind} parameter, expected string`);
  }
  if (kind === 'test') {
    for (const name of ['SOURCE', 'BRANCH']) {
      const param = job.parameters.find((x) => x.name === name);
      if (!param) p.push(`has no ${name} parameter (the branch to try)`);
      else if (param.kind !== 'string') p.push(`${name} parameter is a ${param.kind} parameter, expected string`);
    }
  }

  // Credentials.
  for (const f of findCredentials(allText(job.xml).join('\n'))) {
    p.push(`contains ${f.what} (${f.excerpt}); jobs hold no credentials, the slave's secrets stores do`);
  }
  for (const name of findCredentialElements(allNames(job.xml))) {
    p.push(`uses Jenkins credentials (${name}); jobs hold no credentials, the slave's secrets stores do`);
  }
  return p;
}

/** Checks rendered jobs against the project list. */
export function checkJobs(jobs: JobModel[], projects: ProjectEntry[], usage: ByociUsage): JobProblem[] {
  const problems: JobProblem[] = [];
  if (projects.length === 0) problems.push({ job: '(project list)', message: 'no `- project:` entry found' });
  const names = new Set(jobs.map((j) => j.name));
  for (const project of projects) {
    if (!project.config) problems.push({ job: project.name, message: `project in ${project.file} has no byoci config path (config:)` });
    for (const kind of JOB_KINDS) {
      if (!names.has(`${project.name}-${kind}`)) {
        problems.push({ job: `${project.name}-${kind}`, message: `missing: project ${project.name} (${project.file}) must generate it (jobs: [byoci-project])` });
      }
    }
  }
  for (const job of jobs) {
    const found = kindOf(job.name, projects);
    if (!found) {
      problems.push({ job: job.name, message: 'belongs to no project of the list (expected <project>-trigger, -land or -test)' });
      continue;
    }
    for (const message of checkJob(job, found.project, found.kind, usage)) problems.push({ job: job.name, message });
  }
  return problems;
}

/** Renders `dir` with jenkins-jobs and checks the result. Throws JobsRenderError. */
export async function checkJobsDir(dir: string = JOBS_DIR, usage?: ByociUsage): Promise<CheckReport> {
  const rendered = await renderJobs(dir);
  usage ??= await loadByociUsage();
  const jobs = [...rendered].map(([name, xml]) => parseJob(name, xml));
  const projects = await readProjects(dir);
  return { jobs, projects, usage, problems: checkJobs(jobs, projects, usage) };
}

/** One summary line per job for the console. */
export function describeJob(job: JobModel, usage: ByociUsage): string {
  const parts = [`node=${job.node ?? '(any)'}`];
  if (job.timers.length) parts.push(`timer="${job.timers.join(', ')}"`);
  if (job.timeout?.minutes) parts.push(`timeout=${job.timeout.minutes}min`);
  if (job.parameters.length) parts.push(`params=${job.parameters.map((x) => x.name).join(',')}`);
  const calls = byociCalls(job, usage).map((c) => c.text);
  return `${job.name.padEnd(24)} ${parts.join(' ')}${calls.length ? ` → ${calls.join(' ; ')}` : ''}`;
}

export async function main(
  argv: string[] = process.argv.slice(2),
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const dir = argv[0] ?? JOBS_DIR;
  const rel = relative(process.cwd(), dir);
  const shown = rel === '' ? '.' : rel.startsWith('..') ? dir : rel;
  let report: CheckReport;
  try {
    report = await checkJobsDir(dir);
  } catch (error) {
    if (error instanceof JobsRenderError) {
      err.write(`jobs:check: FAIL: jenkins-jobs refused ${shown}/ (exit ${error.exitCode}):\n${error.rendererMessage}\n`);
      return 1;
    }
    throw error;
  }
  out.write(`jobs:check: rendered ${report.jobs.length} jobs of ${report.projects.length} projects from ${shown}/ with jenkins-jobs\n`);
  const bad = new Set(report.problems.map((x) => x.job));
  for (const job of report.jobs) out.write(`${bad.has(job.name) ? 'FAIL' : 'ok  '} ${describeJob(job, report.usage)}\n`);
  if (report.problems.length) {
    err.write(`jobs:check: FAIL: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}:\n`);
    for (const x of report.problems) err.write(`  - ${x.job}: ${x.message}\n`);
    return 1;
  }
  out.write('jobs:check: ok\n');
  return 0;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`jobs:check: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
      process.exit(3);
    },
  );
}
