/**
 * `byoci job run <job>`: replays a rendered job's shell builders on this machine with the
 * environment Jenkins gives a build (WORKSPACE, BUILD_NUMBER, BUILD_ID, BUILD_URL,
 * JOB_NAME, NODE_NAME..., the job's parameters), in a temporary workspace, printing the
 * console like Jenkins does. The scripts come from the operator's committed jobs/, never
 * from a proposal; parameters reach them as environment variables only.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Writable } from 'node:stream';
import { UsageError } from '../core/index.js';
import { JENKINS_VARIABLES, parseJob, type JobModel } from './model.js';
import { JOBS_DIR, renderJobs } from './render.js';

export interface RunJobOptions {
  job: string;
  jobsDir?: string;
  /** Build parameters (`-p NAME=VALUE`); the job's defaults fill the others. */
  params?: Record<string, string>;
  /** Run in this directory (created, kept); default: a temporary one, removed unless `keep`. */
  workspace?: string;
  keep?: boolean;
  buildNumber?: number;
  /** Base of BUILD_URL/JOB_URL; nothing connects to it. */
  jenkinsUrl?: string;
  nodeName?: string;
  /** Argument vector that runs this byoci; a `byoci` wrapper for it goes first on PATH. */
  byoci?: readonly string[];
  /** The agent's environment the build starts from (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Console output (default: stdout). */
  out?: Writable;
  signal?: AbortSignal;
}

export type BuildResult = 'SUCCESS' | 'FAILURE' | 'ABORTED';

export interface RunJobResult {
  result: BuildResult;
  /** The failing builder's exit code (128+signal when killed); 0 on success. */
  exitCode: number;
  workspace: string;
  job: JobModel;
}

/** Parses `NAME=VALUE` strings of `-p`. */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  // No prototype: `--param __proto__=x` is a parameter named __proto__ (refused below as
  // unknown), not a change of the object's prototype that would drop it silently.
  const params = Object.create(null) as Record<string, string>;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`parameter ${JSON.stringify(pair)} is not NAME=VALUE`);
    params[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return params;
}

/** The argument vector that runs the byoci of this process (node, its loader flags, main script). */
export function selfCommand(): string[] {
  const args: string[] = [];
  const flags = process.execArgv;
  for (let i = 0; i < flags.length; i += 1) {
    const flag = flags[i]!;
    const m = /^(--import|--loader|--experimental-loader|--require|-r)(?:=(.*))?$/.exec(flag);
    if (!m) {
      args.push(flag);
      continue;
    }
    const spec = m[2] ?? flags[++i] ?? '';
    let resolved = spec;
    // A bare specifier resolves from the cwd; the job runs elsewhere: make it absolute.
    if (!/^(\.|\/|file:|data:|node:)/.test(spec)) {
      try {
        resolved = import.meta.resolve(spec);
      } catch {
        resolved = spec;
      }
    }
    args.push(m[1]!, resolved);
  }
  return [process.execPath, ...args, ...(process.argv[1] ? [process.argv[1]] : [])];
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Jenkins' interpreter for a shell builder: its `#!` line, else `bash -e`. */
export function interpreterOf(script: string): string[] {
  const first = script.split('\n')[0] ?? '';
  if (first.startsWith('#!')) {
    const words = first.slice(2).trim().split(/\s+/).filter(Boolean);
    if (words.length) return words;
  }
  return ['/bin/bash', '-e'];
}

/** Ant-style glob of Jenkins' publishers (`**`, `*`, `?`), comma-separated. */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function filesUnder(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path, base)));
    else if (entry.isFile()) out.push(relative(base, path));
  }
  return out;
}

export async function matchFiles(workspace: string, patterns: string): Promise<string[]> {
  const res = patterns.split(',').map((p) => p.trim()).filter(Boolean).map(globToRegExp);
  return (await filesUnder(workspace)).filter((f) => res.some((re) => re.test(f))).sort();
}

interface StepOutcome {
  exitCode: number;
  timedOut: boolean;
  aborted: boolean;
}

function runStep(argv: string[], cwd: string, env: NodeJS.ProcessEnv, out: Writable, deadline: number | undefined, signal?: AbortSignal): Promise<StepOutcome> {
  return new Promise((resolve, reject) => {
    // Own process group, so a timeout or an interruption ends the whole build step.
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false });
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      killTimer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 10_000);
      killTimer.unref();
    };
    const onAbort = () => {
      aborted = true;
      kill();
    };
    const onSignal = () => onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = deadline !== undefined ? setTimeout(() => { timedOut = true; kill(); }, Math.max(0, deadline - Date.now())) : undefined;
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', (error) => {
      cleanup();
      reject(error);
    });
    child.on('close', (code, sig) => {
      cleanup();
      const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
      resolve({ exitCode: code ?? 128 + (sig ? signals[sig] ?? 1 : 1), timedOut, aborted });
    });
    function cleanup() {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

/** The environment Jenkins gives a build of `job` on this node. */
export function jenkinsEnvironment(job: JobModel, o: { workspace: string; buildNumber: number; jenkinsUrl: string; nodeName: string; params: Record<string, string> }): Record<string, string> {
  const jenkinsUrl = o.jenkinsUrl.endsWith('/') ? o.jenkinsUrl : `${o.jenkinsUrl}/`;
  const jobUrl = `${jenkinsUrl}job/${encodeURIComponent(job.name)}/`;
  const n = String(o.buildNumber);
  const env: Record<string, string> = {
    WORKSPACE: o.workspace,
    WORKSPACE_TMP: `${o.workspace}@tmp`,
    BUILD_NUMBER: n,
    BUILD_ID: n,
    BUILD_DISPLAY_NAME: `#${n}`,
    BUILD_TAG: `jenkins-${job.name}-${n}`,
    BUILD_URL: `${jobUrl}${n}/`,
    JOB_NAME: job.name,
    JOB_BASE_NAME: job.name,
    JOB_URL: jobUrl,
    JENKINS_URL: jenkinsUrl,
    NODE_NAME: o.nodeName,
    NODE_LABELS: [o.nodeName, ...(job.node ? job.node.split(/[\s&|()!]+/).filter(Boolean) : [])].join(' '),
    EXECUTOR_NUMBER: '0',
  };
  for (const name of JENKINS_VARIABLES) if (!(name in env)) throw new Error(`jenkinsEnvironment: ${name} not set`);
  return { ...env, ...o.params };
}

export async function runJob(options: RunJobOptions): Promise<RunJobResult> {
  const out = options.out ?? process.stdout;
  const print = (line: string) => out.write(`${line}\n`);
  const rendered = await renderJobs(options.jobsDir ?? JOBS_DIR);
  const xml = rendered.get(options.job);
  if (xml === undefined) {
    throw new UsageError(`no job ${JSON.stringify(options.job)} in the job definitions; jobs: ${[...rendered.keys()].join(', ')}`);
  }
  const job = parseJob(options.job, xml);
  const unreplayable = job.builders.filter((b) => b.type !== 'hudson.tasks.Shell');
  if (unreplayable.length) {
    throw new UsageError(`job ${job.name} has builders byoci job run cannot replay: ${unreplayable.map((b) => b.type).join(', ')}`);
  }
  const known = new Set(job.parameters.map((p) => p.name));
  const given = options.params ?? {};
  const unknown = Object.keys(given).filter((k) => !known.has(k));
  if (unknown.length) {
    throw new UsageError(
      `job ${job.name} has no parameter ${unknown.join(', ')}; its parameters: ${job.parameters.map((p) => p.name).join(', ') || 'none'}`,
    );
  }
  const params: Record<string, string> = {};
  for (const p of job.parameters) params[p.name] = (Object.hasOwn(given, p.name) ? given[p.name] : undefined) ?? p.defaultValue;

  const owned = options.workspace === undefined;
  const root = owned ? await mkdtemp(join(tmpdir(), 'byoci-job-')) : undefined;
  const workspace = options.workspace ?? join(root!, 'workspace');
  const scratch = `${workspace}@tmp`;
  await mkdir(workspace, { recursive: true });
  await mkdir(scratch, { recursive: true });
  const base = options.env ?? process.env;
  const path = [base.PATH ?? '/usr/local/bin:/usr/bin:/bin'];
  if (options.byoci?.length) {
    const bin = join(scratch, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'byoci'), `#!/bin/sh\nexec ${options.byoci.map(shellQuote).join(' ')} "$@"\n`);
    await chmod(join(bin, 'byoci'), 0o755);
    path.unshift(bin);
  }
  const nodeName = options.nodeName ?? 'local';
  const buildNumber = options.buildNumber ?? 1;
  const env: NodeJS.ProcessEnv = {
    ...base,
    ...jenkinsEnvironment(job, { workspace, buildNumber, jenkinsUrl: options.jenkinsUrl ?? 'http://127.0.0.1:8080/', nodeName, params }),
    PATH: path.join(':'),
  };

  const timeoutMinutes = job.timeout?.strategy === 'AbsoluteTimeOutStrategy' ? job.timeout.minutes : undefined;
  const deadline = timeoutMinutes ? Date.now() + timeoutMinutes * 60_000 : undefined;
  print(`Started by user ${base.USER ?? 'local'} (byoci job run)`);
  print(`Building on ${nodeName} (${hostname()}) in workspace ${workspace}`);
  for (const [name, value] of Object.entries(params)) print(`Parameter ${name}=${JSON.stringify(value)}`);
  if (timeoutMinutes) print(`Build timeout: ${timeoutMinutes} minutes (absolute)`);

  let result: BuildResult = 'SUCCESS';
  let exitCode = 0;
  try {
    for (const builder of job.builders) {
      const script = builder.command ?? '';
      const file = join(scratch, `jenkins${randomBytes(6).readUIntBE(0, 6)}.sh`);
      await writeFile(file, script, { mode: 0o600 });
      const argv = [...interpreterOf(script), file];
      print(`[${job.name}] $ ${argv.join(' ')}`);
      const step = await runStep(argv, workspace, env, out, deadline, options.signal);
      await rm(file, { force: true });
      if (step.timedOut) {
        print(`Build timed out (after ${timeoutMinutes} minutes). Marking the build as failed.`);
        result = 'FAILURE';
        exitCode = step.exitCode || 1;
        break;
      }
      if (step.aborted) {
        print('Aborted by user');
        result = 'ABORTED';
        exitCode = step.exitCode || 130;
        break;
      }
      if (step.exitCode !== 0) {
        print(`Build step 'Execute shell' marked build as failure`);
        result = 'FAILURE';
        exitCode = step.exitCode;
        break;
      }
    }
    if (job.junit) {
      const reports = await matchFiles(workspace, job.junit.testResults);
      print(`Recording test results: ${reports.length} file${reports.length === 1 ? '' : 's'} match ${job.junit.testResults}${reports.length ? `: ${reports.join(', ')}` : ''}`);
      if (!reports.length && !job.junit.allowEmpty && result === 'SUCCESS') {
        print('ERROR: No test report files were found. Configuration error?');
        result = 'FAILURE';
        exitCode = 1;
      }
    }
    for (const trigger of job.downstream) {
      const ok = trigger.condition === 'ALWAYS' || (result === 'SUCCESS' && ['SUCCESS', 'UNSTABLE_OR_BETTER', 'FAILED_OR_BETTER'].includes(trigger.condition));
      const file = trigger.propertiesFile ? join(workspace, trigger.propertiesFile) : undefined;
      const hasFile = file ? await stat(file).then(() => true, () => false) : false;
      if (!ok || (trigger.propertiesFile && trigger.failOnMissing && !hasFile)) {
        print(`Not triggering ${trigger.projects.join(', ')}${trigger.propertiesFile && !hasFile ? ` (no ${trigger.propertiesFile})` : ''}`);
      } else {
        print(`Jenkins would trigger ${trigger.projects.join(', ')}${hasFile ? ` with the parameters of ${trigger.propertiesFile}` : ''}; replay it with: byoci job run ${trigger.projects[0]}`);
      }
    }
    print(`Finished: ${result}`);
    return { result, exitCode, workspace, job };
  } finally {
    if (owned && !options.keep) await rm(root!, { recursive: true, force: true });
    else await rm(scratch, { recursive: true, force: true });
  }
}
